"""Recusal-aware inspector assignment (检查人员随机匹配): one team per visit, every rule checked, fair and re-derivable.

docs/assignment.md is the manual and, in its section "Specification", the algorithm to the byte.

In short: the targets one window (same ``due``) brings to one entity, across the plan's tasks, form one
*visit* ("进一次门、查多项事"). A visit needs one inspector from every department of its tasks (sponsor and
partners), and at least ``team_min`` in all, the extra places going to the lead department (the sponsor of
the visit's first task by id).

Since ``dbsj-assign/2`` the assignment first **snapshots every input it reads** — the run's selections, its
tasks and item owners, the selected targets' office and prefecture, the local inspectors' eligibility
attributes, the history rows "last inspector" recusal reads and the plug-ins' recusal answers — into the
``assignment_input_*`` tables of the caller's transaction, and computes from that snapshot alone. The
snapshot's digest goes into the record (``inputs_sha256``) and onto the ledger, so ``dbsj verify`` and the
standalone verifier (:mod:`dbsj.verifier`, given the auditor's inspector export) re-derive a past draw
exactly, whatever results, pool edits or re-imports came after: a verifier never reads live pools.

Candidate pairs are generated and pruned set-wise in DuckDB: local inspectors (same prefecture) of the right
department, on duty, certificate valid through ``due``, items in scope, no declared conflict, not their own
beat (所所交叉), not the last inspector of the target, not excluded by a plug-in. Each surviving pair gets a
ticket — SHA-256 of a per-visit key and the staff id — and the solver (:func:`dbsj.verifier.solve_group`, the
standard-library reference the auditor runs too) fills places greedily in ticket order, then repairs with
augmenting paths so that a valid assignment is found whenever one exists.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from dbsj._failpoints import declare, failpoint
from dbsj.draw._flow import solve_group
from dbsj.errors import DrawError, InputError, PlanError, PluginError
from dbsj.models.regions import prefecture_sql
from dbsj.verifier import (
    ASSIGNMENT_ALGORITHM,
    INPUT_COLUMNS,
    RECUSAL_REASONS,
    assignment_for_task,
    encode_field,
    inputs_digest,
    shortfall_message,
)

__all__ = ["ASSIGNMENT_ALGORITHM", "ASSIGNMENT_ALGORITHMS", "RECUSAL_REASONS", "AssignmentOptions",
           "AssignmentOutcome", "assign_visits", "reassign_from_snapshot", "has_assignment_snapshot",
           "assignment_ticket", "assignment_for_task", "public_visits", "store_assignment",
           "assignment_ledger_fields"]

#: The assignment before input snapshots: same rules, tickets SHA-256 over the whole message, re-derived
#: from the live pools (so its records stop re-deriving once history or the inspector pool changes).
LEGACY_ALGORITHM = "dbsj-assign/1"
#: Every assignment algorithm dbsj re-derives; the first is the one new draws use.
ASSIGNMENT_ALGORITHMS = (ASSIGNMENT_ALGORITHM, LEGACY_ALGORITHM)

_ON_DUTY = "在岗"
_T = "_dbsj_asg_"  # prefix of the temporary tables this module creates (and drops)

TicketSource = Callable[[pa.Table], "list[str]"]

_AFTER_SNAPSHOT = declare("assign.after-snapshot", "the run's assignment inputs snapshot is written, not yet committed")

#: The snapshot tables (migration m006), one per part of the inputs, with their columns.
SNAPSHOT_TABLES = {part: f"assignment_input_{part}" for part in INPUT_COLUMNS}


@attrs.frozen(slots=True)
class AssignmentOptions:
    """Parameters of an assignment. All are recorded in the ``assignment`` section.

    :param team_min: the smallest team (行政处罚法: at least two law-enforcement officers).
    :param workload_cap: the most visits one inspector may take in this assignment; ``None`` spreads work
        evenly: per prefecture and department the cap starts at ``ceil(places / inspectors with a candidate
        pair)`` and rises only as far as needed to fill every place that can be filled at all.
    :param cross_beat: 所所交叉 — nobody inspects their own beat (inspector ``beat`` = target ``office``).
    :param last_inspector_recusal: the inspectors of a target's most recent inspection are recused.
    """

    team_min: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    workload_cap: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.ge(1)))
    cross_beat: bool = True
    last_inspector_recusal: bool = True

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "assignment parameters") -> "AssignmentOptions":
        """Options from a section's ``parameters`` (``caps`` ignored); malformed values are an :class:`InputError`."""
        if not isinstance(data, dict):
            raise InputError("分配参数应为对象", "assignment parameters must be an object", where=where)
        team_min, cap = data.get("team_min", 2), data.get("workload_cap")
        flags = [data.get("cross_beat", True), data.get("last_inspector_recusal", True)]
        if (type(team_min) is not int or team_min < 1 or (cap is not None and (type(cap) is not int or cap < 1))
                or any(type(f) is not bool for f in flags)):
            raise InputError(f"分配参数无效: {json.dumps(data, ensure_ascii=False, default=str)[:200]}",
                             f"invalid assignment parameters: {json.dumps(data, ensure_ascii=False, default=str)[:200]}",
                             where=where)
        return cls(team_min=team_min, workload_cap=cap, cross_beat=flags[0], last_inspector_recusal=flags[1])


@attrs.frozen(slots=True)
class AssignmentOutcome:
    """What :func:`assign_visits` found.

    :ivar assignments: one row per (visit, task, inspector): ``visit_id, task_id, uscc, staff_id, department,
        due``, sorted by due, target, task, department, inspector. Visits that could not be staffed in full
        have no rows (they are in ``shortfalls``).
    :ivar exclusions: reason → number of exclusion rows (see :data:`RECUSAL_REASONS`).
    :ivar exclusion_rows: ``staff_id, uscc, reason``; ``uscc`` is null for ``not_on_duty`` (one row per
        inspector), otherwise one row per excluded inspector–target pair under its first reason.
    :ivar shortfalls: one entry per prefecture × department that could not be staffed (docs/assignment.md).
    :ivar section: the canonical, JSON-ready ``assignment`` section of the run (every visit; a task's record
        holds :func:`assignment_for_task` of it).
    :ivar inputs_sha256: the digest of the inputs snapshot (``None`` for ``dbsj-assign/1``); ``inputs_parts``
        the digest of each part.
    """

    assignments: pa.Table
    exclusions: dict[str, int]
    exclusion_rows: pa.Table
    shortfalls: list[dict[str, Any]]
    section: dict[str, Any]
    stats: dict[str, Any] = attrs.field(factory=dict, eq=False)
    run_id: str | None = None
    inputs_sha256: str | None = None
    inputs_parts: dict[str, str] | None = None

    @property
    def complete(self) -> bool:
        """True when every visit got its full team."""
        return not self.shortfalls


# -- tickets -------------------------------------------------------------------------------------------


def _legacy_message(seed: str, visit_id: str, uscc: str, staff_id: str) -> bytes:
    return b"".join(encode_field(v) for v in (LEGACY_ALGORITHM, seed, visit_id, uscc, staff_id))


