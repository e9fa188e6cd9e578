"""Kill -9 while the assignment's inputs snapshot is written: the snapshot commits with its step or not at all."""

from __future__ import annotations

from pathlib import Path

from harness import run_clean, run_to_failpoint

import dbsj

EXERCISED = {"assign.after-snapshot"}

HERE = Path(__file__).resolve().parent.parent

DRAW = """
import sys
sys.path[:0] = [{tests!r} + "/assignment", {tests!r}]
import dbsj
from test_assignment_snapshot import draw, populate
dbsj.reset_plugin_manager(dbsj.PluginManager(load_entry_points=False))
with dbsj.Store({db!r}) as store:
    if {fill}:
        populate(store)
    draw(store, __import__("pathlib").Path({out!r}))
"""


def test_killed_after_the_snapshot_leaves_no_snapshot_and_the_next_draw_verifies(tmp_path):
    db = tmp_path / "s.duckdb"
    run_to_failpoint(DRAW.format(tests=str(HERE), db=str(db), fill=True, out=str(tmp_path / "dead")),
                     "assign.after-snapshot")
    with dbsj.Store(db) as store:
        assert store.count("assignment_inputs") == 0
        for part in ("selections", "tasks", "items", "targets", "inspectors", "history", "recusals"):
            assert store.count(f"assignment_input_{part}") == 0, part
        assert store.count("assignments") == 0
        dbsj.Ledger(store).verify()
    run_clean(DRAW.format(tests=str(HERE), db=str(db), fill=False, out=str(tmp_path / "rec")))
    with dbsj.Store(db) as store:
        assert store.count("assignment_inputs") == 1
        records = sorted((tmp_path / "rec").glob("*.draw.json"))
        assert records and all(r.ok and "assignment" in r.checked for r in dbsj.verify_records(store, records))
        assert dbsj.audit_assignments(store) == []
