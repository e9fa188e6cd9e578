"""Task lifecycle: one state at a time, only as the data allows, every transition on the ledger."""

from __future__ import annotations

import json

import pytest

import dbsj
import lcdata
from dbsj.cli import main

S = dbsj.TaskState


def _states(store, task):
    return [(r[0], r[1]) for r in store.execute(
        "SELECT from_state, to_state FROM task_events WHERE task_id = ? ORDER BY ledger_seq", [task]).fetchall()]


def test_the_full_lifecycle_in_order(seeded, tmp_path):
    store, d = seeded
    assert dbsj.sync_task_states(store) == {"T1": S.ASSIGNED, "T2": S.ASSIGNED}
    dbsj.record_result(store, lcdata.result("T2", d.t2[0], "S2", {"A07": "未发现问题"}))
    assert dbsj.task_state(store, "T2") == S.IN_PROGRESS
    with pytest.raises(dbsj.InputError, match="2"):  # two targets still without results
        dbsj.advance_task(store, "T2", "results_entered")
    for u in d.t2[1:]:
        dbsj.record_result(store, lcdata.result("T2", u, "S4", {"A07": "未发现问题"}))
    assert dbsj.task_state(store, "T2") == S.RESULTS_ENTERED
    with pytest.raises(dbsj.InputError):  # published before reviewed: skipping is refused
        dbsj.advance_task(store, "T2", "published")
    dbsj.publish(store, tmp_path)
    assert dbsj.task_state(store, "T2") == S.RESULTS_ENTERED  # published, but not reviewed yet
    assert dbsj.advance_task(store, "T2", "reviewed", actor="审核人A") == S.PUBLISHED  # all published already
    assert dbsj.advance_task(store, "T2", S.CLOSED) == S.CLOSED
    with pytest.raises(dbsj.InputError):
        dbsj.advance_task(store, "T2", "reviewed")  # no way back
    assert _states(store, "T2") == [("planned", "drawn"), ("drawn", "assigned"), ("assigned", "in_progress"),
                                    ("in_progress", "results_entered"), ("results_entered", "reviewed"),
                                    ("reviewed", "published"), ("published", "closed")]
    ledger = [(e.payload["from"], e.payload["to"]) for e in dbsj.Ledger(store).entries("task.state") if e.subject == "T2"]
    assert ledger == _states(store, "T2")
    review = [e for e in dbsj.Ledger(store).entries("task.state") if e.payload["to"] == "reviewed"][0]
    assert review.payload["actor"] == "审核人A"


def test_a_task_not_drawn_stays_planned_and_cannot_be_pushed(store, pm):
    plan = dbsj.Plan.model_validate(lcdata.PLAN)
    store.execute("INSERT INTO plans (plan_id, year, sha256, body, stored_at) VALUES (?, ?, ?, ?, now())",
                  [plan.id, plan.year, plan.digest(), plan.canonical_json()])
    assert dbsj.sync_task_states(store) == {"T1": S.PLANNED, "T2": S.PLANNED}
    with pytest.raises(dbsj.InputError, match="尚无抽取结果"):
        dbsj.advance_task(store, "T1", "drawn")
    with pytest.raises(dbsj.InputError):
        dbsj.advance_task(store, "T1", "nonsense")
    with pytest.raises(dbsj.InputError):
        dbsj.task_state(store, "T9")
    assert store.count("task_events") == 0


def test_task_cli(tmp_path, pm, capsys):
    path = tmp_path / "s.duckdb"
    with dbsj.Store(path) as s:
        d = lcdata.seed(s)
        for u in d.t2:
            dbsj.record_result(s, lcdata.result("T2", u, "S2", {"A07": "未发现问题"}))
    assert main(["task", "status", "--db", str(path), "--json"]) == 0
    rows = {r["task_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["T2"]["state"] == "results_entered" and rows["T2"]["with_results"] == 3
    assert rows["T1"]["state"] == "assigned" and rows["T1"]["selected"] == 4
    assert main(["task", "advance", "--db", str(path), "--task", "T2", "--to", "reviewed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"task_id": "T2", "state": "reviewed"}
    assert main(["task", "advance", "--db", str(path), "--task", "T1", "--to", "closed"]) == 2


def test_simulated_year_is_deterministic_and_passes_every_check(tmp_path, pm):
    outs = []
    for run in range(2):
        with dbsj.Store(":memory:") as s:
            lcdata.seed(s)
            dbsj.set_now("2023-12-29T09:00:00")
            summary = dbsj.simulate_lifecycle(s, tmp_path / f"run{run}", seed="t", skip_share=0.2, late_share=0.3)
            rows = s.execute("SELECT task_id, uscc, item_code, result_code, inspected_on, staff_id FROM results "
                             "ORDER BY ALL").fetchall()
            outs.append((summary, rows, [(b, n) for b, n in s.execute(
                "SELECT notice_title, entries FROM publications ORDER BY batch_id").fetchall()]))
            assert dbsj.now().isoformat().startswith("2023-12-29T09:00")  # the clock is restored
            # only assigned inspectors recorded; results lie between the draw and the clock
            bad = s.execute("""SELECT count(*) FROM results r WHERE NOT EXISTS (SELECT 1 FROM assignments a
                               WHERE a.task_id = r.task_id AND a.uscc = r.uscc AND a.staff_id = r.staff_id)
                               OR r.inspected_on < DATE '2023-03-10' OR r.inspected_on > DATE '2023-12-29'""").fetchone()[0]
            assert bad == 0
            assert dbsj.Ledger(s).verify() > 0
    assert outs[0] == outs[1]
    summary = outs[0][0]
    assert 0 < summary["visits"] < 7 and 0 < summary["published_entries"] <= summary["entries"]
