"""督查考评: how each department and prefecture did, in SQL over the store.

Measures (each a share in [0, 1], ``None`` when there is nothing to measure):

- ``completion`` 计划完成率: drawn targets with a result / drawn targets (current draws of the tasks);
- ``on_time`` 按时公示率: results published by their deadline / results published or already overdue;
- ``joint_share`` 联合抽查占比: joint tasks / tasks (per prefecture: drawn targets of joint tasks / drawn targets);
- ``credit_linked_share`` 信用关联占比: tasks whose sampling is credit-linked (``Sampling.credit_linked`` in the
  stored plan snapshot) / tasks (per prefecture: by drawn targets);
- ``detection_rate`` 问题检出率: inspected targets with a problem found in operation / inspected targets;
  status codes (注销, 被吊销 …: :data:`dbsj.STATUS_CODES`) are counted apart as ``status_rate``;
- ``workload`` 人员任务量: visits per inspector — min, max, mean, standard deviation and coefficient of
  variation (``cv``, lower is more even).

A department takes part in a task as its sponsor or a partner; a prefecture is the drawn target's
(region code's first four digits + ``00``; ``6590xx`` stand alone).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from dbsj import clock
from dbsj.lifecycle._context import CURRENT_DRAWS, CURRENT_RESULTS, load_tasks, prefecture_name
from dbsj.lifecycle.publication import due_results
from dbsj.models.regions import prefecture_sql
from dbsj.models.vocab import PROBLEM_CODES, STATUS_CODES
from dbsj.store.store import Store

__all__ = ["assess", "ASSESSMENT_LABELS"]


ASSESSMENT_LABELS: dict[str, tuple[str, str]] = {
    "tasks": ("任务数", "tasks"),
    "drawn": ("抽取对象数", "targets drawn"),
    "inspected": ("已检查对象数", "targets inspected"),
    "completion": ("计划完成率", "plan completion"),
    "on_time": ("按时公示率", "on-time publication"),
    "joint_share": ("联合抽查占比", "joint-task share"),
    "credit_linked_share": ("信用关联占比", "credit-linked share"),
    "detection_rate": ("问题检出率", "problem detection rate"),
    "status_rate": ("状态异常率", "status-code rate"),
    "inspectors": ("检查人员数", "inspectors"),
    "workload_cv": ("任务量离散系数", "workload spread (CV)"),
}


def _share(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def _tables(store: Store) -> None:
    tasks = load_tasks(store)
    ids = sorted(tasks)
    store.con.register("_lc_tasks", pa.table({
        "task_id": ids,
        "plan_id": [tasks[t].plan_id for t in ids],
        "name": [tasks[t].task.name for t in ids],
        "departments": [list(tasks[t].task.departments) for t in ids],
        "joint": [tasks[t].task.joint for t in ids],
        "credit_linked": [tasks[t].task.sampling.credit_linked for t in ids],
    }, schema=pa.schema([("task_id", pa.string()), ("plan_id", pa.string()), ("name", pa.string()),
                         ("departments", pa.list_(pa.string())), ("joint", pa.bool_()), ("credit_linked", pa.bool_())])))
    due = due_results(store)
    store.con.register("_lc_due", pa.table({
        "entry_no": [r["entry_no"] for r in due],
        "task_id": [r["task_id"] for r in due],
        "uscc": [r["uscc"] for r in due],
        "due": [r["due"] for r in due],
        "published_on": [r["published_on"] for r in due],
        "overdue": [r["overdue"] for r in due],
    }, schema=pa.schema([("entry_no", pa.int64()), ("task_id", pa.string()), ("uscc", pa.string()),
                         ("due", pa.date32()), ("published_on", pa.date32()), ("overdue", pa.bool_())])))


def _base_sql() -> str:
    problems = ", ".join(f"'{c}'" for c in sorted(PROBLEM_CODES - STATUS_CODES))
    statuses = ", ".join(f"'{c}'" for c in sorted(STATUS_CODES))
    return f"""
    WITH cd AS ({CURRENT_DRAWS}),
    sel AS (
        SELECT DISTINCT s.task_id, s.uscc, coalesce({prefecture_sql('t.region')}, '') AS prefecture
        FROM selections s JOIN cd ON cd.draw_id = s.draw_id AND cd.task_id = s.task_id
        LEFT JOIN targets t ON t.uscc = s.uscc),
    res AS (
        SELECT task_id, uscc, bool_or(result_code IN ({problems})) AS problem,
               bool_or(result_code IN ({statuses})) AS status
        FROM ({CURRENT_RESULTS}) GROUP BY task_id, uscc),
    pairs AS (
        SELECT sel.*, lt.departments, lt.joint, lt.credit_linked, res.uscc IS NOT NULL AS inspected,
               coalesce(res.problem, FALSE) AS problem, coalesce(res.status, FALSE) AS status
        FROM sel JOIN _lc_tasks lt USING (task_id) LEFT JOIN res USING (task_id, uscc)),
    pub AS (
        SELECT d.*, sel.prefecture, lt.departments FROM _lc_due d JOIN _lc_tasks lt USING (task_id)
        LEFT JOIN sel USING (task_id, uscc)),
    work AS (
        SELECT a.staff_id, a.department, a.task_id, a.uscc, sel.prefecture
        FROM assignments a JOIN cd ON cd.draw_id = a.draw_id AND cd.task_id = a.task_id
        LEFT JOIN sel ON sel.task_id = a.task_id AND sel.uscc = a.uscc)
    """


_EMPTY_WORKLOAD = {"inspectors": 0, "min": None, "max": None, "mean": None, "stdev": None, "cv": None}

#: Per dimension: (relation, key expression) for pairs, tasks, publication entries and assignments.
_DIMS: dict[str, dict[str, tuple[str, str] | None]] = {
    "overall": {"pairs": ("_a_pairs", "''"), "tasks": ("_lc_tasks", "''"), "pub": ("_a_pub", "''"),
                "work": ("_a_work", "''")},
    "department": {"pairs": ("(SELECT *, unnest(departments) AS k FROM _a_pairs)", "k"),
                   "tasks": ("(SELECT *, unnest(departments) AS k FROM _lc_tasks)", "k"),
                   "pub": ("(SELECT *, unnest(departments) AS k FROM _a_pub)", "k"),
                   "work": ("_a_work", "department")},
    "prefecture": {"pairs": ("_a_pairs", "prefecture"), "tasks": None, "pub": ("_a_pub", "prefecture"),
                   "work": ("_a_work", "prefecture")},
}


def _grouped(store: Store, dim: str) -> dict[str, dict[str, Any]]:
    """Every measure for every key of one dimension, a handful of grouped queries."""
    spec = _DIMS[dim]
    rel, key = spec["pairs"]  # type: ignore[misc]
    pairs = {k: v for k, *v in store.execute(f"""
        SELECT {key} AS k, count(*), count(*) FILTER (inspected), count(*) FILTER (problem), count(*) FILTER (status),
               count(DISTINCT task_id), count(DISTINCT task_id) FILTER (joint),
               count(DISTINCT task_id) FILTER (credit_linked), count(*) FILTER (joint), count(*) FILTER (credit_linked)
        FROM {rel} GROUP BY 1""").fetchall()}
    tasks: dict[str, tuple[int, int, int]] = {}
    if spec["tasks"] is not None:
        rel, key = spec["tasks"]
        tasks = {k: (n, j, c) for k, n, j, c in store.execute(f"""
            SELECT {key} AS k, count(*), count(*) FILTER (joint), count(*) FILTER (credit_linked)
            FROM {rel} GROUP BY 1""").fetchall()}
    rel, key = spec["pub"]  # type: ignore[misc]
    pub = {k: (m, o) for k, m, o in store.execute(f"""
        SELECT {key} AS k, count(*) FILTER (published_on IS NOT NULL OR overdue),
               count(*) FILTER (published_on IS NOT NULL AND published_on <= due)
        FROM {rel} GROUP BY 1""").fetchall()}
    rel, key = spec["work"]  # type: ignore[misc]
    work = {k: v for k, *v in store.execute(f"""
        SELECT k, count(*), min(n), max(n), avg(n), stddev_pop(n) FROM (
            SELECT {key} AS k, staff_id, count(DISTINCT (task_id, uscc)) AS n FROM {rel} GROUP BY 1, 2)
        GROUP BY k""").fetchall()}
    out: dict[str, dict[str, Any]] = {}
    for k in sorted({*pairs, *tasks, *work} - {None}):
        drawn, inspected, problem, status, n_tasks, joint, linked, joint_t, linked_t = pairs.get(k, [0] * 9)
        by_targets = spec["tasks"] is None
        if not by_targets:
            n_tasks, joint, linked = tasks.get(k, (0, 0, 0))
        measured, on_time = pub.get(k, (0, 0))
        if k in work:
            n, lo, hi, mean, sd = work[k]
            wl = {"inspectors": int(n), "min": int(lo), "max": int(hi), "mean": round(mean, 4), "stdev": round(sd, 4),
                  "cv": round(sd / mean, 4) if mean else None}
        else:
            wl = dict(_EMPTY_WORKLOAD)
        out[k] = {
            "tasks": int(n_tasks), "drawn": int(drawn), "inspected": int(inspected),
            "completion": _share(inspected, drawn),
            "published_or_due": int(measured), "on_time_count": int(on_time), "on_time": _share(on_time, measured),
            "joint_share": _share(joint_t, drawn) if by_targets else _share(joint, n_tasks),
            "credit_linked_share": _share(linked_t, drawn) if by_targets else _share(linked, n_tasks),
            "problems": int(problem), "detection_rate": _share(problem, inspected),
            "status_count": int(status), "status_rate": _share(status, inspected),
            "inspectors": wl["inspectors"], "workload": wl, "workload_cv": wl["cv"],
        }
    return out


def assess(store: Store) -> dict[str, Any]:
    """The assessment of everything in the store: ``overall``, ``departments`` (sorted by name),
    ``prefectures`` (sorted by code, with names), ``credit_ratios`` (drawn vs required per task and class),
    ``coverage`` (drawn / pool per prefecture) and ``timeliness`` (results by days to publication)."""
    _tables(store)
    base = _base_sql()
    registered = ["_lc_tasks", "_lc_due"]
    try:
        for name in ("pairs", "pub", "work"):
            store.con.register(f"_a_{name}", store.con.sql(f"{base} SELECT * FROM {name}").to_arrow_table())
            registered.append(f"_a_{name}")
        overall = _grouped(store, "overall").get("") or _grouped_empty()
        departments = [{"department": k, **v} for k, v in _grouped(store, "department").items()]
        prefectures = [{"prefecture": k, "name": prefecture_name(k), **v}
                       for k, v in _grouped(store, "prefecture").items() if k]
        return {"as_of": clock.today().isoformat(), "overall": overall, "departments": departments,
                "prefectures": prefectures, "credit_ratios": _credit_ratios(store), "coverage": _coverage(store, base),
                "timeliness": _timeliness(store)}
    finally:
        for name in registered:
            store.con.unregister(name)


def _grouped_empty() -> dict[str, Any]:
    return {"tasks": 0, "drawn": 0, "inspected": 0, "completion": None, "published_or_due": 0, "on_time_count": 0,
            "on_time": None, "joint_share": None, "credit_linked_share": None, "problems": 0, "detection_rate": None,
            "status_count": 0, "status_rate": None, "inspectors": 0, "workload": dict(_EMPTY_WORKLOAD),
            "workload_cv": None}


def _credit_ratios(store: Store) -> list[dict[str, Any]]:
    """Per credit-linked task and credit class: eligible, drawn, the drawn ratio and the ratio required."""
    tasks = load_tasks(store)
    rows = store.execute(f"""
        WITH cd AS ({CURRENT_DRAWS}),
        el AS (SELECT e.draw_id, coalesce(nullif(t.credit_class, ''), 'U') AS cls, count(*) AS n
               FROM draw_eligible e LEFT JOIN targets t ON t.uscc = e.uscc GROUP BY ALL),
        se AS (SELECT s.draw_id, coalesce(nullif(t.credit_class, ''), 'U') AS cls, count(*) AS n
               FROM selections s LEFT JOIN targets t ON t.uscc = s.uscc GROUP BY ALL)
        SELECT cd.task_id, el.cls, el.n, coalesce(se.n, 0)
        FROM cd JOIN el ON el.draw_id = cd.draw_id LEFT JOIN se ON se.draw_id = el.draw_id AND se.cls = el.cls
        ORDER BY 1, 2""").fetchall()
    out = []
    for task_id, cls, eligible, drawn in rows:
        info = tasks.get(task_id)
        if info is None or not info.task.sampling.credit_linked:
            continue
        sampling = info.task.sampling
        quota = sampling.by_class.get(cls) if cls in {c.value for c in sampling.by_class} else None
        quota = quota or sampling.quota
        out.append({"task_id": task_id, "credit_class": cls, "eligible": int(eligible), "drawn": int(drawn),
                    "ratio": _share(drawn, eligible),
                    "required_min": quota.min if quota else None, "required_max": quota.max if quota else None})
    return out


def _coverage(store: Store, base: str) -> list[dict[str, Any]]:
    rows = store.execute(f"""{base},
        pool AS (SELECT {prefecture_sql('region')} AS prefecture, count(*) AS n FROM targets WHERE active GROUP BY 1),
        drawn AS (SELECT prefecture, count(DISTINCT uscc) AS n FROM sel GROUP BY 1)
        SELECT coalesce(pool.prefecture, drawn.prefecture) AS p, coalesce(pool.n, 0), coalesce(drawn.n, 0)
        FROM pool FULL JOIN drawn USING (prefecture) WHERE coalesce(pool.prefecture, drawn.prefecture) <> ''
        ORDER BY 1""").fetchall()
    return [{"prefecture": p, "name": prefecture_name(p), "pool": int(pool), "drawn": int(drawn),
             "coverage": _share(drawn, pool)} for p, pool, drawn in rows]


def _timeliness(store: Store) -> dict[str, Any]:
    today = clock.today()
    on_time = late = pending = overdue = 0
    by_month: dict[str, list[int]] = {}
    for r in due_results(store):
        month = r["inspected_on"].strftime("%Y-%m")
        slot = by_month.setdefault(month, [0, 0, 0, 0])
        if r["published_on"] is None:
            idx = 3 if r["overdue"] else 2
        else:
            idx = 0 if r["published_on"] <= r["due"] else 1
        slot[idx] += 1
        on_time, late, pending, overdue = (on_time + (idx == 0), late + (idx == 1), pending + (idx == 2),
                                           overdue + (idx == 3))
    return {"as_of": today.isoformat(), "on_time": on_time, "late": late, "pending": pending, "overdue": overdue,
            "by_month": [{"month": m, "on_time": v[0], "late": v[1], "pending": v[2], "overdue": v[3]}
                         for m, v in sorted(by_month.items())]}
