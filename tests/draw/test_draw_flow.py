"""Draws end to end: commitment, seeds, records, ledger, verification (store and standalone), bad input."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

import dbsj
import drawdata as dd
from dbsj.cli import main
from pooldata import TEST_OVERRIDE

VECTORS = Path("/work/shared/vectors")
VERIFIER = Path(dbsj.__file__).parent / "verifier.py"
DICE = dbsj.DiceSeed("31415926535897932384", ("张三", "李四"))


@pytest.fixture(autouse=True)
def _no_department_plugins(monkeypatch):
    monkeypatch.setenv("DBSJ_DISABLE_PLUGINS", "xinjiang")
    dbsj.reset_plugin_manager(None)


@pytest.fixture
def filled(store):
    dd.populate(store)
    return store


def _plan():
    return dd.plan({"id": "T1"},
                   {"id": "T2", "partners": ["卫生健康"], "items": ["SC-B01", "WJ-01"],
                    "sampling": {"strata": ["credit_class", "region"], "quota": {"count": 2}}})


def _rec(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_draw_writes_records_that_verify(filled, tmp_path):
    # fixed seals: whether the two tasks share a target depends on the seal, and the merged-visit check below
    # needs one that they do (with the operating system's random seals it would hold only most of the time)
    run = dbsj.draw_plan(filled, _plan(), seed=DICE, out_dir=tmp_path, override_check=TEST_OVERRIDE, _seals=dd.seals)
    rec = _rec(tmp_path / "T1.draw.json")
    assert set(rec) >= {"commitment", "seed", "selection", "assignment", "ledger"}
    assert rec["seed"]["kind"] == "dice" and rec["seed"]["known_before_commitment"] is True
    assert rec["ledger"]["head"] == dbsj.Ledger(filled).head() or rec["ledger"]["head"] in {
        e.hash for e in dbsj.Ledger(filled).entries()}
    # sizes follow the committed quotas: A 5 %, D 50 %, others 10 % (ceil)
    for entry in rec["commitment"]["strata"]:
        assert entry["k"] == dbsj.sample_size(entry["eligible"], entry["quota"])[1]
        got = next(s for s in rec["selection"]["strata"] if s["stratum"] == entry["stratum"])
        assert len(got["selected"]) == entry["k"]
    assert rec["commitment"]["parameters"]["repeat_window_days"] == 365  # rule frequency.same-item-yearly
    # a target drawn by both tasks in the same batch is one visit (进一次门、查多项事) with both departments
    merged = [v for v in rec["assignment"]["visits"] if v["tasks"] == ["T1", "T2"]]
    assert merged and all({m["department"] for m in v["team"]} == {"市场监管", "卫生健康"} for v in merged)
    assert merged == [v for v in _rec(tmp_path / "T2.draw.json")["assignment"]["visits"] if v["tasks"] == ["T1", "T2"]]
    d = next(e for e in rec["commitment"]["strata"] if e["stratum"] == "credit_class=D")
    assert d["quota"] == {"min": "0.5"}
    for tid in ("T1", "T2"):
        report = dbsj.verify_record(filled, tmp_path / f"{tid}.draw.json")
        assert report.ok, report.differences
        assert "assignment" in report.checked
    both = dbsj.verify_records(filled, [tmp_path / "T1.draw.json", tmp_path / "T2.draw.json"])
    assert [r.ok for r in both] == [True, True] and all("assignment" in r.checked for r in both)
    # every attempt and outcome on the ledger, chain intact
    kinds = [e.kind for e in dbsj.Ledger(filled).entries()]
    assert kinds.count("draw.commit") == 2 and kinds.count("draw.reveal") == 2
    assert dbsj.Ledger(filled).verify() == len(kinds)
    assert filled.count("selections") == sum(t["selected"] for t in run.summary["tasks"].values())


def test_public_form_hides_tickets_and_strata(filled, tmp_path):
    dbsj.draw_plan(filled, _plan(), seed=DICE, out_dir=tmp_path, override_check=TEST_OVERRIDE)
    text = (tmp_path / "T1.public.json").read_text(encoding="utf-8")
    rec = _rec(tmp_path / "T1.draw.json")
    assert "credit_class" not in text and "stratum" not in text
    for s in rec["selection"]["strata"]:
        for row in s["selected"]:
            assert row["ticket"] not in text
            assert row["id"] in text


def test_refuses_to_overwrite_and_redraw_is_a_new_visible_attempt(filled, tmp_path):
    dbsj.draw_plan(filled, _plan(), seed=DICE, task_ids=["T1"], out_dir=tmp_path, override_check=TEST_OVERRIDE)
    with pytest.raises(dbsj.DrawError):
        dbsj.draw_plan(filled, _plan(), seed=DICE, task_ids=["T1"], out_dir=tmp_path, override_check=TEST_OVERRIDE)
    run2 = dbsj.draw_plan(filled, _plan(), seed="another", task_ids=["T1"], out_dir=tmp_path / "again", override_check=TEST_OVERRIDE)
    assert run2.draw_ids["T1"].endswith("/2")
    status = dict(filled.execute("SELECT draw_id, status FROM draws ORDER BY draw_id").fetchall())
    assert status == {"XJ2023/T1/1": "superseded", "XJ2023/T1/2": "drawn"}
    kinds = [e.kind for e in dbsj.Ledger(filled).entries()]
    assert "draw.refused" in kinds and kinds.count("draw.commit") == 2


def test_hand_edited_record_is_caught(filled, tmp_path):
    dbsj.draw_plan(filled, _plan(), seed=DICE, out_dir=tmp_path, override_check=TEST_OVERRIDE)
    path = tmp_path / "T1.draw.json"
    rec = _rec(path)
    s = rec["selection"]["strata"][0]
    other = filled.execute("SELECT uscc FROM draw_eligible WHERE draw_id = 'XJ2023/T1/1' AND stratum = ? "
                           "AND uscc NOT IN (SELECT unnest(?::VARCHAR[])) ORDER BY uscc LIMIT 1",
                           [s["stratum"], [r["id"] for r in s["selected"]]]).fetchall()[0][0]
    s["selected"][0]["id"] = other
    path.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    report = dbsj.verify_record(filled, path)
    assert not report.ok and any("rank 1" in d for d in report.differences)
    # an edited team is caught too
    rec2 = _rec(tmp_path / "T2.draw.json")
    rec2["assignment"]["visits"][0]["team"][0]["staff_id"] = "someone-else"
    (tmp_path / "T2.draw.json").write_text(json.dumps(rec2, ensure_ascii=False), encoding="utf-8")
    assert any("assignment" in d for d in dbsj.verify_record(filled, tmp_path / "T2.draw.json").differences)


def test_hand_edited_quota_is_caught(filled, tmp_path):
    dbsj.draw_plan(filled, _plan(), seed=DICE, out_dir=tmp_path, override_check=TEST_OVERRIDE)
    path = tmp_path / "T1.draw.json"
    rec = _rec(path)
    rec["commitment"]["strata"][0]["k"] += 1
    path.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    report = dbsj.verify_record(filled, path)
    assert not report.ok
    assert any("commitment" in d for d in report.differences)


@pytest.mark.parametrize("change", ["insert", "delete", "edit"])
def test_verify_rejects_any_changed_eligible_row(filled, tmp_path, change):
    dbsj.draw_plan(filled, _plan(), seed=DICE, out_dir=tmp_path, override_check=TEST_OVERRIDE)
    did = "XJ2023/T1/1"
    one = filled.execute("SELECT stratum, uscc FROM draw_eligible WHERE draw_id = ? ORDER BY uscc LIMIT 1", [did]).fetchall()[0]
    if change == "insert":
        filled.execute("INSERT INTO draw_eligible VALUES (?, ?, ?)", [did, one[0], dd.uscc(99999)])
    elif change == "delete":
        filled.execute("DELETE FROM draw_eligible WHERE draw_id = ? AND uscc = ?", [did, one[1]])
    else:
        filled.execute("UPDATE draw_eligible SET uscc = ? WHERE draw_id = ? AND uscc = ?", [dd.uscc(99998), did, one[1]])
    report = dbsj.verify_record(filled, tmp_path / "T1.draw.json")
    assert not report.ok and any("eligible set" in d for d in report.differences)


def test_verify_survives_pool_changes(filled, tmp_path):
    dbsj.draw_plan(filled, _plan(), seed=DICE, task_ids=["T1"], out_dir=tmp_path, override_check=TEST_OVERRIDE)
    filled.execute("UPDATE targets SET status = '注销' WHERE uscc IN (SELECT uscc FROM targets ORDER BY uscc LIMIT 30)")
    assert dbsj.verify_record(filled, tmp_path / "T1.draw.json").ok
    # a selected target gone from the pool: selection and assignment still verify (the assignment's snapshot)
    filled.execute("DELETE FROM targets WHERE uscc IN (SELECT uscc FROM selections)")
    report = dbsj.verify_record(filled, tmp_path / "T1.draw.json")
    assert report.ok and "assignment" in report.checked and not report.warnings


def _export(store, record, out):
    return dbsj.export_draw_pool(store, record, out)


def _verifier(record, pool):
    return subprocess.run([sys.executable, "-S", "-I", str(VERIFIER), str(record), str(pool)],
                          capture_output=True, text=True)


def test_standalone_verifier_rederives_and_rejects_changed_pool_rows(filled, tmp_path):
    dbsj.draw_plan(filled, _plan(), seed=DICE, out_dir=tmp_path / "rec", override_check=TEST_OVERRIDE)
    record = tmp_path / "rec" / "T2.draw.json"
    pool = tmp_path / "pool.csv"
    n = _export(filled, record, pool)
    assert n == _rec(record)["commitment"]["eligible"]["count"]
    ok = _verifier(record, pool)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    rows = list(csv.reader(pool.open(encoding="utf-8-sig")))
    for label, mutated in (("insert", rows + [[dd.uscc(77777), rows[1][1]]]),
                           ("delete", rows[:1] + rows[2:]),
                           ("edit", rows[:1] + [[rows[1][0][:-1] + "X", rows[1][1]]] + rows[2:])):
        bad = tmp_path / f"{label}.csv"
        with bad.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(mutated)
        res = _verifier(record, bad)
        assert res.returncode == 1, (label, res.stdout)
    # the verifier imports nothing outside the standard library
    import ast

    tree = ast.parse(VERIFIER.read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}, modules


def test_standalone_verifier_catches_edited_selection(filled, tmp_path):
    dbsj.draw_plan(filled, _plan(), seed=DICE, task_ids=["T1"], out_dir=tmp_path, override_check=TEST_OVERRIDE)
    record = tmp_path / "T1.draw.json"
    pool = tmp_path / "pool.csv"
    _export(filled, record, pool)
    rec = _rec(record)
    sel = rec["selection"]["strata"][0]["selected"]
    sel[0], sel[-1] = sel[-1], sel[0]
    record.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    assert _verifier(record, pool).returncode == 1


def _drand():
    # README of github.com/mcdcam/python-drand-verify and drand public API output (vectors README)
    return json.loads((VECTORS / "drand_vectors.json").read_text())["vectors"]


def test_beacon_commit_then_reveal(filled, tmp_path):
    v = _drand()[0]  # mainnet round 3311596, published 2023-09-15: after the 2023-06-01 commitment
    run = dbsj.commit_draw(filled, _plan(), seed_kind="beacon", beacon_round=v["round"], out_dir=tmp_path / "pub", override_check=TEST_OVERRIDE)
    assert (tmp_path / "pub" / "T1.commit.json").exists()
    assert [e.kind for e in dbsj.Ledger(filled).entries()] == ["draw.commit.begun", "draw.commit", "draw.commit"]
    beacon = dbsj.BeaconSeed(round=v["round"], signature=v["signature"], randomness=v["randomness"])
    done = dbsj.reveal_draw(filled, beacon, out_dir=tmp_path / "rec")
    rec = _rec(done.records["T1"])
    assert rec["seed"]["value"] == v["randomness"] and rec["seed"]["known_before_commitment"] is False
    assert rec["commitment"] == run.commitments["T1"]
    assert dbsj.verify_record(filled, done.records["T1"]).ok


def test_beacon_inconsistent_or_early_or_other_round_is_refused(filled, tmp_path):
    vs = _drand()
    with pytest.raises(dbsj.SeedError):  # round 162810 was published in 2020, before the commitment
        dbsj.commit_draw(filled, _plan(), seed_kind="beacon", beacon_round=vs[1]["round"], override_check=TEST_OVERRIDE)
    v = vs[0]
    dbsj.commit_draw(filled, _plan(), seed_kind="beacon", beacon_round=v["round"], override_check=TEST_OVERRIDE)
    bad = dbsj.BeaconSeed(round=v["round"], signature=v["signature"], randomness="0" * 64)
    with pytest.raises(dbsj.SeedError, match="SHA-256"):
        dbsj.reveal_draw(filled, bad, out_dir=tmp_path)
    later = dbsj.BeaconSeed(round=v["round"] + 1, signature=v["signature"], randomness=v["randomness"])
    with pytest.raises(dbsj.SeedError):
        dbsj.reveal_draw(filled, later, out_dir=tmp_path)
    assert [e.kind for e in dbsj.Ledger(filled).entries()].count("draw.reveal-rejected") == 2
    good = dbsj.BeaconSeed(round=v["round"], signature=v["signature"], randomness=v["randomness"])
    assert dbsj.reveal_draw(filled, good, out_dir=tmp_path).status == "drawn"


def test_department_shares_commit_then_reveal(filled, tmp_path):
    shares = {"市场监管": "sc-secret-2023", "卫生健康": "wj-secret-2023"}
    commits = {d: dbsj.share_commitment(s) for d, s in shares.items()}
    with pytest.raises(dbsj.SeedError):  # a participating department without a commitment
        dbsj.commit_draw(filled, _plan(), seed_kind="shares", share_commitments={"市场监管": commits["市场监管"]}, override_check=TEST_OVERRIDE)
    dbsj.commit_draw(filled, _plan(), seed_kind="shares", share_commitments=commits, override_check=TEST_OVERRIDE)
    with pytest.raises(dbsj.SeedError):
        dbsj.reveal_draw(filled, dbsj.SharesSeed({**shares, "卫生健康": "changed"}), out_dir=tmp_path)
    done = dbsj.reveal_draw(filled, dbsj.SharesSeed(shares), out_dir=tmp_path)
    assert dbsj.verify_record(filled, done.records["T2"]).ok


def test_short_stratum_takes_all_and_says_so(filled, tmp_path):
    p = dd.plan({"id": "T9", "sampling": {"strata": ["credit_class", "region"], "quota": {"count": 50}}})
    dbsj.draw_plan(filled, p, seed=DICE, out_dir=tmp_path, override_check=TEST_OVERRIDE)
    rec = _rec(tmp_path / "T9.draw.json")
    for e in rec["commitment"]["strata"]:
        assert e["asked"] == 50 and e["k"] == e["eligible"] and "notes" in e


def test_anti_repeat_and_scope_exclusions_counted(filled, tmp_path):
    recent = filled.execute("SELECT uscc FROM targets ORDER BY uscc LIMIT 7").fetchall()
    dd.insert(filled, "history", [{"uscc": u, "item_code": "SC-A07", "inspected_on": dt.date(2023, 1, 5), "task_id": "old"}
                                  for (u,) in recent])
    dd.insert(filled, "targets", dd.targets(3, start=500, status="注销"))
    p = dd.plan({"id": "T1", "scope": {"regions": ["6501", "6502", "6523"]}})
    dbsj.draw_plan(filled, p, seed=DICE, out_dir=tmp_path, override_check=TEST_OVERRIDE)
    ex = _rec(tmp_path / "T1.draw.json")["commitment"]["exclusions"]
    assert ex["status"] == 3
    assert ex["scope_region"] == 30  # the 659001 quarter of the 120
    assert ex["recently_inspected"] == sum(1 for (u,) in recent if not u[2:8].startswith("6590"))
    total = filled.count("targets")
    assert sum(ex.values()) + _rec(tmp_path / "T1.draw.json")["commitment"]["eligible"]["count"] == total


def test_earlier_draw_of_another_task_counts_as_recent(filled, tmp_path):
    p = dd.plan({"id": "T1"}, {"id": "T3"})  # same item SC-A07
    dbsj.draw_plan(filled, p, seed=DICE, task_ids=["T1"], out_dir=tmp_path / "a", override_check=TEST_OVERRIDE)
    n1 = _rec(tmp_path / "a" / "T1.draw.json")["selection"]["count"]
    dbsj.draw_plan(filled, p, seed=DICE, task_ids=["T3"], out_dir=tmp_path / "b", override_check=TEST_OVERRIDE)
    assert _rec(tmp_path / "b" / "T3.draw.json")["commitment"]["exclusions"]["recently_inspected"] == n1


def test_plan_errors(filled, tmp_path):
    with pytest.raises(dbsj.PlanError, match="NO-SUCH"):
        dbsj.draw_plan(filled, dd.plan({"id": "T1", "items": ["NO-SUCH"]}), seed="x", out_dir=tmp_path, override_check=TEST_OVERRIDE)
    with pytest.raises(dbsj.PlanError, match="外星部"):
        dbsj.draw_plan(filled, dd.plan({"id": "T1", "partners": ["外星部"]}), seed="x", out_dir=tmp_path, override_check=TEST_OVERRIDE)
    dbsj.draw_plan(filled, dd.plan({"id": "T1"}), seed="x", out_dir=tmp_path / "ok", override_check=TEST_OVERRIDE)
    changed = dd.plan({"id": "T1", "name": "改了名字"})
    with pytest.raises(dbsj.PlanError, match="XJ2023"):
        dbsj.draw_plan(filled, changed, seed="x", out_dir=tmp_path / "no", override_check=TEST_OVERRIDE)
    no_quota = dd.plan({"id": "T5", "sampling": {"strata": ["credit_class"], "by_class": {"A": 0.1}}}, plan_id="P2")
    with pytest.raises(dbsj.PlanError, match="credit_class=B"):
        dbsj.draw_plan(filled, no_quota, seed="x", out_dir=tmp_path / "nq", override_check=TEST_OVERRIDE)
    kinds = [e.kind for e in dbsj.Ledger(filled).entries()]
    assert "draw.failed" in kinds


def test_empty_pool_cannot_be_committed(store, tmp_path):
    dd.insert(store, "items", dd.items())
    with pytest.raises(dbsj.DrawError):
        dbsj.draw_plan(store, dd.plan({"id": "T1"}), seed="x", out_dir=tmp_path, override_check=TEST_OVERRIDE)
    assert store.execute("SELECT status FROM draws").fetchall() == [("failed",)]


def test_cli_draw_verify_export_and_standalone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "s.duckdb"
    with dbsj.Store(db) as s:
        dd.populate(s)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(json.dumps(_plan().model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
    assert main(["draw", "--db", str(db), "--plan", str(plan_file), "--dice", "31415926535897932384",
                 "--out", "rec", "--json", "--override-check", TEST_OVERRIDE]) == 0
    assert main(["draw", "--db", str(db), "--plan", str(plan_file), "--seed", "x", "--out", "rec",
                 "--override-check", TEST_OVERRIDE]) == 2
    assert main(["verify", "rec/T1.draw.json", "--db", str(db)]) == 0
    assert main(["pool", "export", "--record", "rec/T1.draw.json", "--out", "pool.csv", "--db", str(db)]) == 0
    assert _verifier(tmp_path / "rec" / "T1.draw.json", tmp_path / "pool.csv").returncode == 0
    rec = _rec(tmp_path / "rec" / "T1.draw.json")
    rec["selection"]["strata"][0]["selected"].pop()
    (tmp_path / "rec" / "T1.draw.json").write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")
    assert main(["verify", "rec/T1.draw.json", "--db", str(db)]) == 1


def test_cli_commit_and_reveal_with_beacon_file(tmp_path):
    db = tmp_path / "s.duckdb"
    with dbsj.Store(db) as s:
        dd.populate(s)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(json.dumps(_plan().model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
    v = _drand()[0]
    assert main(["draw", "commit", "--db", str(db), "--plan", str(plan_file), "--seed-kind", "beacon",
                 "--beacon-round", str(v["round"]), "--out", str(tmp_path / "pub"), "--override-check", TEST_OVERRIDE]) == 0
    beacon = tmp_path / "beacon.json"
    beacon.write_text(json.dumps({"round": v["round"], "signature": v["signature"], "randomness": v["randomness"]}))
    assert main(["draw", "reveal", "--db", str(db), "--beacon", str(beacon), "--out", str(tmp_path / "rec")]) == 0
    assert main(["verify", str(tmp_path / "rec" / "T2.draw.json"), "--db", str(db)]) == 0


def test_dice_reveal_before_the_commitment_is_refused(filled, tmp_path):
    dbsj.commit_draw(filled, _plan(), ["T1"], seed_kind="dice", out_dir=tmp_path / "pub", override_check=TEST_OVERRIDE)
    with pytest.raises(dbsj.DrawError):  # the commitment is published once
        dbsj.commit_draw(filled, _plan(), ["T1"], seed_kind="dice", out_dir=tmp_path / "pub", override_check=TEST_OVERRIDE)
    dbsj.set_now("2023-05-31T09:00:00")
    with pytest.raises(dbsj.SeedError):
        dbsj.reveal_draw(filled, DICE, run_id="XJ2023/run-1", out_dir=tmp_path)
    dbsj.set_now("2023-06-02T09:00:00")
    done = dbsj.reveal_draw(filled, DICE, run_id="XJ2023/run-1", out_dir=tmp_path)
    assert _rec(done.records["T1"])["seed"]["known_before_commitment"] is False
    with pytest.raises(dbsj.DrawError):  # revealed once only
        dbsj.reveal_draw(filled, DICE, run_id="XJ2023/run-1", out_dir=tmp_path / "again")


def test_blank_target_id_in_pool_is_refused(filled, tmp_path):
    row = dd.targets(1, start=900)[0]
    dd.insert(filled, "targets", [{**row, "uscc": ""}])
    with pytest.raises(dbsj.DrawError, match="empty or padded"):
        dbsj.set_language("en")
        dbsj.draw_plan(filled, dd.plan({"id": "T1"}), seed="x", out_dir=tmp_path, override_check=TEST_OVERRIDE)
    assert not (tmp_path / "T1.draw.json").exists()
    assert filled.execute("SELECT count(*) FROM draw_eligible").fetchall()[0][0] == 0
