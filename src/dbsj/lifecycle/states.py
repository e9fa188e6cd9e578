"""Task lifecycle: planned → targets drawn → inspectors assigned → in progress → results entered → reviewed →
published → closed.

A task moves one state at a time, only when the store shows the step is done (a current draw with
selections, assignments, results for every drawn target, every result published). Each transition is a
row in ``task_events`` and an entry on the ledger (kind ``task.state``). Steps the data proves are taken
by :func:`sync_task_states`; review and closure are decisions someone takes (:func:`advance_task`).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from dbsj.errors import InputError
from dbsj.lifecycle._context import CURRENT_DRAWS, load_tasks
from dbsj.store.ledger import Ledger
from dbsj.store.store import Store

__all__ = ["TaskState", "TASK_STATE_LABELS", "task_state", "advance_task", "sync_task_states", "task_status"]


class TaskState(StrEnum):
    """States of an inspection task, in order."""

    PLANNED = "planned"
    DRAWN = "drawn"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESULTS_ENTERED = "results_entered"
    REVIEWED = "reviewed"
    PUBLISHED = "published"
    CLOSED = "closed"


TASK_STATE_LABELS: dict[str, tuple[str, str]] = {
    "planned": ("已计划", "planned"),
    "drawn": ("已抽取检查对象", "targets drawn"),
    "assigned": ("已分配检查人员", "inspectors assigned"),
    "in_progress": ("检查中", "in progress"),
    "results_entered": ("结果已录入", "results entered"),
    "reviewed": ("已审核", "reviewed"),
    "published": ("已公示", "published"),
    "closed": ("已办结", "closed"),
}

_ORDER = list(TaskState)
#: States a person decides; the others follow from the data.
_DECIDED = {TaskState.REVIEWED, TaskState.CLOSED}


_FACT_KEYS = ("selected", "assigned", "with_results", "selected_with_results", "results", "published")


def _all_facts(store: Store, task_ids: list[str]) -> dict[str, dict[str, int]]:
    """Counts the state checks need, for many tasks in one grouped query.

    Standing result = the latest entry per (target, item); corrections never add new (target, item) pairs.
    """
    rows = store.execute(f"""
        WITH cd AS ({CURRENT_DRAWS}),
        wanted AS (SELECT unnest(?::VARCHAR[]) AS task_id),
        sel AS (SELECT DISTINCT s.task_id, s.uscc FROM selections s
                JOIN cd ON cd.draw_id = s.draw_id AND cd.task_id = s.task_id WHERE s.task_id IN (SELECT task_id FROM wanted)),
        asg AS (SELECT a.task_id, count(DISTINCT a.uscc) AS n FROM assignments a
                JOIN cd ON cd.draw_id = a.draw_id AND cd.task_id = a.task_id
                WHERE a.task_id IN (SELECT task_id FROM wanted) GROUP BY 1),
        standing AS (SELECT task_id, uscc, max(entry_no) AS entry_no FROM results
                     WHERE task_id IN (SELECT task_id FROM wanted) GROUP BY task_id, uscc, item_code),
        st AS (SELECT task_id, count(DISTINCT uscc) AS with_results, count(*) AS results,
                      count(*) FILTER (entry_no IN (SELECT entry_no FROM publication_entries)) AS published
               FROM standing GROUP BY 1),
        sl AS (SELECT sel.task_id, count(*) AS selected,
                      count(*) FILTER (EXISTS (SELECT 1 FROM standing x WHERE x.task_id = sel.task_id
                                                 AND x.uscc = sel.uscc)) AS selected_with_results
               FROM sel GROUP BY 1)
        SELECT w.task_id, coalesce(sl.selected, 0), coalesce(asg.n, 0), coalesce(st.with_results, 0),
               coalesce(sl.selected_with_results, 0), coalesce(st.results, 0), coalesce(st.published, 0)
        FROM wanted w LEFT JOIN sl USING (task_id) LEFT JOIN asg USING (task_id) LEFT JOIN st USING (task_id)
    """, [list(task_ids)]).fetchall()
    return {t: dict(zip(_FACT_KEYS, (int(v) for v in vals), strict=True)) for t, *vals in rows}


def _facts(store: Store, task_id: str) -> dict[str, int]:
    return _all_facts(store, [task_id])[task_id]


def _ready(state: TaskState, f: dict[str, int]) -> tuple[bool, str, str]:
    """Whether the data allows entering ``state``; if not, why (zh, en)."""
    if state == TaskState.DRAWN and f["selected"] == 0:
        return False, "尚无抽取结果", "no targets drawn yet"
    if state == TaskState.ASSIGNED and f["assigned"] == 0:
        return False, "尚未分配检查人员", "no inspectors assigned yet"
    if state == TaskState.RESULTS_ENTERED and (f["selected"] == 0 or f["selected_with_results"] < f["selected"]):
        missing = f["selected"] - f["selected_with_results"]
        return False, f"还有 {missing} 户检查对象未录入结果", f"{missing} drawn targets have no result yet"
    if state == TaskState.PUBLISHED and (f["results"] == 0 or f["published"] < f["results"]):
        return False, f"还有 {f['results'] - f['published']} 条结果未公示", f"{f['results'] - f['published']} results not yet published"
    return True, "", ""


def task_state(store: Store, task_id: str) -> TaskState:
    """The task's current state (its last recorded transition; ``planned`` when none)."""
    row = store.execute("SELECT to_state FROM task_events WHERE task_id = ? ORDER BY ledger_seq DESC LIMIT 1",
                        [task_id]).fetchone()
    if row:
        return TaskState(row[0])
    if task_id not in load_tasks(store):
        raise InputError(f"存储中没有任务 {task_id}（先抽取该任务所在的计划）",
                         f"no task {task_id} in the store (draw its plan first)", where=f"task {task_id}")
    return TaskState.PLANNED


