"""Follow-up event rules on the durable_rules adapter."""

from __future__ import annotations

import json

import dbsj
import lcdata
from dbsj.cli import main


def test_problems_go_to_responsible_departments_overdue_alerts_and_d_class_flags(seeded):
    store, d = seeded
    # d.t1[3] is D-class; its B01 (卫生健康's item) has a problem; A07 none.
    lcdata.visit(store, "T1", d.t1[3], {"A07": "未发现问题", "B01": "不配合检查情节严重"}, disposition="移送办案")
    # d.t1[0] is A-class with a status code, inspected long ago: overdue for publication.
    dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "注销"}, on="2023-04-03"))
    # d.t2[1] is D-class but its status code is not a problem found in operation: no flag.
    dbsj.record_result(store, lcdata.result("T2", d.t2[1], "S2", {"A07": "迁出"}))
    raised = dbsj.run_followup(store)
    keys = [(r["kind"], r["task_id"], r["uscc"], r["department"]) for r in raised]
    assert ("disposition", "T1", d.t1[3], "卫生健康") in keys
    assert not any(k[0] == "disposition" and k[2] == d.t1[0] for k in keys)  # a status code is not a problem found
    assert ("directed", "T1", d.t1[3], "") in keys
    assert ("overdue", "T1", d.t1[0], "市场监管") in keys
    assert not any(k[0] == "directed" and k[2] == d.t2[1] for k in keys)
    assert not any(k[2] == d.t1[3] and k[0] == "overdue" for k in keys)
    disp = next(r for r in raised if r["kind"] == "disposition" and r["uscc"] == d.t1[3])
    assert disp["detail"]["items"] == [{"item_code": "B01", "disposition": "移送办案"}]
    assert disp["rule"] == "followup.problem-disposition"
    overdue = next(r for r in raised if r["kind"] == "overdue")
    assert overdue["detail"]["items"] == [{"item_code": "A07", "due": "2023-05-04"}]
    assert dbsj.flagged_targets(store) == [d.t1[3]]
    assert dbsj.run_followup(store) == []  # raised once
    entry = dbsj.Ledger(store).entries("followup.raised")[-1]
    assert entry.payload["counts"]["directed"] == 1


def test_followup_cli(tmp_path, pm, capsys):
    path = tmp_path / "s.duckdb"
    with dbsj.Store(path) as s:
        d = lcdata.seed(s)
        dbsj.record_result(s, lcdata.result("T1", d.t1[3], "S1", {"A07": "公示信息隐瞒真实情况弄虚作假"}))
    assert main(["followup", "--db", str(path), "--json"]) == 0
    kinds = sorted(r["kind"] for r in json.loads(capsys.readouterr().out))
    assert kinds == ["directed", "disposition"]


def test_rules_can_be_replaced(seeded):
    store, d = seeded
    dbsj.record_result(store, lcdata.result("T1", d.t1[1], "S1", {"A07": "未按规定公示应当公示的信息"}))
    mine = [{"id": "local.any-problem", "kind": "event", "name": "本地: 问题对象抄告",
             "when": {"all": [{"as": "r", "match": {"type": "result", "problem": True}}]},
             "emit": {"type": "notify", "task_id": "{r.task_id}", "uscc": "{r.uscc}", "department": "商务"}}]
    [row] = dbsj.run_followup(store, rules=mine)
    assert (row["kind"], row["uscc"], row["department"], row["rule"]) == ("notify", d.t1[1], "商务", "local.any-problem")
