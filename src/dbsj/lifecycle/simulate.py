"""A simulated inspection year after the draw: for demos, trials and benchmarks.

Everything is derived from SHA-256 of (seed, task, target): no ``random``, the same store and seed give the
same results, publications and ledger payloads. Results go through the real API (:func:`dbsj.record_results`,
:func:`dbsj.publish`), so every check applies: each department's items of a visit are recorded by an inspector
of that department assigned to the target (谁检查、谁录入), dates lie between the draw and the clock.

The year is run in half-monthly rounds: inspections are recorded on the 15th and at the month's end and
published some working days later; a deterministic share of targets is inspected but left for a later round (so its
publication is late), a share is not inspected at all, and a share of results finds problems.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from dbsj import clock
from dbsj.lifecycle._context import CURRENT_DRAWS, load_tasks
from dbsj.lifecycle.calendar import WorkdayCalendar
from dbsj.lifecycle.publication import publish
from dbsj.lifecycle.results import checking_department, item_owners, record_results
from dbsj.models.results import Result
from dbsj.models.vocab import Disposition, ResultCode
from dbsj.store.store import Store

__all__ = ["simulate_lifecycle"]

# (share in 1/1000, code, disposition): most find nothing; problems and status codes as met in practice.
_OUTCOMES: tuple[tuple[int, ResultCode, Disposition], ...] = (
    (760, ResultCode.NO_PROBLEM, Disposition.NONE),
    (50, ResultCode.NO_ACTIVITY, Disposition.ROUTINE),
    (60, ResultCode.NOT_PUBLICISED, Disposition.RECTIFY),
    (40, ResultCode.CORRECTED, Disposition.ROUTINE),
    (15, ResultCode.FALSE_PUBLICITY, Disposition.CASE),
    (25, ResultCode.UNREACHABLE, Disposition.ROUTINE),
    (5, ResultCode.OBSTRUCTION, Disposition.CASE),
    (10, ResultCode.OTHER_DEPARTMENT_VIOLATION, Disposition.NOTIFY),
    (20, ResultCode.CLOSED, Disposition.NONE),
    (10, ResultCode.DEREGISTERED, Disposition.NONE),
    (5, ResultCode.REVOKED, Disposition.NONE),
)


def _draw(seed: str, *parts: str) -> int:
    """A number in [0, 2**64) from SHA-256 over the length-prefixed parts."""
    h = hashlib.sha256()
    for p in (seed, *parts):
        b = p.encode("utf-8")
        h.update(len(b).to_bytes(8, "big") + b)
    return int.from_bytes(h.digest()[:8], "big")


def _outcome(n: int) -> tuple[ResultCode, Disposition]:
    n %= 1000
    for share, code, disp in _OUTCOMES:
        if n < share:
            return code, disp
        n -= share
    return ResultCode.NO_PROBLEM, Disposition.NONE


def simulate_lifecycle(store: Store, out_dir: str | Path, *, seed: str = "dbsj-demo", until: dt.date | None = None,
                       skip_share: float = 0.04, late_share: float = 0.08, publish_after: int = 5,
                       plugins: Any = None) -> dict[str, Any]:
    """Simulate inspections, results and publications of every drawn task up to ``until`` (default: today).

    :param skip_share: share of drawn targets never inspected (plan completion below 100%).
    :param late_share: share of inspected targets recorded a round late (published after the deadline).
    :param publish_after: working days after each round when it is published.
    :return: counts: visits (task, target), records (one per department of a visit), result entries,
        publication batches and entries, rounds.

    The clock is stepped through the rounds and restored afterwards.
    """
    until = until or clock.today()
    tasks = load_tasks(store)
    # One row per (task, target, department seated on its team): that department's first inspector records.
    rows = store.execute(f"""
        WITH cd AS ({CURRENT_DRAWS})
        SELECT s.task_id, s.uscc, cd.created_at, d.run_id, a.department, min(a.staff_id) AS staff
        FROM selections s JOIN cd ON cd.draw_id = s.draw_id AND cd.task_id = s.task_id
        JOIN draws d ON d.draw_id = cd.draw_id
        JOIN assignments a ON a.draw_id = s.draw_id AND a.task_id = s.task_id AND a.uscc = s.uscc
        GROUP BY ALL ORDER BY s.task_id, s.uscc, a.department""").fetchall()
    already = {(t, u) for t, u in store.execute("SELECT DISTINCT task_id, uscc FROM results").fetchall()}
    cal = WorkdayCalendar(plugins, store)
    owners: dict[str | None, dict[str, str]] = {}
    rounds: dict[dt.date, list[Result]] = {}
    for task_id, uscc, drawn_at, run_id, department, staff in rows:
        info = tasks.get(task_id)
        if info is None or (task_id, uscc) in already:
            continue
        if run_id not in owners:
            owners[run_id] = item_owners(store, run_id)
        own = [i for i in info.task.items
               if i in owners[run_id] and checking_department(info.task, owners[run_id][i]) == department]
        if not own:
            continue
        n = _draw(seed, task_id, uscc)
        if (n % 10_000) < skip_share * 10_000:
            continue
        drawn_on = (drawn_at.astimezone(clock.BEIJING) if drawn_at.tzinfo else drawn_at).date()
        first = max(drawn_on + dt.timedelta(days=1), info.task.start)
        last = min(info.task.end, until)
        if last < first:
            continue
        # the visit's day and round depend on (task, target) only: every department records the same visit
        day = first + dt.timedelta(days=(n >> 16) % ((last - first).days + 1))
        while not cal.is_workday(day) and day < last:
            day += dt.timedelta(days=1)
        items = {}
        for item in own:
            code, disp = _outcome(_draw(seed, task_id, uscc, item))
            items[item] = code
        worst = max((_outcome(_draw(seed, task_id, uscc, i))[1] for i in own),
                    key=lambda d: list(Disposition).index(d))
        result = Result(task_id=task_id, uscc=uscc, staff_id=staff, items=items, disposition=worst, inspected_on=day)
        month_end = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        record_on = min(day.replace(day=15) if day.day <= 15 else month_end, until)
        if ((n >> 32) % 10_000) < late_share * 10_000:
            # left for a later round: published late; every other one only entered at the year's end (overdue)
            record_on = until if (n >> 48) % 2 == 0 else min(record_on + dt.timedelta(days=45), until)
        rounds.setdefault(record_on, []).append(result)
    # One timeline of actions (record a round at 18:00, publish it some working days later at 10:00), in time order.
    timeline: list[tuple[dt.datetime, str, dt.date]] = []
    for record_on in sorted(rounds):
        timeline.append((dt.datetime(record_on.year, record_on.month, record_on.day, 18, 0, tzinfo=clock.BEIJING),
                         "record", record_on))
        publish_on = cal.add_workdays(record_on, publish_after)
        if publish_on <= until:  # rounds recorded at the very end stay unpublished (pending, or overdue: alerts)
            timeline.append((dt.datetime(publish_on.year, publish_on.month, publish_on.day, 10, 0,
                                         tzinfo=clock.BEIJING), "publish", record_on))
    saved = clock._fixed
    visits = records = entries = batches = published = 0
    try:
        for when, action, record_on in sorted(timeline):
            clock.set_now(when)
            if action == "record":
                recs = record_results(store, rounds[record_on], source=f"simulated:{record_on.isoformat()}")
                records += len(recs)
                visits += len({(r.task_id, r.uscc) for r in recs})
                entries += sum(len(r.entry_nos) for r in recs)
            else:
                for b in publish(store, out_dir, plugins=plugins):
                    batches += 1
                    published += b.entries
    finally:
        clock.set_now(saved)
    return {"visits": visits, "records": records, "entries": entries, "rounds": len(rounds), "batches": batches,
            "published_entries": published}