def assignment_ticket(seed: str, visit_id: str, uscc: str, staff_id: str,
                      algorithm: str = ASSIGNMENT_ALGORITHM) -> str:
    """The ticket of one inspector for one visit, as lowercase hex; smaller tickets are tried first.

    ``dbsj-assign/2``: 16 hex digits, the first 8 bytes of ``SHA-256(K ‖ staff id)`` with the visit's key
    ``K = SHA-256(field(algorithm) ‖ field(seed) ‖ field(visit id) ‖ field(target id))``.
    ``dbsj-assign/1``: 64 hex digits, SHA-256 over the five length-prefixed fields.
    """
    if algorithm == LEGACY_ALGORITHM:
        return hashlib.sha256(_legacy_message(seed, visit_id, uscc, staff_id)).hexdigest()
    if algorithm != ASSIGNMENT_ALGORITHM:
        raise InputError(f"未知的分配算法 {algorithm!r}", f"unknown assignment algorithm {algorithm!r}")
    key = hashlib.sha256(b"".join(encode_field(v) for v in (algorithm, seed, visit_id, uscc))).digest()
    return hashlib.sha256(key + staff_id.encode("utf-8")).hexdigest()[:16]


# -- public entry points ------------------------------------------------------------------------------


def assign_visits(store: Any, *, plan: Any, draw_id: str, selections: pa.Table, seed: str,
                  options: AssignmentOptions | None = None) -> AssignmentOutcome:
    """Snapshot every input of an assignment, then assign a team of inspectors to every visit from it.

    :param store: an open :class:`dbsj.Store` holding the ``targets``, ``inspectors``, ``items`` and
        ``history`` pools (only active rows count).
    :param plan: the :class:`dbsj.Plan` the selections come from (departments and items per task).
    :param draw_id: the run this assignment belongs to (the draw's run id): the snapshot's key.
    :param selections: an Arrow table with columns ``task_id``, ``uscc``, ``due`` (date): the drawn targets.
    :param seed: the draw's seed value; with the visit and inspector it makes each candidate's ticket.
    :param options: :class:`AssignmentOptions` (defaults: team of 2, even workload, 所所交叉, last-inspector recusal).
    :return: an :class:`AssignmentOutcome`. The inputs snapshot is written to the ``assignment_input_*``
        tables inside the caller's transaction (one of its own when there is none); the ``assignments``
        table is the caller's (:func:`store_assignment`).
    :raises InputError: malformed selections (missing columns, nulls, duplicates, unknown targets).
    :raises PlanError: a selected task is not in the plan, or a task's item is not on the item list.
    :raises PluginError: a ``dbsj_recusal`` plug-in broke its contract (names the plug-in).
    :raises DrawError: the run already has a snapshot bound to drawn records.
    """
    return _assign(store, plan=plan, draw_id=draw_id, selections=selections, seed=seed,
                   options=options or AssignmentOptions())


def has_assignment_snapshot(store: Any, run_id: str) -> bool:
    """Whether ``run_id``'s assignment inputs were snapshotted (``dbsj-assign/2``; older runs have none)."""
    return bool(store.execute("SELECT count(*) FROM assignment_inputs WHERE run_id = ?", [run_id]).fetchall()[0][0])


def reassign_from_snapshot(store: Any, run_id: str, selections: pa.Table, seed: str,
                           options: AssignmentOptions | None = None) -> AssignmentOutcome:
    """Re-derive a past run's assignment from its inputs snapshot alone — never from the live pools.

    :param selections: the run's selections (``task_id, uscc, due``) as the verifier re-derived them; they
        replace the snapshot's own selection rows, so a changed snapshot shows as a different ``inputs_sha256``.
    :param options: ``None`` takes the options stored with the snapshot.
    :raises InputError: the run has no snapshot (an older store: see :func:`has_assignment_snapshot`), or a
        selected target is not in it.
    """
    row = store.execute("SELECT algorithm, options FROM assignment_inputs WHERE run_id = ?", [run_id]).fetchall()
    if not row:
        raise InputError(f"批次 {run_id} 没有分配输入快照（早于 {ASSIGNMENT_ALGORITHM} 的存储）",
                         f"run {run_id} has no assignment inputs snapshot (a store from before {ASSIGNMENT_ALGORITHM})",
                         where=f"run {run_id}")
    algorithm, stored = row[0]
    opts = options or AssignmentOptions.from_dict(json.loads(stored), where=f"run {run_id}")
    return _assign(store, plan=None, draw_id=run_id, selections=selections, seed=seed, options=opts,
                   algorithm=algorithm, source="snapshot")


def public_visits(section: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The visits of an ``assignment`` section as a public record shows them: departments and due dates, never
    staff ids (``visit_id``, ``uscc``, ``due``, ``tasks``, ``departments``)."""
    if section is None:
        return None
    out = []
    for v in section.get("visits", []):
        departments = v.get("departments")
        if departments is None:  # dbsj-assign/1 sections list departments only through the team
            departments = sorted({m["department"] for m in v.get("team", [])})
        out.append({"visit_id": v["visit_id"], "uscc": v["uscc"], "due": v["due"], "tasks": list(v["tasks"]),
                    "departments": list(departments)})
    return out


def store_assignment(store: Any, outcome: AssignmentOutcome, *, plan_id: str, draw_ids: dict[str, str]) -> None:
    """Write an outcome's rows to ``assignments`` and ``assignment_exclusions`` (inside the caller's transaction).

    :param draw_ids: task id → draw id of the run. An exclusion belongs to every draw of the run that selected
        its target; a ``not_on_duty`` row to every draw of the run.
    """
    con = store.con
    names = ("_dbsj_asg_rows", "_dbsj_asg_ids", "_dbsj_asg_ex")
    con.register(names[0], outcome.assignments)
    con.register(names[1], pa.table({"task_id": pa.array(list(draw_ids), pa.string()),
                                     "draw_id": pa.array(list(draw_ids.values()), pa.string())}))
    con.register(names[2], outcome.exclusion_rows)
    try:
        con.execute("INSERT INTO assignments SELECT i.draw_id, ?, a.visit_id, a.task_id, a.uscc, a.staff_id, "
                    "a.department, a.due FROM _dbsj_asg_rows a JOIN _dbsj_asg_ids i ON i.task_id = a.task_id",
                    [plan_id])
        # two equi-joins rather than one join on (uscc IS NULL OR uscc = ...), which DuckDB can only run as a
        # nested loop: at province scale that was minutes
        con.execute("INSERT INTO assignment_exclusions "
                    "SELECT DISTINCT sel.draw_id, x.staff_id, x.uscc, x.reason "
                    "FROM _dbsj_asg_ex x JOIN selections sel ON x.uscc = sel.uscc "
                    "WHERE sel.draw_id IN (SELECT draw_id FROM _dbsj_asg_ids) "
                    "UNION ALL "
                    "SELECT DISTINCT i.draw_id, x.staff_id, x.uscc, x.reason "
                    "FROM _dbsj_asg_ex x CROSS JOIN _dbsj_asg_ids i WHERE x.uscc IS NULL")
    finally:
        for name in names:
            con.unregister(name)


def assignment_ledger_fields(outcome: AssignmentOutcome | None) -> dict[str, Any]:
    """What a ``draw.reveal`` ledger entry adds about the assignment's inputs: ``assignment_inputs_sha256``
    and the digest of each part (``assignment_inputs``), so ``dbsj audit`` can name the table that changed."""
    if outcome is None or outcome.inputs_sha256 is None:
        return {}
    return {"assignment_inputs_sha256": outcome.inputs_sha256, "assignment_inputs": dict(outcome.inputs_parts or {})}


# -- the work ------------------------------------------------------------------------------------------


class _Work:
    """Temporary tables and registered Arrow tables of one assignment, dropped at the end."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.created: list[str] = []
        self.registered: list[str] = []

    def temp(self, name: str, sql: str, params: Any = None) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {_T}{name} AS {sql}", params).fetchall()
        self.created.append(_T + name)

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(_T + name, table)
        self.registered.append(_T + name)

    def close(self) -> None:
        for name in self.registered:
            self.con.unregister(name)
        for name in reversed(self.created):
            try:
                self.con.execute(f"DROP TABLE IF EXISTS {name}").fetchall()
            except duckdb.Error:
                # an aborted transaction rolls its temporary tables back itself; the error that aborted it
                # is the one to report
                return


