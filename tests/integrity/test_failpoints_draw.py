"""Kill a real draw at each of its failpoints (SIGKILL), then look at what it left.

After every kill: the store opens (recovery runs), the ledger verifies, no step is left open and no file
is half-written, the draw audit finds nothing (no orphan rows, states agree with the ledger), no state
allows a second reveal — a run whose reveal began is failed and refuses every seed — and the next draw
works, with attempt and run numbers never used before.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from harness import final_files, run_clean, run_to_failpoint

import dbsj
from dbsj.store.outputs import TEMP_MARK, sweep_temporaries

HERE = Path(__file__).resolve().parent
DRAW_TESTS = HERE.parent / "draw"
sys.path[:0] = [str(DRAW_TESTS), str(HERE.parent)]

import drawdata as dd  # noqa: E402
from pooldata import TEST_OVERRIDE  # noqa: E402

COMMIT = ["draw.commit.after-begin", "draw.commit.after-eligible", "draw.commit.after-ledger",
          "draw.commit.before-commit", "draw.commit.after-commit"]
REVEAL = ["draw.reveal.after-begin", "draw.reveal.after-select", "draw.reveal.after-assign",
          "draw.reveal.after-ledger", "draw.reveal.mid-records", "draw.reveal.before-commit",
          "draw.reveal.after-commit"]
EXERCISED = set(COMMIT) | set(REVEAL)

DICE = "31415926535897932384"
OTHER = "27182818284590452353"


def _plan() -> dbsj.Plan:
    return dd.plan({"id": "T1"}, {"id": "T2", "partners": ["卫生健康"], "items": ["SC-B01", "WJ-01"],
                                  "sampling": {"strata": ["credit_class", "region"], "quota": {"count": 2}}})


_PRELUDE = f"""
import sys
sys.path[:0] = [{str(DRAW_TESTS)!r}, {str(HERE.parent)!r}]
import dbsj, drawdata as dd
from test_failpoints_draw import _plan
from pooldata import TEST_OVERRIDE
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "store.duckdb"
    with dbsj.Store(path) as s:
        dd.populate(s)
    return path


def _env() -> dict[str, str]:
    return {"DBSJ_DISABLE_PLUGINS": "xinjiang", "PYTHONPATH": str(HERE)}


def _check_after(db: Path, out: Path) -> dbsj.Store:
    store = dbsj.Store(db)  # recovery: dead steps marked failed, committed files rolled forward
    assert dbsj.Ledger(store).verify() > 0
    assert store.execute("SELECT count(*) FROM steps_in_progress").fetchall() == [(0,)]
    assert store.execute("SELECT count(*) FROM pending_outputs").fetchall() == [(0,)]
    assert dbsj.audit_draws(store) == []
    for name in final_files(out):
        json.loads((out / name).read_text(encoding="utf-8"))  # every file that exists is whole
    sweep_temporaries(out)
    assert not [p for p in out.glob("*") if TEMP_MARK in p.name]
    return store


def _next_draw_works(store: dbsj.Store, tmp: Path, used: set[str]) -> None:
    run = dbsj.draw_plan(store, _plan(), seed=dbsj.DiceSeed(OTHER), out_dir=tmp / "next", override_check=TEST_OVERRIDE)
    assert not (set(run.draw_ids.values()) | {run.run_id}) & used, "a number was used twice"
    for path in run.records.values():
        report = dbsj.verify_record(store, path)
        assert report.ok, report.differences
    assert dbsj.audit_draws(store) == []


def _used(store: dbsj.Store) -> set[str]:
    ids = {r[0] for r in store.execute("SELECT draw_id FROM draws").fetchall()}
    ids |= {r[0] for r in store.execute("SELECT run_id FROM draw_runs").fetchall()}
    for (payload,) in store.execute("SELECT payload FROM ledger WHERE kind = 'draw.commit.begun'").fetchall():
        p = json.loads(payload)
        ids |= {p["run_id"], *p["draws"].values()}
    return ids