def _record(store: Store, task_id: str, old: TaskState, new: TaskState, actor: str | None, note: str | None) -> None:
    tasks = load_tasks(store)
    plan_id = tasks[task_id].plan_id if task_id in tasks else None
    entry = Ledger(store).append("task.state", task_id, {"task_id": task_id, "plan_id": plan_id, "from": old.value,
                                                         "to": new.value, "actor": actor, "note": note})
    store.execute("INSERT INTO task_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  [task_id, plan_id, old.value, new.value, actor, note, entry.recorded_at, entry.seq])


def advance_task(store: Store, task_id: str, to: TaskState | str, *, actor: str | None = None,
                 note: str | None = None) -> TaskState:
    """Move a task to the next state ``to`` (e.g. ``reviewed`` or ``closed``), checked and recorded on the ledger.

    Data-driven steps before ``to`` are taken first (:func:`sync_task_states`). Skipping a state, going
    back, or entering a state the data does not support raises :class:`~dbsj.InputError` and writes nothing.
    """
    try:
        target = TaskState(to)
    except ValueError:
        raise InputError(f"未知的任务状态 {to!r}，可选: {', '.join(s.value for s in TaskState)}",
                         f"unknown task state {to!r}; choose one of: {', '.join(s.value for s in TaskState)}") from None
    current = sync_task_states(store, [task_id])[task_id]
    if current == target:
        return current
    nxt = _ORDER.index(current) + 1
    if nxt >= len(_ORDER) or _ORDER[nxt] != target:
        zh, en = TASK_STATE_LABELS[current.value]
        raise InputError(f"任务 {task_id} 当前为“{zh}”，不能转为 {target.value}",
                         f"task {task_id} is '{en}'; it cannot move to {target.value}", where=f"task {task_id}",
                         hint_zh=f"下一状态应为 {_ORDER[nxt].value}" if nxt < len(_ORDER) else "任务已办结",
                         hint_en=f"the next state is {_ORDER[nxt].value}" if nxt < len(_ORDER) else "the task is closed")
    ok, why_zh, why_en = _ready(target, _facts(store, task_id))
    if not ok:
        raise InputError(f"任务 {task_id} 不能转为 {target.value}: {why_zh}",
                         f"task {task_id} cannot move to {target.value}: {why_en}", where=f"task {task_id}")
    _record(store, task_id, current, target, actor, note)
    sync_task_states(store, [task_id])
    return task_state(store, task_id)


def sync_task_states(store: Store, task_ids: list[str] | None = None) -> dict[str, TaskState]:
    """Take every step the data proves (drawn, assigned, in progress, results entered, published after review),
    recording each on the ledger; return each task's state. ``None``: every task in the store."""
    if task_ids is None:
        task_ids = sorted(load_tasks(store))
    out: dict[str, TaskState] = {}
    all_facts = _all_facts(store, task_ids)
    for task_id in task_ids:
        state = task_state(store, task_id)
        facts = all_facts[task_id]
        while state != TaskState.CLOSED:
            nxt = _ORDER[_ORDER.index(state) + 1]
            if nxt in _DECIDED:
                break
            if nxt == TaskState.IN_PROGRESS and facts["with_results"] == 0:
                break
            if not _ready(nxt, facts)[0]:
                break
            _record(store, task_id, state, nxt, "dbsj", None)
            state = nxt
        out[task_id] = state
    return out


def task_status(store: Store, *, sync: bool = True) -> list[dict[str, Any]]:
    """One row per task: plan, name, state (code and labels), counts, overdue results. Sorted by task id."""
    from dbsj.lifecycle.publication import due_results

    tasks = load_tasks(store)
    states = sync_task_states(store) if sync else {t: task_state(store, t) for t in sorted(tasks)}
    overdue: dict[str, int] = {}
    for r in due_results(store):
        if r["overdue"]:
            overdue[r["task_id"]] = overdue.get(r["task_id"], 0) + 1
    out = []
    all_facts = _all_facts(store, sorted(tasks))
    for task_id in sorted(tasks):
        info, f = tasks[task_id], all_facts[task_id]
        zh, en = TASK_STATE_LABELS[states[task_id].value]
        out.append({"task_id": task_id, "plan_id": info.plan_id, "name": info.task.name, "state": states[task_id].value,
                    "state_zh": zh, "state_en": en, "selected": f["selected"], "assigned": f["assigned"],
                    "with_results": f["selected_with_results"], "results": f["results"], "published": f["published"],
                    "overdue": overdue.get(task_id, 0)})
    return out