@contextmanager
def _work(con: Any) -> Iterator[_Work]:
    w = _Work(con)
    try:
        yield w
    finally:
        w.close()


def _assign(store: Any, *, plan: Any, draw_id: str, selections: pa.Table, seed: str, options: AssignmentOptions,
            ticket_source: TicketSource | None = None, repair: bool = True, plugins: Any = None,
            algorithm: str = ASSIGNMENT_ALGORITHM, source: str = "pools") -> AssignmentOutcome:
    """The work behind :func:`assign_visits` and :func:`reassign_from_snapshot`.

    ``source``: ``"pools"`` reads the live pools (and, for ``dbsj-assign/2``, writes the snapshot);
    ``"snapshot"`` reads the run's snapshot. ``ticket_source`` and ``repair`` are seams for tests and
    benchmarks: ``ticket_source(pairs)`` receives an Arrow table ``visit_id, uscc, staff_id`` and returns one
    ticket per row (any strings; order is by ticket, then staff id).
    """
    if not isinstance(seed, str) or not seed:
        raise InputError("分配人员需要非空的随机种子", "assignment needs a non-empty seed", where=f"draw {draw_id}")
    if algorithm not in ASSIGNMENT_ALGORITHMS:
        raise InputError(f"未知的分配算法 {algorithm!r}", f"unknown assignment algorithm {algorithm!r}",
                         where=f"draw {draw_id}")
    _check_selections(selections, draw_id)
    persist = source == "pools" and algorithm == ASSIGNMENT_ALGORITHM
    if persist and not store.in_transaction:
        with store.transaction():
            return _assign(store, plan=plan, draw_id=draw_id, selections=selections, seed=seed, options=options,
                           ticket_source=ticket_source, repair=repair, plugins=plugins, algorithm=algorithm,
                           source=source)
    con = store.con
    with _work(con) as w:
        w.register("sel_in", selections.select(["task_id", "uscc", "due"]))
        w.temp("in_selections", f"SELECT DISTINCT CAST(task_id AS VARCHAR) AS task_id, CAST(uscc AS VARCHAR) AS uscc, "
                                f"CAST(due AS DATE) AS due FROM {_T}sel_in")
        if con.execute(f"SELECT count(*) FROM {_T}in_selections").fetchall()[0][0] != selections.num_rows:
            dup = con.execute(f"SELECT task_id, uscc, due FROM {_T}sel_in GROUP BY ALL HAVING count(*) > 1 "
                              f"ORDER BY ALL LIMIT 1").fetchall()[0]
            raise InputError(f"抽取结果中有重复行: 任务 {dup[0]}、对象 {dup[1]}、期限 {dup[2]}",
                             f"duplicate selection row: task {dup[0]}, target {dup[1]}, due {dup[2]}",
                             where=f"draw {draw_id}", hint_zh="每个任务每个对象每批次只应出现一次",
                             hint_en="each (task, target, due) must appear once")
        if source == "snapshot":
            _inputs_from_snapshot(w, draw_id)
        else:
            _inputs_from_pools(w, plan, draw_id, options)
        return _compute(store, w, draw_id=draw_id, seed=seed, options=options, algorithm=algorithm,
                        ticket_source=ticket_source, repair=repair,
                        plugins=(plan, plugins) if source == "pools" else None, persist=persist)


# -- inputs --------------------------------------------------------------------------------------------


def _check_selections(selections: pa.Table, draw_id: str) -> None:
    if not isinstance(selections, pa.Table):
        raise InputError("selections 应为 pyarrow.Table", "selections must be a pyarrow.Table", where=f"draw {draw_id}")
    missing = [c for c in ("task_id", "uscc", "due") if c not in selections.column_names]
    if missing:
        raise InputError(f"抽取结果缺少列: {', '.join(missing)}", f"selections lack columns: {', '.join(missing)}",
                         where=f"draw {draw_id}", hint_zh="需要 task_id, uscc, due", hint_en="need task_id, uscc, due")
    for c in ("task_id", "uscc", "due"):
        if selections.column(c).null_count:
            raise InputError(f"抽取结果的 {c} 列有空值", f"selections column {c} has empty values", where=f"draw {draw_id}")
    if not pa.types.is_date(selections.schema.field("due").type) and not pa.types.is_timestamp(
            selections.schema.field("due").type):
        raise InputError("抽取结果的 due 列应为日期", "selections column due must be a date", where=f"draw {draw_id}")


def _clean_list(expr: str) -> str:
    """A list column as the snapshot keeps it: no empty elements, each once, ascending."""
    return f"list_sort(list_distinct([x FOR x IN coalesce({expr}, []::VARCHAR[]) IF x IS NOT NULL AND x <> '']))"


