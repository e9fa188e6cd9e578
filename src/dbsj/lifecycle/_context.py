"""What the lifecycle reads from other parts of the store: plan snapshots, current draws, current results."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, NamedTuple

from dbsj.clock import BEIJING
from dbsj.models.plans import Plan, Task
from dbsj.store.store import Store

__all__: list[str] = []  # internal to the lifecycle and assessment

#: The draw each task currently stands on: its latest attempt whose status is ``drawn`` (and whose run, if
#: any, is drawn too). Failed, superseded, merely committed attempts — or any status a later version adds —
#: carry no selection a result may refer to.
CURRENT_DRAWS = """
SELECT d.task_id, d.draw_id, d.plan_id, d.created_at FROM draws d
WHERE d.status = 'drawn'
  AND NOT EXISTS (SELECT 1 FROM draw_runs r WHERE r.run_id = d.run_id AND r.status <> 'drawn')
QUALIFY row_number() OVER (PARTITION BY d.task_id ORDER BY d.attempt DESC, d.created_at DESC, d.draw_id DESC) = 1
"""

#: When each current draw happened: its run's reveal (commit-then-reveal) or, one-shot, its creation.
_DRAWN_AT = f"""
SELECT cd.task_id, cd.draw_id, cd.plan_id, coalesce(r.revealed_at, cd.created_at) AS drawn_at
FROM ({CURRENT_DRAWS}) cd LEFT JOIN draw_runs r ON r.run_id = (SELECT d.run_id FROM draws d WHERE d.draw_id = cd.draw_id)
"""

#: The standing result per (task, target, item): its latest entry (corrections supersede, never overwrite).
CURRENT_RESULTS = """
SELECT * FROM results
QUALIFY row_number() OVER (PARTITION BY task_id, uscc, item_code ORDER BY entry_no DESC) = 1
"""


class TaskInfo(NamedTuple):
    plan_id: str
    plan: Plan
    task: Task


def load_tasks(store: Store) -> dict[str, TaskInfo]:
    """Every task of every plan snapshot in the store, by task id (ids are unique per store)."""
    out: dict[str, TaskInfo] = {}
    for plan_id, body in store.execute("SELECT plan_id, body FROM plans ORDER BY plan_id").fetchall():
        plan = Plan.model_validate(json.loads(body) if isinstance(body, str) else body)
        for task in plan.tasks:
            out[task.id] = TaskInfo(plan_id, plan, task)
    return out


def current_draws(store: Store) -> dict[str, tuple[str, str, dt.date]]:
    """task id -> (draw id, plan id, Beijing date the draw was made: revealed, or created when one-shot)."""
    rows = store.execute(_DRAWN_AT).fetchall()
    return {t: (d, p, _beijing_date(at)) for t, d, p, at in rows}


def _beijing_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return (value.astimezone(BEIJING) if value.tzinfo else value).date()
    return value


def deadline_days() -> int:
    """Working days allowed to publish a result: the rule ``publication.deadline`` (default 20)."""
    try:
        import dbsj

        fn = getattr(dbsj, "publication_deadline_days", None)
        if fn is not None:
            return int(fn())
    except (TypeError, ImportError):
        pass
    return 20


#: County-level cities directly under the autonomous region (GB/T 2260 6590xx): they stand alone as prefectures.
COUNTY_LEVEL_CITIES: dict[str, str] = {
    "659001": "石河子市", "659002": "阿拉尔市", "659003": "图木舒克市", "659004": "五家渠市", "659005": "北屯市",
    "659006": "铁门关市", "659007": "双河市", "659008": "可克达拉市", "659009": "昆玉市", "659010": "胡杨河市",
    "659011": "新星市", "659012": "白杨市",
}


def prefecture_name(code: str) -> str:
    """The Chinese name of a prefecture code (Xinjiang's 14 regions and its county-level cities), else the code."""
    from dbsj.models.vocab import XINJIANG_PREFECTURES

    return XINJIANG_PREFECTURES.get(code) or COUNTY_LEVEL_CITIES.get(code) or code