@pytest.mark.parametrize("point", COMMIT + REVEAL)
def test_one_shot_draw_killed_at(point, template, tmp_path):
    db = tmp_path / "store.duckdb"
    shutil.copy(template, db)
    out = tmp_path / "out"
    run_to_failpoint(_PRELUDE + f"""
with dbsj.Store({str(db)!r}) as s:
    dbsj.draw_plan(s, _plan(), seed=dbsj.DiceSeed({DICE!r}), out_dir={str(out)!r}, override_check=TEST_OVERRIDE)
""", point, env=_env())
    store = _check_after(db, out)
    runs = store.execute("SELECT run_id, status FROM draw_runs").fetchall()
    kinds = [e.kind for e in dbsj.Ledger(store).entries()]
    files = final_files(out)
    if point in COMMIT[:-1]:
        # the commit never landed: its attempts are failed rows, on the ledger, and its number is spent
        assert runs == [("XJ2023/run-1", "failed")]
        assert "draw.commit.died" in kinds and files == []
        assert {r[0] for r in store.execute("SELECT status FROM draws").fetchall()} == {"failed"}
        assert store.execute("SELECT count(*) FROM draw_eligible").fetchall() == [(0,)]
    elif point == "draw.commit.after-commit":
        # committed, files rolled forward, reveal never begun: only the bound one-shot seed reveals it, once
        assert runs == [("XJ2023/run-1", "committed")]
        assert files == ["T1.commit.json", "T2.commit.json"]
        with pytest.raises(dbsj.SeedError, match="seed_value_sha256|binds"):
            dbsj.reveal_draw(store, dbsj.DiceSeed(OTHER), run_id="XJ2023/run-1", out_dir=out)
        done = dbsj.reveal_draw(store, dbsj.DiceSeed(DICE), run_id="XJ2023/run-1", out_dir=out)
        assert dbsj.verify_record(store, done.records["T1"], anchors=[out / "T1.commit.json"]).ok
        with pytest.raises(dbsj.DrawError):
            dbsj.reveal_draw(store, dbsj.DiceSeed(DICE), run_id="XJ2023/run-1", out_dir=tmp_path / "again")
    elif point == "draw.reveal.after-commit":
        # the reveal committed: its records are rolled forward, whole, and verify; nothing can reveal it again
        assert runs == [("XJ2023/run-1", "drawn")]
        assert files == sorted(f"T{n}.{k}.json" for n in (1, 2) for k in ("commit", "draw", "public"))
        for tid in ("T1", "T2"):
            report = dbsj.verify_record(store, out / f"{tid}.draw.json",
                                        anchors=[out / f"{tid}.commit.json", out / f"{tid}.public.json"])
            assert report.ok, report.differences
        with pytest.raises(dbsj.DrawError):
            dbsj.reveal_draw(store, dbsj.DiceSeed(DICE), run_id="XJ2023/run-1", out_dir=tmp_path / "again")
    else:
        # the reveal began and died: the run is failed for good — no seed reveals it, not even the right one
        assert runs == [("XJ2023/run-1", "failed")]
        assert "draw.reveal.died" in kinds and "draw.reveal" not in kinds
        assert files == ["T1.commit.json", "T2.commit.json"]
        assert store.execute("SELECT count(*) FROM selections").fetchall() == [(0,)]
        assert store.execute("SELECT count(*) FROM assignments").fetchall() == [(0,)]
        for seed in (DICE, OTHER):
            with pytest.raises(dbsj.DrawError, match="failed"):
                dbsj.reveal_draw(store, dbsj.DiceSeed(seed), run_id="XJ2023/run-1", out_dir=tmp_path / "again")
    _next_draw_works(store, tmp_path, _used(store))
    store.close()


def test_protected_reveal_killed_cannot_be_ground_with_another_seed(template, tmp_path):
    """Commit with a dice protocol, kill the reveal midway: the dead run refuses every later seed (the attack
    the issue describes: kill, then reveal whichever seed suits), and a redraw is a new, visible attempt."""
    db = tmp_path / "store.duckdb"
    shutil.copy(template, db)
    with dbsj.Store(db) as s:
        dbsj.commit_draw(s, _plan(), seed_kind="dice", out_dir=tmp_path / "pub", override_check=TEST_OVERRIDE)
    run_to_failpoint(_PRELUDE + f"""
with dbsj.Store({str(db)!r}) as s:
    dbsj.reveal_draw(s, dbsj.DiceSeed({DICE!r}), out_dir={str(tmp_path / 'rec')!r})
""", "draw.reveal.after-assign", env={**_env(), "DBSJ_NOW": "2023-06-02T09:00:00"})
    store = _check_after(db, tmp_path / "rec")
    assert store.execute("SELECT status FROM draw_runs").fetchall() == [("failed",)]
    dbsj.set_now("2023-06-03T09:00:00")
    try:
        for seed in (DICE, OTHER, "12345678901234567890"):
            with pytest.raises(dbsj.DrawError):
                dbsj.reveal_draw(store, dbsj.DiceSeed(seed), run_id="XJ2023/run-1", out_dir=tmp_path / "x")
        run = dbsj.commit_draw(store, _plan(), seed_kind="dice", override_check=TEST_OVERRIDE)
        assert run.run_id == "XJ2023/run-2" and run.draw_ids["T1"] == "XJ2023/T1/2"
        dbsj.set_now("2023-06-04T09:00:00")
        done = dbsj.reveal_draw(store, dbsj.DiceSeed(OTHER), run_id=run.run_id, out_dir=tmp_path / "rec2")
        assert all(dbsj.verify_record(store, p).ok for p in done.records.values())
        assert dbsj.audit_draws(store) == []
    finally:
        dbsj.set_now(None)
        store.close()


def test_redraw_killed_before_commit_leaves_the_earlier_draw_standing(template, tmp_path):
    """Killed during a redraw of a finished draw: the earlier draw still stands (supersession happens only in
    the transaction that makes the new one drawn)."""
    db = tmp_path / "store.duckdb"
    shutil.copy(template, db)
    run_clean(_PRELUDE + f"""
with dbsj.Store({str(db)!r}) as s:
    dbsj.draw_plan(s, _plan(), seed=dbsj.DiceSeed({DICE!r}), out_dir={str(tmp_path / 'first')!r}, override_check=TEST_OVERRIDE)
""", env=_env())
    run_to_failpoint(_PRELUDE + f"""
with dbsj.Store({str(db)!r}) as s:
    dbsj.draw_plan(s, _plan(), seed=dbsj.DiceSeed({OTHER!r}), out_dir={str(tmp_path / 'second')!r}, override_check=TEST_OVERRIDE)
""", "draw.reveal.before-commit", env=_env())
    store = _check_after(db, tmp_path / "second")
    status = dict(store.execute("SELECT draw_id, status FROM draws").fetchall())
    assert status == {"XJ2023/T1/1": "drawn", "XJ2023/T2/1": "drawn", "XJ2023/T1/2": "failed", "XJ2023/T2/2": "failed"}
    assert dbsj.verify_record(store, tmp_path / "first" / "T1.draw.json").ok
    store.close()