def _inputs_from_pools(w: _Work, plan: Any, draw_id: str, options: AssignmentOptions) -> None:
    """The inputs as the live pools hold them now: temp tables ``in_<part>`` (recusals come later, from plug-ins)."""
    con = w.con
    task_ids = [r[0] for r in con.execute(f"SELECT DISTINCT task_id FROM {_T}in_selections ORDER BY 1").fetchall()]
    tasks = [plan.task(tid) for tid in task_ids]  # PlanError names a task the plan lacks
    w.register("tasks_in", pa.table({
        "task_id": pa.array([t.id for t in tasks], pa.string()),
        "sponsor": pa.array([t.sponsor for t in tasks], pa.string()),
        "departments": pa.array([sorted(set(t.departments)) for t in tasks], pa.list_(pa.string())),
        "items": pa.array([sorted(set(t.items)) for t in tasks], pa.list_(pa.string()))}))
    w.temp("in_tasks", f"SELECT * FROM {_T}tasks_in")
    codes = sorted({c for t in tasks for c in t.items})
    w.temp("in_items", "SELECT code, department FROM items WHERE active AND code IN (SELECT unnest(?::VARCHAR[]))",
           [codes])
    known = {r[0] for r in con.execute(f"SELECT code FROM {_T}in_items").fetchall()}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise PlanError(f"计划 {plan.id} 的任务引用了抽查事项清单中没有的事项: {', '.join(unknown)}",
                        f"plan {plan.id} refers to items not on the item list: {', '.join(unknown)}",
                        hint_zh="先导入抽查事项清单（dbsj pool import items）", hint_en="import the item list first")
    w.temp("in_targets", f"""SELECT uscc, office, {prefecture_sql('region')} AS prefecture FROM targets
                             WHERE active AND uscc IN (SELECT uscc FROM {_T}in_selections)""")
    missing = con.execute(f"SELECT s.uscc FROM {_T}in_selections s ANTI JOIN {_T}in_targets t USING (uscc) "
                          f"ORDER BY 1 LIMIT 5").fetchall()
    if missing:
        ids = ", ".join(m[0] for m in missing)
        raise InputError(f"抽中的对象不在检查对象名录库中（或已停用）: {ids}",
                         f"selected targets not in the target pool (or inactive): {ids}", where=f"draw {draw_id}")
    blank = con.execute(f"SELECT uscc FROM {_T}in_targets WHERE prefecture IS NULL ORDER BY 1 LIMIT 5").fetchall()
    if blank:
        ids = ", ".join(m[0] for m in blank)
        raise InputError(f"抽中的对象没有行政区划代码: {ids}", f"selected targets without a region code: {ids}",
                         where=f"draw {draw_id}")
    # local inspectors of the departments the visits need, with only what eligibility reads: conflicts are
    # kept only where they name a target of this run
    w.temp("groups", f"""SELECT DISTINCT t.prefecture, d.department FROM {_T}in_selections s
                         JOIN {_T}in_targets t USING (uscc)
                         JOIN (SELECT task_id, unnest(departments) AS department FROM {_T}in_tasks) d USING (task_id)""")
    w.temp("pool_insp", f"""SELECT i.staff_id, i.department, {prefecture_sql('i.region')} AS prefecture, i.beat,
                                   i.certificate_expiry, i.item_scope, i.conflicts, i.status
                            FROM inspectors i WHERE i.active AND i.region IS NOT NULL""")
    w.temp("in_inspectors", f"""
        SELECT i.staff_id, i.department, i.prefecture, i.beat, i.certificate_expiry,
               {_clean_list('i.item_scope')} AS item_scope, coalesce(c.conflicts, []::VARCHAR[]) AS conflicts, i.status
        FROM {_T}pool_insp i
        SEMI JOIN {_T}groups g ON g.prefecture = i.prefecture AND g.department = i.department
        LEFT JOIN (SELECT x.staff_id, list(DISTINCT x.c ORDER BY x.c) AS conflicts
                   FROM (SELECT staff_id, unnest(conflicts) AS c FROM {_T}pool_insp) x
                   SEMI JOIN {_T}in_targets t ON t.uscc = x.c GROUP BY x.staff_id) c USING (staff_id)""")
    if options.last_inspector_recusal:
        w.temp("in_history", f"""
            SELECT h.uscc, h.inspected_on, h.item_code, h.task_id, {_clean_list('h.staff_ids')} AS staff_ids
            FROM history h
            JOIN (SELECT uscc, max(inspected_on) AS d FROM history
                  WHERE active AND uscc IN (SELECT uscc FROM {_T}in_targets) GROUP BY uscc) m
              ON m.uscc = h.uscc AND m.d = h.inspected_on
            WHERE h.active""")
    else:
        w.temp("in_history", "SELECT NULL::VARCHAR AS uscc, NULL::DATE AS inspected_on, NULL::VARCHAR AS item_code, "
                             "NULL::VARCHAR AS task_id, NULL::VARCHAR[] AS staff_ids WHERE FALSE")
    w.temp("in_recusals", "SELECT NULL::DATE AS due, NULL::VARCHAR AS uscc, NULL::VARCHAR AS staff_id, "
                          "NULL::VARCHAR AS plugin, NULL::VARCHAR AS reason WHERE FALSE")


def _inputs_from_snapshot(w: _Work, run_id: str) -> None:
    """The inputs of a past run from its snapshot; the selections are the caller's (``in_selections``)."""
    for part, table in SNAPSHOT_TABLES.items():
        if part == "selections":
            continue
        cols = ", ".join(INPUT_COLUMNS[part])
        w.temp(f"in_{part}", f"SELECT {cols} FROM {table} WHERE run_id = ?", [run_id])
    missing = w.con.execute(f"SELECT s.uscc FROM {_T}in_selections s ANTI JOIN {_T}in_targets t USING (uscc) "
                            f"ORDER BY 1 LIMIT 5").fetchall()
    if missing:
        ids = ", ".join(m[0] for m in missing)
        raise InputError(f"分配输入快照中没有抽中的对象: {ids}", f"the assignment inputs snapshot lacks selected targets: {ids}",
                         where=f"run {run_id}")
    tids = [r[0] for r in w.con.execute(f"SELECT DISTINCT task_id FROM {_T}in_selections EXCEPT "
                                        f"SELECT task_id FROM {_T}in_tasks ORDER BY 1").fetchall()]
    if tids:
        raise InputError(f"分配输入快照中没有任务: {', '.join(tids)}",
                         f"the assignment inputs snapshot lacks tasks: {', '.join(tids)}", where=f"run {run_id}")


def _part_sql(part: str, relation: str, where: str = "") -> str:
    """The canonical rows of one part: dates as text, ordered by the part's key."""
    from dbsj.verifier import INPUT_KEYS

    cols = INPUT_COLUMNS[part]
    shown = ", ".join(f"strftime({c}, '%Y-%m-%d') AS {c}" if c in ("due", "certificate_expiry", "inspected_on")
                      else c for c in cols)
    return f"SELECT {shown} FROM {relation} {where} ORDER BY {', '.join(cols[:INPUT_KEYS[part]])}"


def inputs_object(con: Any, relation: Callable[[str], tuple[str, list[Any]]]) -> dict[str, Any]:
    """The inputs as the export holds them: part → ``{"columns", "rows"}``; ``relation(part)`` gives the SQL
    relation and ``WHERE`` parameters of a part."""
    out: dict[str, Any] = {}
    for part, cols in INPUT_COLUMNS.items():
        rel, where, params = relation(part)
        table = _arrow(con, _part_sql(part, rel, where), params)
        columns = [table.column(c).to_pylist() for c in cols]
        out[part] = {"columns": list(cols), "rows": [list(r) for r in zip(*columns)]}
    return out


def _persist(store: Any, w: _Work, run_id: str, options: AssignmentOptions, algorithm: str,
             parts: dict[str, str], digest: str) -> None:
    con = w.con
    bound = con.execute("SELECT count(*) FROM draws WHERE run_id = ? AND status IN ('drawn', 'superseded')",
                        [run_id]).fetchall()[0][0]
    if bound and has_assignment_snapshot(store, run_id):
        raise DrawError(f"批次 {run_id} 的分配输入快照已被抽取记录引用，不能覆盖",
                        f"the assignment inputs snapshot of run {run_id} is bound to drawn records; it cannot be replaced",
                        where=f"run {run_id}", hint_zh="复核请使用 reassign_from_snapshot",
                        hint_en="to re-derive it use reassign_from_snapshot")
    con.execute("DELETE FROM assignment_inputs WHERE run_id = ?", [run_id])
    for part, table in SNAPSHOT_TABLES.items():
        con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        cols = ", ".join(INPUT_COLUMNS[part])
        con.execute(f"INSERT INTO {table} ({'run_id, ' + cols}) SELECT ?, {cols} FROM {_T}in_{part}", [run_id])
    con.execute("INSERT INTO assignment_inputs VALUES (?, ?, ?, ?, ?, ?)",
                [run_id, algorithm, json.dumps(options.to_dict(), sort_keys=True), json.dumps(parts, sort_keys=True),
                 digest, store.now()])
    failpoint(_AFTER_SNAPSHOT)


