"""The check guards the draw: ``commit_draw`` / ``draw_plan`` / ``dbsj draw`` refuse a plan whose check has
errors, unless the caller gives a reason to override, which then goes into every commitment
(``check_override``, docs/draw-spec.md §7.1) and onto the ``draw.commit`` ledger entries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import dbsj
import drawdata as dd
from dbsj.cli import main

DICE = dbsj.DiceSeed("31415926535897932384", ("监督员甲",))
VERIFIER = Path(dbsj.__file__).parent / "verifier.py"
REASON = "经局务会研究同意按原计划抽取（会议纪要〔2023〕12号）"


@pytest.fixture
def filled():
    with dbsj.Store(":memory:") as store:
        dd.populate(store)
        yield store


def failing() -> dbsj.Plan:
    """One general-only task asking 50 % of D-class firms: over the 10 % general cap, and the list's key item
    SC-B01 and the department 卫生健康 are in no task."""
    return dd.plan({"id": "T1"})


def passing() -> dbsj.Plan:
    return dd.plan({"id": "T1", "items": ["SC-A07", "SC-B01"]},
                   {"id": "T2", "sponsor": "卫生健康", "items": ["WJ-01"],
                    "sampling": {"strata": ["credit_class"], "quota": "不低于5%"}})


def _counts(store) -> tuple[int, int, int]:
    return store.count("draws"), store.count("draw_runs"), store.count("selections")


def test_a_plan_that_fails_its_check_is_not_drawn(filled, tmp_path):
    assert not dbsj.check_plan(failing(), filled).ok
    for call in (lambda: dbsj.draw_plan(filled, failing(), seed=DICE, out_dir=tmp_path / "rec"),
                 lambda: dbsj.commit_draw(filled, failing(), seed_kind="dice", out_dir=tmp_path / "pub"),
                 lambda: dbsj.draw_task(filled, failing(), "T1", seed="x")):
        with pytest.raises(dbsj.PlanError) as info:
            call()
        err = info.value
        for rule in ("ratio.general-cap", "coverage.key-items", "coverage.departments"):
            assert rule in err.zh and rule in err.en
        assert "--override-check" in (err.hint_zh or "") and "override_check" in (err.hint_en or "")
    assert _counts(filled) == (0, 0, 0)
    assert not (tmp_path / "rec").exists() and not (tmp_path / "pub").exists()
    refused = dbsj.Ledger(filled).entries("draw.refused")
    assert len(refused) == 3 and refused[0].payload["reason"] == "check"
    assert refused[0].payload["rules"] == ["coverage.departments", "coverage.key-items", "ratio.general-cap"]
    assert dbsj.Ledger(filled).entries("draw.commit") == []
    assert dbsj.Ledger(filled).verify() == 3  # the refusals are on the chain


def test_an_override_is_bound_in_the_commitment_and_on_the_ledger_and_verifies(filled, tmp_path):
    run = dbsj.draw_plan(filled, failing(), seed=DICE, out_dir=tmp_path, override_check=f"  {REASON} ")
    rec = json.loads((tmp_path / "T1.draw.json").read_text(encoding="utf-8"))
    want = {"override": REASON, "errors": ["coverage.departments", "coverage.key-items", "ratio.general-cap"]}
    assert rec["commitment"]["check_override"] == want == run.commitments["T1"]["check_override"]
    [commit] = dbsj.Ledger(filled).entries("draw.commit")
    assert commit.payload["check_override"] == want
    assert dbsj.verify_record(filled, tmp_path / "T1.draw.json").ok
    dbsj.export_draw_pool(filled, tmp_path / "T1.draw.json", tmp_path / "pool.csv")
    dbsj.export_inspectors(filled, tmp_path / "T1.draw.json", tmp_path / "ins.json")
    proc = subprocess.run([sys.executable, "-S", "-I", str(VERIFIER), str(tmp_path / "T1.draw.json"),
                           str(tmp_path / "pool.csv"), str(tmp_path / "ins.json")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the override cannot be edited away or reworded: the commitment hash binds it
    for edit in (lambda c: c.pop("check_override"), lambda c: c["check_override"].update(override="无"),
                 lambda c: c["check_override"]["errors"].pop()):
        bad = json.loads((tmp_path / "T1.draw.json").read_text(encoding="utf-8"))
        edit(bad["commitment"])
        path = tmp_path / "edited.draw.json"
        path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
        assert not dbsj.verify_record(filled, path).ok
        proc = subprocess.run([sys.executable, "-S", "-I", str(VERIFIER), str(path), str(tmp_path / "pool.csv"),
                               str(tmp_path / "ins.json")], capture_output=True, text=True)
        assert proc.returncode != 0


def test_a_plan_that_passes_is_drawn_without_an_override_and_none_is_recorded(filled, tmp_path):
    assert dbsj.check_plan(passing(), filled).ok
    run = dbsj.draw_plan(filled, passing(), seed=DICE, out_dir=tmp_path / "a")
    assert all("check_override" not in c for c in run.commitments.values())
    run2 = dbsj.draw_plan(filled, passing(), seed=DICE, out_dir=tmp_path / "b", override_check=REASON)
    assert all("check_override" not in c for c in run2.commitments.values())  # nothing was overridden
    assert all("check_override" not in e.payload for e in dbsj.Ledger(filled).entries("draw.commit"))


@pytest.mark.parametrize("reason", ["", "   ", "理由\x00", "理由\n换行", "长" * 501])
def test_an_override_needs_a_real_reason(filled, tmp_path, reason):
    with pytest.raises(dbsj.InputError, match="理由"):
        dbsj.commit_draw(filled, failing(), seed_kind="dice", override_check=reason)
    assert _counts(filled) == (0, 0, 0)


def test_the_cli_refuses_names_the_rules_and_takes_an_override(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "s.duckdb"
    with dbsj.Store(db) as s:
        dd.populate(s)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(json.dumps(failing().model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
    args = ["draw", "--db", str(db), "--plan", str(plan_file), "--dice", "31415926535897932384", "--out", "rec"]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "ratio.general-cap" in err and "--override-check" in err and "Traceback" not in err
    assert not (tmp_path / "rec").exists()
    assert main(["--lang", "en", "draw", "commit", "--db", str(db), "--plan", str(plan_file), "--seed-kind", "dice"]) == 2
    assert "fails its check" in capsys.readouterr().err
    assert main([*args, "--override-check", REASON]) == 0
    rec = json.loads((tmp_path / "rec" / "T1.draw.json").read_text(encoding="utf-8"))
    assert rec["commitment"]["check_override"]["override"] == REASON
    assert main(["verify", "rec/T1.draw.json", "--db", str(db)]) == 0


def test_a_deadline_already_past_at_draw_time_is_a_warning_on_the_run_and_the_ledger(filled, tmp_path, capsys,
                                                                                    monkeypatch):
    """Drawing on 2023-08-01 a task whose first batch was due 2023-07-20 says so (check, run summary, ledger)."""
    dbsj.set_now("2023-08-01T09:00:00")
    try:
        report = dbsj.check_plan(passing(), filled)
        [w] = [f for f in report.by_rule("plan.deadline-past") if f.evidence["task_id"] == "T1"]
        assert w.severity == "warning" and "2023-07-20" in w.message_zh and report.ok
        run = dbsj.draw_plan(filled, passing(), seed=DICE, task_ids=["T1"], out_dir=tmp_path)
        assert [x["rule"] for x in run.summary["check_warnings"] if x["task_id"] == "T1"] == ["plan.deadline-past"]
        [commit] = dbsj.Ledger(filled).entries("draw.commit")
        assert len(commit.payload["check_warnings"]) == 1 and "2023-07-20" in commit.payload["check_warnings"][0]
        # once T1 is drawn, the check no longer warns about it
        assert [f.evidence["task_id"] for f in dbsj.check_plan(passing(), filled).by_rule("plan.deadline-past")] \
            == ["T2"]  # its first batch (2023-07-20) only; the second is due 2023-10-15
    finally:
        dbsj.set_now(None)
