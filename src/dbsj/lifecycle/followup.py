"""Follow-up (后续处置) as event rules on :class:`dbsj.EventEngine` (durable_rules).

The store's facts become events — one per standing result item with a problem, one per result overdue for
publication — and the rules below turn them into follow-up records:

- ``followup.disposition``: a result with problems → a disposition event to the department responsible
  for the item (责令整改, 移送办案, 抄告相关部门 …, as the inspector recorded it);
- ``followup.overdue-publication``: a result unpublished past its deadline → an alert to the sponsor;
- ``followup.directed-d-class``: a D-class (high-risk) target with problems → flagged for the next
  directed task (:func:`flagged_targets`).

The rules are data in the engine's rule format; pass ``rules=`` to use your own. Each follow-up is
recorded once (``followups`` table, keyed by kind, task, target and department); a run that raises new
ones records them on the ledger (kind ``followup.raised``).
"""

from __future__ import annotations

import json
from typing import Any

from dbsj import clock
from dbsj.lifecycle._context import CURRENT_RESULTS, load_tasks
from dbsj.lifecycle.publication import due_results
from dbsj.models.vocab import PROBLEM_CODES, STATUS_CODES
from dbsj.store.ledger import Ledger
from dbsj.store.store import Store

__all__ = ["FOLLOWUP_RULES", "run_followup", "flagged_targets"]

FOLLOWUP_RULES: list[dict[str, Any]] = [
    {"id": "followup.disposition", "kind": "event", "name": "发现问题的结果推送责任部门处置",
     "source": "国发〔2019〕5号: 抽查发现的违法违规行为依法处理，需其他部门处理的及时移送",
     "when": {"all": [{"as": "r", "match": {"type": "result", "problem": True}}]},
     "emit": {"kind": "disposition", "task_id": "{r.task_id}", "uscc": "{r.uscc}", "department": "{r.department}",
              "item_code": "{r.item_code}", "result_code": "{r.result_code}", "action": "{r.disposition}"}},
    {"id": "followup.overdue-publication", "kind": "event", "name": "超期未公示预警", "severity": "warning",
     "source": "检查结果自检查结束之日起20个工作日内公示",
     "when": {"all": [{"as": "p", "match": {"type": "publication", "overdue": True}}]},
     "emit": {"kind": "overdue", "task_id": "{p.task_id}", "uscc": "{p.uscc}", "department": "{p.department}",
              "item_code": "{p.item_code}", "due": "{p.due}"}},
    {"id": "followup.directed-d-class", "kind": "event", "name": "高风险（D类）问题对象列入下次定向抽查",
     "source": "信用风险分类结果与双随机抽查结合: 对高风险企业提高抽查比例和频次",
     "when": {"all": [{"as": "r", "match": {"type": "result", "problem": True, "status": False,
                                             "credit_class": "D"}}]},
     "emit": {"kind": "directed", "task_id": "{r.task_id}", "uscc": "{r.uscc}", "department": "",
              "item_code": "{r.item_code}", "result_code": "{r.result_code}"}},
]


def _events(store: Store) -> list[dict[str, Any]]:
    tasks = load_tasks(store)
    problems = sorted(PROBLEM_CODES)
    rows = store.execute(f"""
        SELECT cr.entry_no, cr.task_id, cr.uscc, cr.item_code, cr.result_code, cr.disposition, cr.inspected_on,
               coalesce(i.department, ''), coalesce(t.credit_class, 'U')
        FROM ({CURRENT_RESULTS}) cr
        LEFT JOIN items i ON i.code = cr.item_code
        LEFT JOIN targets t ON t.uscc = cr.uscc
        WHERE cr.result_code IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY cr.entry_no""", [problems]).fetchall()
    events: list[dict[str, Any]] = []
    for entry_no, task_id, uscc, item, code, disp, on, dept, cls in rows:
        if not dept and task_id in tasks:
            dept = tasks[task_id].task.sponsor
        events.append({"type": "result", "sid": "0", "id": f"r{entry_no}", "task_id": task_id, "uscc": uscc,
                       "item_code": item, "result_code": code, "disposition": disp, "department": dept,
                       "inspected_on": on.isoformat(), "problem": True, "status": code in STATUS_CODES,
                       "credit_class": cls or "U"})
    for r in due_results(store):
        if r["overdue"]:
            info = tasks.get(r["task_id"])
            events.append({"type": "publication", "sid": "0", "id": f"p{r['entry_no']}", "task_id": r["task_id"],
                           "uscc": r["uscc"], "item_code": r["item_code"], "due": r["due"].isoformat(),
                           "department": info.task.sponsor if info else "", "overdue": True})
    return events


def run_followup(store: Store, *, rules: list[Any] | None = None) -> list[dict[str, Any]]:
    """Run the follow-up event rules over the store; record and return the follow-ups raised for the first time.

    Each returned row: ``kind`` (disposition | overdue | directed), ``task_id``, ``uscc``, ``department``,
    ``rule`` and ``detail``. Running again raises nothing already raised.
    """
    from dbsj.rules.events import EventEngine

    today = clock.today()
    raised: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    with EventEngine(FOLLOWUP_RULES if rules is None else rules) as engine:
        # Facts, not posted events: a posted event is consumed by the first rule it matches, and one problem
        # result must reach every rule it concerns (disposition and the D-class flag).
        emissions = [e for fact in _events(store) for e in engine.assert_fact(fact)]
        for emission in emissions:
            ev = dict(emission.event)
            key = (str(ev.pop("kind")), str(ev.pop("task_id")), str(ev.pop("uscc")), str(ev.pop("department") or ""))
            row = raised.setdefault(key, {"kind": key[0], "task_id": key[1], "uscc": key[2], "department": key[3],
                                          "rule": emission.rule, "detail": {"items": []}})
            row["detail"]["items"].append(ev)
    existing = {tuple(r) for r in store.execute("SELECT kind, task_id, uscc, department FROM followups").fetchall()}
    new = [raised[k] for k in sorted(raised) if k not in existing]
    if not new:
        return []
    store.con.execute("BEGIN")
    try:
        for row in new:
            store.execute("INSERT INTO followups VALUES (?, ?, ?, ?, ?, ?)",
                          [row["kind"], row["task_id"], row["uscc"], row["department"],
                           json.dumps({"rule": row["rule"], **row["detail"]}, ensure_ascii=False, sort_keys=True), today])
        counts: dict[str, int] = {}
        for row in new:
            counts[row["kind"]] = counts.get(row["kind"], 0) + 1
        Ledger(store).append("followup.raised", "followup", {
            "counts": counts, "raised": [[r["kind"], r["task_id"], r["uscc"], r["department"]] for r in new]})
        store.con.execute("COMMIT")
    except BaseException:
        store.con.execute("ROLLBACK")
        raise
    return new


def flagged_targets(store: Store) -> list[str]:
    """USCCs flagged for the next directed task (D-class targets with problems), sorted."""
    return [u for (u,) in store.execute(
        "SELECT DISTINCT uscc FROM followups WHERE kind = 'directed' ORDER BY uscc").fetchall()]
