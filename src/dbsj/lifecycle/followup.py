"""Follow-up (后续处置) as event rules on :class:`dbsj.EventEngine` (durable_rules).

The rules are the effective rule packs' event rules (shipped: ``rules/national/followup.yaml`` and
``rules/national/lifecycle.yaml``; agencies add or override them in their own packs). The store's facts
become events:

- ``{type: result, task_id, uscc, item_code, result_code, problem, status_code, disposition, department,
  credit_class}`` — one per standing result item; ``problem`` is a problem found in operation (a
  :data:`dbsj.PROBLEM_CODES` code that is not a status code), ``department`` the item's department;
- ``{type: publication, task_id, uscc, item_code, due, department, overdue}`` — one per result not yet
  published (``department``: the task's sponsor).

What the shipped rules emit becomes a follow-up record: ``disposition`` (to the responsible department,
责令整改 / 移送办案 / 抄告相关部门 as recorded), ``overdue_alert`` (kind ``overdue``) and ``directed_flag``
(kind ``directed``: a D-class target with problems, for the next directed task, :func:`flagged_targets`).
Each follow-up is recorded once (``followups``, keyed by kind, task, target and department); a run that
raises new ones records them on the ledger (kind ``followup.raised``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from dbsj import clock
from dbsj.lifecycle._context import CURRENT_RESULTS, load_tasks
from dbsj.lifecycle.publication import due_results
from dbsj.models.vocab import PROBLEM_CODES, STATUS_CODES
from dbsj.store.ledger import Ledger
from dbsj.store.store import Store

__all__ = ["run_followup", "flagged_targets"]

#: Emitted event type -> follow-up kind (other types keep their own name).
_KINDS = {"disposition": "disposition", "overdue_alert": "overdue", "directed_flag": "directed"}


def _events(store: Store) -> list[dict[str, Any]]:
    tasks = load_tasks(store)
    rows = store.execute(f"""
        SELECT cr.entry_no, cr.task_id, cr.uscc, cr.item_code, cr.result_code, cr.disposition, cr.method,
               cr.inspected_on, coalesce(i.department, ''), coalesce(nullif(t.credit_class, ''), 'U')
        FROM ({CURRENT_RESULTS}) cr
        LEFT JOIN items i ON i.code = cr.item_code
        LEFT JOIN targets t ON t.uscc = cr.uscc
        ORDER BY cr.entry_no""").fetchall()
    events: list[dict[str, Any]] = []
    for entry_no, task_id, uscc, item, code, disp, method, on, dept, cls in rows:
        if not dept and task_id in tasks:
            dept = tasks[task_id].task.sponsor
        events.append({"type": "result", "sid": "0", "id": f"r{entry_no}", "task_id": task_id, "uscc": uscc,
                       "item_code": item, "result_code": code, "disposition": disp, "method": method,
                       "department": dept, "inspected_on": on.isoformat(),
                       "problem": code in PROBLEM_CODES and code not in STATUS_CODES,
                       "status_code": code in STATUS_CODES, "credit_class": cls})
    for r in due_results(store):
        if r["published_on"] is None:
            info = tasks.get(r["task_id"])
            events.append({"type": "publication", "sid": "0", "id": f"p{r['entry_no']}", "task_id": r["task_id"],
                           "uscc": r["uscc"], "item_code": r["item_code"], "due": r["due"].isoformat(),
                           "department": info.task.sponsor if info else "", "overdue": bool(r["overdue"])})
    return events


def run_followup(store: Store, *, rules: Iterable[Any] | None = None,
                 rule_dirs: Iterable[str | Path] | None = None) -> list[dict[str, Any]]:
    """Run the follow-up event rules over the store; record and return the follow-ups raised for the first time.

    :param rules: event rules to use instead of the effective packs' (models or mappings).
    :param rule_dirs: extra rule-pack folders (as ``dbsj check --rules``) on top of the national pack.

    Each returned row: ``kind`` (disposition | overdue | directed | another emitted type), ``task_id``,
    ``uscc``, ``department``, ``rule`` and ``detail`` (the emitted fields, per item). Running again raises
    nothing already raised.
    """
    from dbsj.rules.events import EventEngine
    from dbsj.rules.loader import cached_rules

    if rules is None:
        rules = cached_rules(list(rule_dirs) if rule_dirs else None).event_rules

    today = clock.today()
    raised: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    with EventEngine(rules) as engine:
        # Facts, not posted events: a posted event is consumed by the first rule it matches, and one problem
        # result must reach every rule it concerns (disposition and the D-class flag).
        emissions = [e for fact in _events(store) for e in engine.assert_fact(fact)]
        for emission in emissions:
            ev = {k: v for k, v in emission.event.items() if k not in ("message", "message_en")}
            kind = _KINDS.get(str(ev.get("type")), str(ev.get("type") or emission.rule))
            ev.pop("type", None)
            key = (kind, str(ev.pop("task_id", "") or ""), str(ev.pop("uscc", "") or ""),
                   str(ev.pop("department", "") or "") if kind != "directed" else "")
            ev.pop("department", None)
            row = raised.setdefault(key, {"kind": key[0], "task_id": key[1], "uscc": key[2], "department": key[3],
                                          "rule": emission.rule, "detail": {"items": []}})
            row["detail"]["items"].append(ev)
    existing = {tuple(r) for r in store.execute("SELECT kind, task_id, uscc, department FROM followups").fetchall()}
    new = [raised[k] for k in sorted(raised) if k not in existing]
    if not new:
        return []
    store.con.execute("BEGIN")
    try:
        batch = pa.table({  # noqa: F841 - read by DuckDB below
            "kind": [r["kind"] for r in new], "task_id": [r["task_id"] for r in new], "uscc": [r["uscc"] for r in new],
            "department": [r["department"] for r in new],
            "detail": [json.dumps({"rule": r["rule"], **r["detail"]}, ensure_ascii=False, sort_keys=True) for r in new]})
        store.con.register("_followups_batch", batch)
        try:
            store.execute("INSERT INTO followups SELECT kind, task_id, uscc, department, detail::JSON, ?::DATE "
                          "FROM _followups_batch", [today])
        finally:
            store.con.unregister("_followups_batch")
        counts: dict[str, int] = {}
        for row in new:
            counts[row["kind"]] = counts.get(row["kind"], 0) + 1
        Ledger(store).append("followup.raised", "followup", {
            "counts": counts, "raised": [[r["kind"], r["task_id"], r["uscc"], r["department"]] for r in new],
            "sha256": followup_digest([(r["kind"], r["task_id"], r["uscc"], r["department"],
                                        {"rule": r["rule"], **r["detail"]}, today) for r in new])})
        store.con.execute("COMMIT")
    except BaseException:
        store.con.execute("ROLLBACK")
        raise
    return new


def followup_digest(rows: Iterable[tuple[str, str, str, str, Any, Any]]) -> str:
    """SHA-256 over follow-up rows ``(kind, task_id, uscc, department, detail, raised_on)``: each as canonical
    JSON (sorted keys, no whitespace), lines sorted and joined by ``\n``. The audit recomputes it from ``followups``."""
    lines = sorted(json.dumps([k, t, u, d, json.loads(json.dumps(detail, default=str)), str(on)], ensure_ascii=False,
                              sort_keys=True, separators=(",", ":")) for k, t, u, d, detail, on in rows)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def flagged_targets(store: Store) -> list[str]:
    """USCCs flagged for the next directed task (D-class targets with problems), sorted."""
    return [u for (u,) in store.execute(
        "SELECT DISTINCT uscc FROM followups WHERE kind = 'directed' ORDER BY uscc").fetchall()]