# -- compute -------------------------------------------------------------------------------------------


def _compute(store: Any, w: _Work, *, draw_id: str, seed: str, options: AssignmentOptions, algorithm: str,
             ticket_source: TicketSource | None, repair: bool, plugins: Any, persist: bool) -> AssignmentOutcome:
    con = w.con
    legacy = algorithm == LEGACY_ALGORITHM
    w.register("taskdept", _task_departments(con))
    _build_nodes(w, options)
    _build_pairs(w, options, legacy)
    if plugins is not None:
        _ask_plugins(w, plugins[0], draw_id, plugins[1])
    _apply_recusals(w)
    parts = digest = None
    if not legacy:
        parts, digest = inputs_digest(inputs_object(con, lambda part: (f"{_T}in_{part}", "", [])))
        if persist:
            _persist(store, w, draw_id, options, algorithm, parts, digest)

    cand = _candidates(w, seed, algorithm, ticket_source)
    groups = con.execute(f"SELECT gid, prefecture, department, min(node), max(node) FROM {_T}nodes "
                         f"GROUP BY ALL ORDER BY gid").fetchall()
    demands = _int_column(con, f"SELECT demand FROM {_T}nodes ORDER BY node")
    starts = cand["starts"]
    insp = cand["inspectors"]
    n_insp = con.execute(f"SELECT count(*) FROM {_T}insp").fetchall()[0][0]
    eligible_by_group = dict(con.execute(f"SELECT n.gid, count(DISTINCT c.idx) FROM {_T}cand c "
                                         f"JOIN {_T}nodes n USING (node) GROUP BY n.gid").fetchall())

    teams: list[list[int]] = []
    caps: dict[str, int] = {}
    short_nodes: list[tuple[int, int, str]] = []
    greedy_filled = augmentations = 0
    for gid, prefecture, department, lo, hi in groups:
        dem = demands[lo:hi + 1]
        cands = [insp[starts[k]:starts[k + 1]] for k in range(lo, hi + 1)]
        eligible = eligible_by_group.get(gid, 0)
        load = sum(d for d, c in zip(dem, cands) if c)
        if options.workload_cap is not None:
            cap, auto = options.workload_cap, False
        else:
            cap, auto = max(1, -(-load // eligible)) if eligible else 1, True
        sol = solve_group(dem, cands, cap=cap, auto_cap=auto, repair=repair, n_inspectors=n_insp)
        caps[f"{prefecture}|{department}"] = sol.cap
        greedy_filled += sol.greedy_filled
        augmentations += sol.augmentations
        teams.extend(sol.teams)
        short_nodes.extend((lo + k, missing, why) for k, missing, why in sol.short)

    node_vid = _int_column(con, f"SELECT vid FROM {_T}nodes ORDER BY node")
    short_vids = {node_vid[k] for k, _, _ in short_nodes}
    team_node: list[int] = []
    team_idx: list[int] = []
    for k, team in enumerate(teams):
        if team and node_vid[k] not in short_vids:
            team_node.extend([k] * len(team))
            team_idx.extend(team)
    w.register("teams", pa.table({"node": pa.array(team_node, pa.int64()), "idx": pa.array(team_idx, pa.int64())}))
    w.register("short", pa.table({"node": pa.array([s[0] for s in short_nodes], pa.int64()),
                                  "missing": pa.array([s[1] for s in short_nodes], pa.int64()),
                                  "why": pa.array([s[2] for s in short_nodes], pa.string())}))

    assignments = _arrow(con, f"""
        SELECT n.visit_id, td.task_id, n.uscc, i.staff_id, n.department, n.due
        FROM {_T}teams t
        JOIN {_T}nodes n USING (node)
        JOIN {_T}insp i USING (idx)
        JOIN {_T}in_selections s ON s.uscc = n.uscc AND s.due = n.due
        JOIN {_T}taskdept td ON td.task_id = s.task_id AND td.department = n.department AND td.item_code IS NULL
        ORDER BY n.due, n.uscc, td.task_id, n.department, i.staff_id""").cast(pa.schema([
            ("visit_id", pa.string()), ("task_id", pa.string()), ("uscc", pa.string()), ("staff_id", pa.string()),
            ("department", pa.string()), ("due", pa.date32())]))

    # one row per excluded inspector (not on duty) or inspector–target pair and reason; integer keys sort
    # the same way as the ids they rank (tid by uscc, idx by staff id)
    w.temp("excluded", f"""
        SELECT idx, NULL::BIGINT AS tid, 'not_on_duty' AS reason FROM {_T}insp WHERE NOT on_duty
        UNION
        SELECT p.idx, n.tid, p.reason FROM {_T}pairs p JOIN {_T}nodes n USING (node) WHERE p.reason IS NOT NULL""")
    # sorted on the integer keys, then the ids looked up by position (idx and tid number the ids from 0): no
    # string join or string sort over a million rows
    keys = _arrow(con, f"SELECT idx, tid, reason FROM {_T}excluded ORDER BY reason, tid NULLS FIRST, idx")
    staff_of = _arrow(con, f"SELECT staff_id FROM {_T}insp ORDER BY idx").column(0).combine_chunks()
    uscc_of = _arrow(con, f"SELECT uscc FROM (SELECT DISTINCT tid, uscc FROM {_T}visits) ORDER BY tid").column(0)
    exclusion_rows = pa.table({
        "staff_id": pc.take(staff_of, keys.column("idx")).cast(pa.string()),
        "uscc": pc.take(uscc_of.combine_chunks(), keys.column("tid")).cast(pa.string()),
        "reason": keys.column("reason").cast(pa.string())})
    exclusions = {r: int(c) for r, c in con.execute(
        f"SELECT reason, count(*) FROM {_T}excluded GROUP BY 1 ORDER BY 1").fetchall()}

    shortfalls = _shortfalls(con) if short_nodes else []
    section = _section(con, options, caps, exclusions, shortfalls, algorithm, digest)
    stats = {"visits": len(section["visits"]), "nodes": len(demands), "candidates": len(insp),
             "places": sum(demands), "greedy_filled": greedy_filled, "augmentations": augmentations}
    return AssignmentOutcome(assignments=assignments, exclusions=exclusions, exclusion_rows=exclusion_rows,
                             shortfalls=shortfalls, section=section, stats=stats, run_id=draw_id,
                             inputs_sha256=digest, inputs_parts=parts)


def _task_departments(con: Any) -> pa.Table:
    """(task_id, department, item_code, is_sponsor): every department of every task, with its items.

    An item belongs to the department the item list names; an item of a department that is not on the task
    is checked by the task's sponsor. Every department of a task appears (``item_code`` null when it has none).
    """
    owner = dict(con.execute(f"SELECT code, department FROM {_T}in_items").fetchall())
    rows: dict[str, list[Any]] = {"task_id": [], "department": [], "item_code": [], "is_sponsor": []}

    def add(task: str, dept: str, item: str | None, sponsor: bool) -> None:
        rows["task_id"].append(task)
        rows["department"].append(dept)
        rows["item_code"].append(item)
        rows["is_sponsor"].append(sponsor)

    for tid, sponsor, departments, items in con.execute(
            f"SELECT task_id, sponsor, departments, items FROM {_T}in_tasks ORDER BY task_id").fetchall():
        for d in departments:
            add(tid, d, None, d == sponsor)
        for c in items:
            if c not in owner:
                raise InputError(f"任务 {tid} 的事项 {c} 没有所属部门", f"task {tid}: item {c} has no owning department")
            d = owner[c] if owner[c] in departments else sponsor
            add(tid, d, c, d == sponsor)
    return pa.table({"task_id": pa.array(rows["task_id"], pa.string()),
                     "department": pa.array(rows["department"], pa.string()),
                     "item_code": pa.array(rows["item_code"], pa.string()),
                     "is_sponsor": pa.array(rows["is_sponsor"], pa.bool_())})


def _build_nodes(w: _Work, options: AssignmentOptions) -> None:
    # visits: one per (target, due); the lead task is the first by id, the lead department its sponsor.
    # Integer keys (vid, tid, gid, iset) keep the pair-wise joins cheap; strings are joined back at the end.
    w.temp("visits", f"""
        SELECT row_number() OVER (ORDER BY s.due, s.uscc) - 1 AS vid,
               dense_rank() OVER (ORDER BY s.uscc) - 1 AS tid,
               s.uscc, s.due, s.uscc || '@' || strftime(s.due, '%Y-%m-%d') AS visit_id,
               list(s.task_id ORDER BY s.task_id) AS task_ids, min(s.task_id) AS lead_task,
               any_value(t.office) AS office, any_value(t.prefecture) AS prefecture
        FROM {_T}in_selections s JOIN {_T}in_targets t ON t.uscc = s.uscc
        GROUP BY s.uscc, s.due""")
    # grouped on integer keys only; the visit's text columns are joined back once
    w.temp("visit_of", f"SELECT s.task_id, v.vid FROM {_T}in_selections s JOIN {_T}visits v USING (uscc, due)")
    w.temp("node_keys", f"""
        SELECT x.vid, td.department,
               coalesce(list(DISTINCT td.item_code ORDER BY td.item_code)
                        FILTER (WHERE td.item_code IS NOT NULL), []::VARCHAR[]) AS items,
               bool_or(td.task_id = v.lead_task AND td.is_sponsor) AS lead
        FROM {_T}visit_of x JOIN {_T}taskdept td ON td.task_id = x.task_id JOIN {_T}visits v ON v.vid = x.vid
        GROUP BY x.vid, td.department""")
    w.temp("nodes_raw", f"""
        SELECT v.vid, v.tid, v.visit_id, v.uscc, v.due, v.office, v.prefecture, k.department, k.items, k.lead,
               count(*) OVER (PARTITION BY k.vid) AS departments
        FROM {_T}node_keys k JOIN {_T}visits v USING (vid)""")
    # group and item-set numbers from their few distinct values, not windows over every node
    w.temp("gids", f"""SELECT prefecture, department, row_number() OVER (ORDER BY prefecture, department) - 1 AS gid
                       FROM (SELECT DISTINCT prefecture, department FROM {_T}nodes_raw)""")
    w.temp("isets", f"""SELECT department, items, row_number() OVER (ORDER BY department, key) - 1 AS iset
                        FROM (SELECT DISTINCT department, items, array_to_string(items, chr(31)) AS key
                              FROM {_T}nodes_raw)""")
    w.temp("nodes", f"""
        SELECT row_number() OVER (ORDER BY n.prefecture, n.department, n.due, n.uscc) - 1 AS node,
               g.gid, i.iset, n.vid, n.tid, n.visit_id, n.uscc, n.due, n.office, n.prefecture, n.department, n.items,
               strlen(n.visit_id)::VARCHAR || ':' || n.visit_id || strlen(n.uscc)::VARCHAR || ':' || n.uscc AS vpart,
               1 + CASE WHEN n.lead THEN greatest({int(options.team_min)} - n.departments, 0) ELSE 0 END AS demand
        FROM {_T}nodes_raw n JOIN {_T}gids g USING (prefecture, department)
        JOIN {_T}isets i ON i.department = n.department AND i.items = n.items""")


def _build_pairs(w: _Work, options: AssignmentOptions, legacy: bool) -> None:
    w.temp("insp", f"""
        SELECT row_number() OVER (ORDER BY i.staff_id) - 1 AS idx, g.gid, i.staff_id, i.department,
               g.prefecture, i.beat, i.certificate_expiry AS expiry, i.item_scope AS scope, i.conflicts,
               coalesce(i.status, '{_ON_DUTY}') = '{_ON_DUTY}' AS on_duty,
               strlen(i.staff_id)::VARCHAR || ':' || i.staff_id AS spart
        FROM {_T}in_inspectors i
        JOIN (SELECT DISTINCT gid, prefecture, department FROM {_T}nodes) g
          ON g.prefecture = i.prefecture AND g.department = i.department""")
    # scope: per distinct item set of a department, the inspectors whose scope covers it (empty scope covers none)
    w.temp("scope_ok", f"""
        SELECT s.iset, i.idx FROM (SELECT DISTINCT iset, department, items FROM {_T}nodes) s
        JOIN {_T}insp i ON i.department = s.department
        WHERE len(s.items) = 0 OR list_has_all(i.scope, s.items)""")
    w.temp("conf", f"""
        SELECT DISTINCT v.tid, c.idx
        FROM (SELECT idx, unnest(conflicts) AS uscc FROM {_T}insp) c
        JOIN (SELECT DISTINCT tid, uscc FROM {_T}visits) v ON v.uscc = c.uscc""")
    if options.last_inspector_recusal:
        w.temp("last", f"""
            SELECT DISTINCT v.tid, i.idx
            FROM (SELECT h.uscc, unnest(h.staff_ids) AS staff_id FROM {_T}in_history h
                  JOIN (SELECT uscc, max(inspected_on) AS d FROM {_T}in_history GROUP BY uscc) m
                    ON m.uscc = h.uscc AND m.d = h.inspected_on) l
            JOIN (SELECT DISTINCT tid, uscc FROM {_T}visits) v ON v.uscc = l.uscc
            JOIN {_T}insp i ON i.staff_id = l.staff_id""")
    else:
        w.temp("last", "SELECT NULL::BIGINT AS tid, NULL::BIGINT AS idx WHERE FALSE")
    beat = "i.beat IS NOT NULL AND i.beat = n.office" if options.cross_beat else "FALSE"
    # dbsj-assign/2: a certificate without an expiry date cannot be shown valid
    expired = "i.expiry < n.due" if legacy else "(i.expiry IS NULL OR i.expiry < n.due)"
    w.temp("pairs", f"""
        SELECT n.node, i.idx,
               CASE WHEN {expired} THEN 'certificate_expired'
                    WHEN so.idx IS NULL THEN 'out_of_scope'
                    WHEN c.idx IS NOT NULL THEN 'declared_conflict'
                    WHEN {beat} THEN 'own_beat'
                    WHEN l.idx IS NOT NULL THEN 'last_inspector'
               END AS reason
        FROM {_T}nodes n
        JOIN {_T}insp i ON i.gid = n.gid AND i.on_duty
        LEFT JOIN {_T}scope_ok so ON so.iset = n.iset AND so.idx = i.idx
        LEFT JOIN {_T}conf c ON c.tid = n.tid AND c.idx = i.idx
        LEFT JOIN {_T}last l ON l.tid = n.tid AND l.idx = i.idx""")


def _ask_plugins(w: _Work, plan: Any, draw_id: str, plugins: Any) -> None:
    """Ask every ``dbsj_recusal`` plug-in, once per window (``due``); their answers become ``in_recusals``."""
    from dbsj.plugins import get_plugin_manager

    con = w.con
    pm = plugins if plugins is not None else get_plugin_manager()
    if not pm.pm.hook.dbsj_recusal.get_hookimpls():
        return
    found: list[pa.Table] = []
    dues = [r[0] for r in con.execute(f"SELECT DISTINCT due FROM {_T}nodes ORDER BY 1").fetchall()]
    for due in dues:
        cands = _arrow(con, f"""
            SELECT n.uscc, i.staff_id, s.task_id FROM {_T}pairs p
            JOIN {_T}nodes n USING (node) JOIN {_T}insp i USING (idx)
            JOIN {_T}in_selections s ON s.uscc = n.uscc AND s.due = n.due
            JOIN {_T}taskdept td ON td.task_id = s.task_id AND td.department = n.department AND td.item_code IS NULL
            WHERE n.due = ? ORDER BY n.uscc, i.staff_id, s.task_id""", [due])
        tids = [r[0] for r in con.execute(f"SELECT DISTINCT task_id FROM {_T}in_selections WHERE due = ? ORDER BY 1",
                                          [due]).fetchall()]
        context = {"task_ids": tids, "inspection_date": due, "plan_id": plan.id, "draw_id": draw_id}
        for name, result in pm.call_each("dbsj_recusal", candidates=cands, context=context):
            if result is None:
                continue
            table = _plugin_table(name, result)
            if table.num_rows == 0:
                continue
            con.register(_T + "plugin_out", table)
            try:
                stray = con.execute(f"""SELECT o.uscc, o.staff_id FROM {_T}plugin_out o
                    ANTI JOIN (SELECT n.uscc, i.staff_id FROM {_T}pairs p JOIN {_T}nodes n USING (node)
                               JOIN {_T}insp i USING (idx) WHERE n.due = ?) c
                      ON c.uscc = o.uscc AND c.staff_id = o.staff_id
                    ORDER BY 1, 2 LIMIT 1""", [due]).fetchall()
                if stray:
                    (u, st), = stray
                    raise PluginError(f"dbsj_recusal 返回了候选之外的人员-对象组合: {st} / {u}",
                                      f"dbsj_recusal returned a pair that was not a candidate: {st} / {u}",
                                      plugin=name)
                found.append(_arrow(con, f"SELECT ?::DATE AS due, uscc, staff_id, ? AS plugin, reason "
                                         f"FROM {_T}plugin_out", [due, name]))
            finally:
                con.unregister(_T + "plugin_out")
    if found:
        w.register("plugin_all", pa.concat_tables(found))
        w.temp("in_recusals", f"SELECT DISTINCT due, uscc, staff_id, plugin, reason FROM {_T}plugin_all")


def _apply_recusals(w: _Work) -> None:
    """Plug-in answers exclude pairs no built-in reason excluded; several plug-ins on one pair: the first
    plug-in by name, then the smallest reason, is counted."""
    con = w.con
    if not con.execute(f"SELECT count(*) FROM {_T}in_recusals").fetchall()[0][0]:
        return
    w.temp("plugin_ex", f"""
        SELECT n.node, i.idx, arg_min(x.plugin || ':' || x.reason, x.plugin || chr(0) || x.plugin || ':' || x.reason)
               AS reason
        FROM {_T}in_recusals x
        JOIN {_T}nodes n ON n.uscc = x.uscc AND n.due = x.due
        JOIN {_T}insp i ON i.staff_id = x.staff_id AND i.gid = n.gid
        GROUP BY ALL""")
    con.execute(f"UPDATE {_T}pairs p SET reason = x.reason FROM {_T}plugin_ex x "
                f"WHERE p.reason IS NULL AND p.node = x.node AND p.idx = x.idx").fetchall()


def _plugin_table(name: str, result: Any) -> pa.Table:
    if isinstance(result, pa.RecordBatch):
        result = pa.Table.from_batches([result])
    if not isinstance(result, pa.Table):
        raise PluginError(f"dbsj_recusal 应返回 pyarrow.Table 或 None，得到 {type(result).__name__}",
                          f"dbsj_recusal must return a pyarrow.Table or None, got {type(result).__name__}", plugin=name)
    missing = [c for c in ("uscc", "staff_id", "reason") if c not in result.column_names]
    if missing:
        raise PluginError(f"dbsj_recusal 的结果缺少列: {', '.join(missing)}",
                          f"dbsj_recusal result lacks columns: {', '.join(missing)}", plugin=name)
    table = result.select(["uscc", "staff_id", "reason"]).cast(
        pa.schema([("uscc", pa.string()), ("staff_id", pa.string()), ("reason", pa.string())]))
    for c in ("uscc", "staff_id", "reason"):
        if table.column(c).null_count:
            raise PluginError(f"dbsj_recusal 的结果列 {c} 有空值", f"dbsj_recusal result column {c} has empty values",
                              plugin=name)
    return table


def _candidates(w: _Work, seed: str, algorithm: str, ticket_source: TicketSource | None) -> dict[str, list[int]]:
    """Surviving pairs in (node, ticket, staff id) order, as CSR lists: ``starts`` (per node) and ``inspectors``."""
    con = w.con
    if ticket_source is not None:
        pairs = _arrow(con, f"""SELECT p.node, p.idx, n.visit_id, n.uscc, i.staff_id FROM {_T}pairs p
                                JOIN {_T}nodes n USING (node) JOIN {_T}insp i USING (idx)
                                WHERE p.reason IS NULL ORDER BY n.visit_id, i.staff_id""")
        tickets = list(ticket_source(pairs.select(["visit_id", "uscc", "staff_id"])))
        if len(tickets) != pairs.num_rows:
            raise InputError("票号来源返回的数量不对", "ticket source returned the wrong number of tickets")
        w.register("tickets", pairs.append_column("ticket", pa.array([str(t) for t in tickets], pa.string())))
        w.temp("cand", f"SELECT node, idx FROM {_T}tickets ORDER BY node, ticket, idx")
    elif algorithm == LEGACY_ALGORITHM:
        prefix = (encode_field(LEGACY_ALGORITHM) + encode_field(seed)).decode("utf-8")
        w.temp("cand", f"""SELECT p.node, p.idx FROM {_T}pairs p JOIN {_T}nodes n USING (node) JOIN {_T}insp i USING (idx)
                           WHERE p.reason IS NULL ORDER BY p.node, sha256(? || n.vpart || i.spart), p.idx""", [prefix])
    else:
        # one 32-byte key per node's visit, then one SHA-256 block per pair: K ‖ UTF-8 staff id; the ticket is
        # its first 8 bytes, compared as an unsigned integer (the same order as the first 16 hex digits)
        prefix = (encode_field(algorithm) + encode_field(seed)).decode("utf-8")
        w.temp("vkey", f"SELECT node, unhex(sha256(? || vpart)) AS k FROM {_T}nodes", [prefix])
        w.temp("skey", f"SELECT idx, encode(staff_id) AS s FROM {_T}insp")
        w.temp("cand", f"""SELECT p.node, p.idx FROM {_T}pairs p JOIN {_T}vkey v USING (node) JOIN {_T}skey s USING (idx)
                           WHERE p.reason IS NULL
                           ORDER BY p.node, ('0x' || left(sha256(v.k || s.s), 16))::UBIGINT, p.idx""")
    n_nodes = con.execute(f"SELECT count(*) FROM {_T}nodes").fetchall()[0][0]
    table = _arrow(con, f"SELECT node, idx FROM {_T}cand")
    nodes = table.column("node").combine_chunks() if table.num_rows else pa.array([], pa.int64())
    # the table keeps the ORDER BY of its creation (DuckDB preserves insertion order); check it anyway
    if len(nodes) > 1 and not pc.all(pc.greater_equal(nodes[1:], nodes[:-1])).as_py():
        raise DrawError("内部错误: 候选顺序被打乱", "internal error: candidate order was not preserved")
    counts = dict(con.execute(f"SELECT node, count(*) FROM {_T}cand GROUP BY node").fetchall())
    starts = [0] * (n_nodes + 1)
    acc = 0
    for k in range(n_nodes):
        starts[k] = acc
        acc += counts.get(k, 0)
    starts[n_nodes] = acc
    return {"starts": starts, "inspectors": _ints(table.column("idx")) if table.num_rows else []}


def _ints(column: Any) -> list[int]:
    """An integer Arrow column as a Python list, through its buffer (no per-value Python objects from pyarrow)."""
    arr = column.cast(pa.int64()).combine_chunks() if isinstance(column, pa.ChunkedArray) else column.cast(pa.int64())
    if arr.null_count:
        raise DrawError("内部错误: 整数列有空值", "internal error: null in an integer column")
    buf = arr.buffers()[1]
    return memoryview(buf).cast("q")[arr.offset:arr.offset + len(arr)].tolist()


def _int_column(con: Any, sql: str) -> list[int]:
    """One integer column of a query as a Python list."""
    table = _arrow(con, sql)
    return _ints(table.column(0)) if table.num_rows else []


def _arrow(con: Any, sql: str, params: Any = None) -> pa.Table:
    """A query's result as an Arrow table (through ``execute``: it also ends any result left pending)."""
    res = con.execute(sql, params or [])
    with warnings.catch_warnings():
        # DuckDB suggests a relation (con.sql) to save a copy; a relation refuses to run while another
        # statement's result is pending on the connection (the caller's transaction statements), execute does not
        warnings.simplefilter("ignore", UserWarning)
        return res.to_arrow_table() if hasattr(res, "to_arrow_table") else res.fetch_arrow_table()


def _shortfalls(con: Any) -> list[dict[str, Any]]:
    rows = con.execute(f"""
        WITH s AS (SELECT n.prefecture, n.department, n.visit_id, s.missing, s.why, n.node
                   FROM {_T}short s JOIN {_T}nodes n USING (node)),
        g AS (SELECT prefecture, department, sum(missing) AS short,
                     list(DISTINCT visit_id ORDER BY visit_id) AS visits
              FROM s GROUP BY ALL),
        ex AS (SELECT s.prefecture, s.department, p.reason, count(*) AS c
               FROM s JOIN {_T}pairs p ON p.node = s.node WHERE p.reason IS NOT NULL GROUP BY ALL),
        pool AS (SELECT prefecture, department, count(*) FILTER (WHERE on_duty) AS on_duty,
                        count(*) FILTER (WHERE NOT on_duty) AS off_duty FROM {_T}insp GROUP BY ALL)
        SELECT g.prefecture, g.department, g.short, g.visits,
               (SELECT list({{'k': why, 'v': missing}} ORDER BY why) FROM
                    (SELECT why, sum(missing) AS missing FROM s
                     WHERE s.prefecture = g.prefecture AND s.department = g.department GROUP BY why)) AS why,
               (SELECT list({{'k': reason, 'v': c}} ORDER BY reason) FROM ex
                     WHERE ex.prefecture = g.prefecture AND ex.department = g.department) AS excluded,
               coalesce(pool.on_duty, 0), coalesce(pool.off_duty, 0)
        FROM g LEFT JOIN pool USING (prefecture, department)
        ORDER BY g.prefecture, g.department""").fetchall()
    out = []
    for prefecture, department, short, visits, why, excluded, on_duty, off_duty in rows:
        why_d = {e["k"]: int(e["v"]) for e in (why or [])}
        ex_d = {e["k"]: int(e["v"]) for e in (excluded or [])}
        on_duty = int(on_duty)
        out.append({
            "prefecture": prefecture, "department": department, "short": int(short), "visits": list(visits),
            "why": why_d, "excluded": ex_d, "inspectors_on_duty": on_duty, "inspectors_off_duty": int(off_duty),
            "message_zh": shortfall_message(prefecture, department, int(short), len(visits), why_d, ex_d, on_duty, "zh"),
            "message_en": shortfall_message(prefecture, department, int(short), len(visits), why_d, ex_d, on_duty, "en"),
        })
    return out


def _section(con: Any, options: AssignmentOptions, caps: dict[str, int], exclusions: dict[str, int],
             shortfalls: list[dict[str, Any]], algorithm: str, digest: str | None) -> dict[str, Any]:
    legacy = algorithm == LEGACY_ALGORITHM
    # flat columns through Arrow, then one pass in Python: cheaper than DuckDB lists of structs turned into
    # Python objects, for 100,000 visits
    v = _arrow(con, f"SELECT visit_id, uscc, strftime(due, '%Y-%m-%d') AS due, task_ids FROM {_T}visits ORDER BY vid")
    visit_ids, usccs, dues = (v.column(c).to_pylist() for c in ("visit_id", "uscc", "due"))
    tasks = v.column("task_ids").to_pylist()
    d = _arrow(con, f"SELECT DISTINCT vid, department FROM {_T}nodes ORDER BY vid, department")
    m = _arrow(con, f"""SELECT n.vid, n.department, i.staff_id FROM {_T}teams t JOIN {_T}nodes n USING (node)
                        JOIN {_T}insp i USING (idx) ORDER BY n.vid, n.department, i.staff_id""")
    departments: list[list[str]] = [[] for _ in visit_ids]
    for vid, dept in zip(_ints(d.column("vid")) if d.num_rows else [], d.column("department").to_pylist()):
        departments[vid].append(dept)
    teams: list[list[dict[str, str]]] = [[] for _ in visit_ids]
    for vid, dept, staff in zip(_ints(m.column("vid")) if m.num_rows else [], m.column("department").to_pylist(),
                                m.column("staff_id").to_pylist()):
        teams[vid].append({"department": dept, "staff_id": staff})
    if legacy:
        visits = [{"visit_id": a, "uscc": b, "due": c, "tasks": t, "team": tm}
                  for a, b, c, t, tm in zip(visit_ids, usccs, dues, tasks, teams)]
    else:
        visits = [{"visit_id": a, "uscc": b, "due": c, "tasks": t, "departments": dp, "team": tm}
                  for a, b, c, t, dp, tm in zip(visit_ids, usccs, dues, tasks, departments, teams)]
    section: dict[str, Any] = {
        "algorithm": algorithm,
        "parameters": {**options.to_dict(), "caps": dict(sorted(caps.items()))},
        "visits": visits,
        "exclusions": dict(sorted(exclusions.items())),
        "shortfalls": shortfalls,
    }
    if not legacy:
        section["inputs_sha256"] = digest
    return section
