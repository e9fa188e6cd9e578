"""Recusal-aware inspector assignment (检查人员随机匹配): one team per visit, every rule checked, fair and re-derivable.

docs/assignment.md is the manual: the rules, the ticket's byte encoding, the algorithm and the shortfall report.

In short: the targets one window (same ``due``) brings to one entity, across the plan's tasks, form one
*visit* ("进一次门、查多项事"). A visit needs one inspector from every department of its tasks (sponsor and
partners), and at least ``team_min`` in all, the extra places going to the lead department (the sponsor of
the visit's first task by id). Candidate pairs are generated and pruned set-wise in DuckDB: local inspectors
(same prefecture) of the right department, on duty, certificate valid through ``due``, items in scope, no
declared conflict, not their own beat (所所交叉), not the last inspector of the target, not excluded by a
plug-in. Each surviving pair gets its own ticket — SHA-256 over the length-prefixed algorithm id, seed,
visit id, target id and inspector id — and the solver in :mod:`dbsj.draw._flow` fills places greedily in
ticket order, then repairs with augmenting paths so that a valid assignment is found whenever one exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import attrs
import pyarrow as pa

from dbsj.draw._flow import solve_group
from dbsj.errors import DrawError, InputError, PlanError, PluginError
from dbsj.models.regions import prefecture_sql

__all__ = ["ASSIGNMENT_ALGORITHM", "RECUSAL_REASONS", "AssignmentOptions", "AssignmentOutcome", "assign_visits",
           "assignment_ticket"]

#: Algorithm id of the assignment; it goes into every ticket and every record.
ASSIGNMENT_ALGORITHM = "dbsj-assign/1"
ALGORITHM = ASSIGNMENT_ALGORITHM

#: Built-in exclusion reasons, in the order they are tested (a pair is counted under the first that applies),
#: with their Chinese and English labels. Plug-in reasons are counted as ``"<plug-in>:<reason>"``.
RECUSAL_REASONS: dict[str, tuple[str, str]] = {
    "not_on_duty": ("人员不在岗或未启用", "inspector not on duty (status is not 在岗)"),
    "certificate_expired": ("执法证在检查期末前到期", "certificate expires before the window's last day"),
    "out_of_scope": ("检查事项不在执法事项范围内", "visit's items of the department not within the inspector's item scope"),
    "declared_conflict": ("申报回避对象", "declared conflict of interest with the target"),
    "own_beat": ("所所交叉：本人管辖片区", "own beat (所所交叉 cross-beat rule)"),
    "last_inspector": ("上次检查该对象的人员", "inspected the same target last time"),
}

_ON_DUTY = "在岗"
_T = "_dbsj_asg_"  # prefix of the temporary tables this module creates (and drops)

TicketSource = Callable[[pa.Table], "list[str]"]


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
    :ivar section: the canonical, JSON-ready ``assignment`` section of a draw record.
    """

    assignments: pa.Table
    exclusions: dict[str, int]
    exclusion_rows: pa.Table
    shortfalls: list[dict[str, Any]]
    section: dict[str, Any]
    stats: dict[str, Any] = attrs.field(factory=dict, eq=False)

    @property
    def complete(self) -> bool:
        """True when every visit got its full team."""
        return not self.shortfalls


# -- tickets -------------------------------------------------------------------------------------------


def _field(value: str) -> bytes:
    raw = value.encode("utf-8")
    return str(len(raw)).encode("ascii") + b":" + raw


def _ticket_message(seed: str, visit_id: str, uscc: str, staff_id: str) -> bytes:
    """The bytes a pair's ticket hashes: ``<len>:<value>`` for the algorithm id, seed, visit, target, inspector.

    ``<len>`` is the decimal UTF-8 byte length of the value; fields follow each other with no separator.
    """
    return b"".join(_field(v) for v in (ALGORITHM, seed, visit_id, uscc, staff_id))


def assignment_ticket(seed: str, visit_id: str, uscc: str, staff_id: str) -> str:
    """The ticket (lowercase SHA-256 hex) of one inspector for one visit; smaller tickets are tried first."""
    return hashlib.sha256(_ticket_message(seed, visit_id, uscc, staff_id)).hexdigest()


# -- the public entry point ----------------------------------------------------------------------------


def assign_visits(store: Any, *, plan: Any, draw_id: str, selections: pa.Table, seed: str,
                  options: AssignmentOptions | None = None) -> AssignmentOutcome:
    """Assign a team of inspectors to every visit of a draw's selections.

    :param store: an open :class:`dbsj.Store` holding the ``targets``, ``inspectors``, ``items`` and
        ``history`` pools (only active rows count).
    :param plan: the :class:`dbsj.Plan` the selections come from (departments and items per task).
    :param draw_id: the draw this assignment belongs to (named in errors and the section).
    :param selections: an Arrow table with columns ``task_id``, ``uscc``, ``due`` (date): the drawn targets.
    :param seed: the draw's seed; with the visit, target and inspector it makes each candidate's ticket.
    :param options: :class:`AssignmentOptions` (defaults: team of 2, even workload, 所所交叉, last-inspector recusal).
    :return: an :class:`AssignmentOutcome`. Nothing is written to the store's tables.
    :raises InputError: malformed selections (missing columns, nulls, duplicates, unknown targets).
    :raises PlanError: a selected task is not in the plan, or a task's item is not on the item list.
    :raises PluginError: a ``dbsj_recusal`` plug-in broke its contract (names the plug-in).
    """
    return _assign(store, plan=plan, draw_id=draw_id, selections=selections, seed=seed,
                   options=options or AssignmentOptions())


def _assign(store: Any, *, plan: Any, draw_id: str, selections: pa.Table, seed: str, options: AssignmentOptions,
            ticket_source: TicketSource | None = None, repair: bool = True,
            plugins: Any = None) -> AssignmentOutcome:
    """The work behind :func:`assign_visits`; ``ticket_source`` and ``repair`` are seams for tests and benchmarks.

    ``ticket_source(pairs)`` receives an Arrow table ``visit_id, uscc, staff_id`` and returns one ticket per
    row (any strings; order is by ticket, then staff id); by default tickets are SHA-256 computed in SQL.
    """
    if not isinstance(seed, str) or not seed:
        raise InputError("分配人员需要非空的随机种子", "assignment needs a non-empty seed", where=f"draw {draw_id}")
    con = store.con
    _check_selections(selections, draw_id)
    created: list[str] = []
    registered: list[str] = []

    def temp(name: str, sql: str, params: Any = None) -> None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_T}{name} AS {sql}", params).fetchall()
        created.append(_T + name)

    def register(name: str, table: pa.Table) -> None:
        con.register(_T + name, table)
        registered.append(_T + name)

    try:
        register("sel_in", selections.select(["task_id", "uscc", "due"]))
        temp("sel", f"SELECT DISTINCT CAST(task_id AS VARCHAR) AS task_id, CAST(uscc AS VARCHAR) AS uscc, "
                    f"CAST(due AS DATE) AS due FROM {_T}sel_in")
        n_rows = selections.num_rows
        if con.execute(f"SELECT count(*) FROM {_T}sel").fetchall()[0][0] != n_rows:
            dup = con.execute(f"SELECT task_id, uscc, due FROM {_T}sel_in GROUP BY ALL HAVING count(*) > 1 "
                              f"ORDER BY ALL LIMIT 1").fetchall()[0]
            raise InputError(f"抽取结果中有重复行: 任务 {dup[0]}、对象 {dup[1]}、期限 {dup[2]}",
                             f"duplicate selection row: task {dup[0]}, target {dup[1]}, due {dup[2]}",
                             where=f"draw {draw_id}", hint_zh="每个任务每个对象每批次只应出现一次",
                             hint_en="each (task, target, due) must appear once")

        task_ids = [r[0] for r in con.execute(f"SELECT DISTINCT task_id FROM {_T}sel ORDER BY 1").fetchall()]
        register("taskdept", _task_departments(con, plan, task_ids))

        missing = con.execute(f"SELECT s.uscc FROM {_T}sel s ANTI JOIN targets t ON t.uscc = s.uscc AND t.active "
                              f"ORDER BY 1 LIMIT 5").fetchall()
        if missing:
            ids = ", ".join(m[0] for m in missing)
            raise InputError(f"抽中的对象不在检查对象名录库中（或已停用）: {ids}",
                             f"selected targets not in the target pool (or inactive): {ids}", where=f"draw {draw_id}")

        _build_nodes(temp, options)
        _build_pairs(con, temp, options)
        _plugin_recusals(con, temp, register, plan, draw_id, plugins)

        cand = _candidates(con, register, temp, seed, ticket_source)
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
        for _gid, prefecture, department, lo, hi in groups:
            dem = demands[lo:hi + 1]
            cands = [insp[starts[k]:starts[k + 1]] for k in range(lo, hi + 1)]
            eligible = eligible_by_group.get(_gid, 0)
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
        short_vids = sorted({node_vid[k] for k, _, _ in short_nodes})
        complete = [True] * (max(node_vid) + 1 if node_vid else 0)
        for v in short_vids:
            complete[v] = False
        team_node: list[int] = []
        team_idx: list[int] = []
        for k, team in enumerate(teams):
            if complete[node_vid[k]]:
                for i in team:
                    team_node.append(k)
                    team_idx.append(i)
        register("teams", pa.table({"node": pa.array(team_node, pa.int64()), "idx": pa.array(team_idx, pa.int64())}))
        register("short", pa.table({"node": pa.array([s[0] for s in short_nodes], pa.int64()),
                                    "missing": pa.array([s[1] for s in short_nodes], pa.int64()),
                                    "why": pa.array([s[2] for s in short_nodes], pa.string())}))

        assignments = _arrow(con, f"""
            SELECT n.visit_id, td.task_id, n.uscc, i.staff_id, n.department, n.due
            FROM {_T}teams t
            JOIN {_T}nodes n USING (node)
            JOIN {_T}insp i USING (idx)
            JOIN {_T}sel s ON s.uscc = n.uscc AND s.due = n.due
            JOIN {_T}taskdept td ON td.task_id = s.task_id AND td.department = n.department AND td.item_code IS NULL
            ORDER BY n.due, n.uscc, td.task_id, n.department, i.staff_id""").cast(pa.schema([
                ("visit_id", pa.string()), ("task_id", pa.string()), ("uscc", pa.string()), ("staff_id", pa.string()),
                ("department", pa.string()), ("due", pa.date32())]))

        # one row per excluded inspector (not on duty) or inspector–target pair and reason; integer keys sort
        # the same way as the ids they rank (tid by uscc, idx by staff id)
        temp("excluded", f"""
            SELECT idx, NULL::BIGINT AS tid, 'not_on_duty' AS reason FROM {_T}insp WHERE NOT on_duty
            UNION
            SELECT p.idx, n.tid, p.reason FROM {_T}pairs p JOIN {_T}nodes n USING (node) WHERE p.reason IS NOT NULL""")
        exclusion_rows = _arrow(con, f"""
            SELECT i.staff_id, v.uscc, x.reason FROM {_T}excluded x JOIN {_T}insp i USING (idx)
            LEFT JOIN (SELECT DISTINCT tid, uscc FROM {_T}visits) v ON v.tid = x.tid
            ORDER BY x.reason, x.tid NULLS FIRST, x.idx""").cast(pa.schema([
                ("staff_id", pa.string()), ("uscc", pa.string()), ("reason", pa.string())]))
        exclusions = {r: int(c) for r, c in con.execute(
            f"SELECT reason, count(*) FROM {_T}excluded GROUP BY 1 ORDER BY 1").fetchall()}

        shortfalls = _shortfalls(con) if short_nodes else []
        section = _section(con, options, caps, exclusions, shortfalls)
        stats = {"visits": len(section["visits"]), "nodes": len(demands), "candidates": len(insp),
                 "places": sum(demands), "greedy_filled": greedy_filled, "augmentations": augmentations}
        return AssignmentOutcome(assignments=assignments, exclusions=exclusions, exclusion_rows=exclusion_rows,
                                 shortfalls=shortfalls, section=section, stats=stats)
    finally:
        for name in reversed(created):
            con.execute(f"DROP TABLE IF EXISTS {name}").fetchall()
        for name in registered:
            con.unregister(name)


# -- steps ---------------------------------------------------------------------------------------------


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


def _task_departments(con: Any, plan: Any, task_ids: list[str]) -> pa.Table:
    """(task_id, department, item_code, is_sponsor): every department of every task, with its items.

    An item belongs to the department the item list names; an item of a department that is not on the task
    is checked by the task's sponsor. Every department of a task appears (``item_code`` null when it has none).
    """
    tasks = [plan.task(t) for t in task_ids]
    codes = sorted({c for t in tasks for c in t.items})
    owner = {}
    if codes:
        owner = dict(con.execute("SELECT code, department FROM items WHERE active AND code IN (SELECT unnest(?))",
                                 [codes]).fetchall())
    unknown = [c for c in codes if c not in owner]
    if unknown:
        raise PlanError(f"计划 {plan.id} 的任务引用了抽查事项清单中没有的事项: {', '.join(unknown)}",
                        f"plan {plan.id} refers to items not on the item list: {', '.join(unknown)}",
                        hint_zh="先导入抽查事项清单（dbsj pool import items）", hint_en="import the item list first")
    rows: dict[str, list[Any]] = {"task_id": [], "department": [], "item_code": [], "is_sponsor": []}

    def add(task: str, dept: str, item: str | None, sponsor: bool) -> None:
        rows["task_id"].append(task)
        rows["department"].append(dept)
        rows["item_code"].append(item)
        rows["is_sponsor"].append(sponsor)

    for t in tasks:
        for d in t.departments:
            add(t.id, d, None, d == t.sponsor)
        for c in t.items:
            d = owner[c] if owner[c] in t.departments else t.sponsor
            add(t.id, d, c, d == t.sponsor)
    return pa.table({"task_id": pa.array(rows["task_id"], pa.string()),
                     "department": pa.array(rows["department"], pa.string()),
                     "item_code": pa.array(rows["item_code"], pa.string()),
                     "is_sponsor": pa.array(rows["is_sponsor"], pa.bool_())})


def _build_nodes(temp: Callable[..., None], options: AssignmentOptions) -> None:
    # visits: one per (target, due); the lead task is the first by id, the lead department its sponsor.
    # Integer keys (vid, tid, gid, iset) keep the pair-wise joins cheap; strings are joined back at the end.
    temp("visits", f"""
        SELECT row_number() OVER (ORDER BY s.due, s.uscc) - 1 AS vid,
               dense_rank() OVER (ORDER BY s.uscc) - 1 AS tid,
               s.uscc, s.due, s.uscc || '@' || strftime(s.due, '%Y-%m-%d') AS visit_id,
               list(s.task_id ORDER BY s.task_id) AS task_ids, min(s.task_id) AS lead_task,
               any_value(t.office) AS office, any_value({prefecture_sql('t.region')}) AS prefecture
        FROM {_T}sel s JOIN targets t ON t.uscc = s.uscc AND t.active
        GROUP BY s.uscc, s.due""")
    temp("nodes_raw", f"""
        SELECT v.vid, v.tid, v.visit_id, v.uscc, v.due, v.office, v.prefecture, td.department,
               coalesce(list(DISTINCT td.item_code ORDER BY td.item_code)
                        FILTER (WHERE td.item_code IS NOT NULL), []::VARCHAR[]) AS items,
               bool_or(td.task_id = v.lead_task AND td.is_sponsor) AS lead
        FROM {_T}visits v JOIN {_T}sel s ON s.uscc = v.uscc AND s.due = v.due
        JOIN {_T}taskdept td ON td.task_id = s.task_id
        GROUP BY ALL""")
    temp("nodes", f"""
        SELECT row_number() OVER (ORDER BY prefecture, department, due, uscc) - 1 AS node,
               dense_rank() OVER (ORDER BY prefecture, department) - 1 AS gid,
               dense_rank() OVER (ORDER BY department, array_to_string(items, chr(31))) - 1 AS iset,
               vid, tid, visit_id, uscc, due, office, prefecture, department, items,
               strlen(visit_id)::VARCHAR || ':' || visit_id || strlen(uscc)::VARCHAR || ':' || uscc AS vpart,
               1 + CASE WHEN lead THEN greatest({int(options.team_min)} - count(*) OVER (PARTITION BY vid), 0)
                        ELSE 0 END AS demand
        FROM {_T}nodes_raw""")


def _build_pairs(con: Any, temp: Callable[..., None], options: AssignmentOptions) -> None:
    temp("insp", f"""
        SELECT row_number() OVER (ORDER BY i.staff_id) - 1 AS idx, g.gid, i.staff_id, i.department,
               g.prefecture, i.beat, i.certificate_expiry AS expiry,
               coalesce(i.item_scope, []::VARCHAR[]) AS scope, coalesce(i.conflicts, []::VARCHAR[]) AS conflicts,
               coalesce(i.status, '{_ON_DUTY}') = '{_ON_DUTY}' AS on_duty,
               strlen(i.staff_id)::VARCHAR || ':' || i.staff_id AS spart
        FROM inspectors i
        JOIN (SELECT DISTINCT gid, prefecture, department FROM {_T}nodes) g
          ON g.prefecture = {prefecture_sql('i.region')} AND g.department = i.department
        WHERE i.active AND i.region IS NOT NULL""")
    # scope: per distinct item set of a department, the inspectors whose scope covers it (empty scope covers none)
    temp("scope_ok", f"""
        SELECT s.iset, i.idx FROM (SELECT DISTINCT iset, department, items FROM {_T}nodes) s
        JOIN {_T}insp i ON i.department = s.department
        WHERE len(s.items) = 0 OR list_has_all(i.scope, s.items)""")
    temp("conf", f"""
        SELECT DISTINCT v.tid, c.idx
        FROM (SELECT idx, unnest(conflicts) AS uscc FROM {_T}insp) c
        JOIN (SELECT DISTINCT tid, uscc FROM {_T}visits) v ON v.uscc = c.uscc""")
    if options.last_inspector_recusal:
        temp("last", f"""
            SELECT DISTINCT v.tid, i.idx
            FROM (SELECT h.uscc, unnest(h.staff_ids) AS staff_id FROM history h
                  JOIN (SELECT uscc, max(inspected_on) AS d FROM history
                        WHERE active AND uscc IN (SELECT uscc FROM {_T}visits) GROUP BY uscc) m
                    ON m.uscc = h.uscc AND m.d = h.inspected_on
                  WHERE h.active) l
            JOIN (SELECT DISTINCT tid, uscc FROM {_T}visits) v ON v.uscc = l.uscc
            JOIN {_T}insp i ON i.staff_id = l.staff_id""")
    else:
        temp("last", "SELECT NULL::BIGINT AS tid, NULL::BIGINT AS idx WHERE FALSE")
    beat = "i.beat IS NOT NULL AND i.beat = n.office" if options.cross_beat else "FALSE"
    temp("pairs", f"""
        SELECT n.node, i.idx,
               CASE WHEN i.expiry < n.due THEN 'certificate_expired'
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


def _plugin_recusals(con: Any, temp: Callable[..., None], register: Callable[[str, pa.Table], None], plan: Any,
                     draw_id: str, plugins: Any) -> bool:
    """Ask every ``dbsj_recusal`` plug-in, once per window (``due``); returns whether any excluded a pair."""
    from dbsj.plugins import get_plugin_manager

    pm = plugins if plugins is not None else get_plugin_manager()
    if not pm.pm.hook.dbsj_recusal.get_hookimpls():
        return False
    found: list[pa.Table] = []
    dues = [r[0] for r in con.execute(f"SELECT DISTINCT due FROM {_T}nodes ORDER BY 1").fetchall()]
    for due in dues:
        cands = _arrow(con, f"""
            SELECT n.uscc, i.staff_id, s.task_id FROM {_T}pairs p
            JOIN {_T}nodes n USING (node) JOIN {_T}insp i USING (idx)
            JOIN {_T}sel s ON s.uscc = n.uscc AND s.due = n.due
            JOIN {_T}taskdept td ON td.task_id = s.task_id AND td.department = n.department AND td.item_code IS NULL
            WHERE n.due = ? ORDER BY n.uscc, i.staff_id, s.task_id""", [due])
        tids = [r[0] for r in con.execute(f"SELECT DISTINCT task_id FROM {_T}sel WHERE due = ? ORDER BY 1",
                                          [due]).fetchall()]
        context = {"task_ids": tids, "inspection_date": due, "plan_id": plan.id, "draw_id": draw_id}
        for name, result in pm.call_each("dbsj_recusal", candidates=cands, context=context):
            if result is None:
                continue
            table = _plugin_table(name, result)
            if table.num_rows == 0:
                continue
            register("plugin_out", table)
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
            found.append(_arrow(con, f"SELECT uscc, staff_id, ?::DATE AS due, ? || ':' || reason AS reason, "
                                     f"? AS plugin FROM {_T}plugin_out", [due, name, name]))
    if not found:
        return False
    register("plugin_all", pa.concat_tables(found))
    # several plug-ins may exclude one pair: the first plug-in by name, then the smallest reason, is counted
    temp("plugin_ex", f"""
        SELECT n.node, i.idx, arg_min(x.reason, x.plugin || chr(0) || x.reason) AS reason
        FROM {_T}plugin_all x
        JOIN {_T}nodes n ON n.uscc = x.uscc AND n.due = x.due
        JOIN {_T}insp i ON i.staff_id = x.staff_id AND i.gid = n.gid
        GROUP BY ALL""")
    con.execute(f"UPDATE {_T}pairs p SET reason = x.reason FROM {_T}plugin_ex x "
                f"WHERE p.reason IS NULL AND p.node = x.node AND p.idx = x.idx").fetchall()
    return True


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


def _candidates(con: Any, register: Callable[[str, pa.Table], None], temp: Callable[..., None], seed: str,
                ticket_source: TicketSource | None) -> dict[str, list[int]]:
    """Surviving pairs in (node, ticket, staff id) order, as CSR lists: ``starts`` (per node) and ``inspectors``."""
    if ticket_source is None:
        prefix = (_field(ALGORITHM) + _field(seed)).decode("utf-8")
        temp("cand", f"""SELECT p.node, p.idx FROM {_T}pairs p JOIN {_T}nodes n USING (node) JOIN {_T}insp i USING (idx)
                         WHERE p.reason IS NULL ORDER BY p.node, sha256(? || n.vpart || i.spart), p.idx""",
             [prefix])
    else:
        pairs = _arrow(con, f"""SELECT p.node, p.idx, n.visit_id, n.uscc, i.staff_id FROM {_T}pairs p
                                JOIN {_T}nodes n USING (node) JOIN {_T}insp i USING (idx)
                                WHERE p.reason IS NULL ORDER BY n.visit_id, i.staff_id""")
        tickets = list(ticket_source(pairs.select(["visit_id", "uscc", "staff_id"])))
        if len(tickets) != pairs.num_rows:
            raise InputError("票号来源返回的数量不对", "ticket source returned the wrong number of tickets")
        register("tickets", pairs.append_column("ticket", pa.array([str(t) for t in tickets], pa.string())))
        temp("cand", f"SELECT node, idx FROM {_T}tickets ORDER BY node, ticket, idx")
    n_nodes = con.execute(f"SELECT count(*) FROM {_T}nodes").fetchall()[0][0]
    nodes = _int_column(con, f"SELECT node FROM {_T}cand")
    inspectors = _int_column(con, f"SELECT idx FROM {_T}cand")
    # the table keeps the ORDER BY of its creation (DuckDB preserves insertion order); check it anyway
    starts = [0] * (n_nodes + 1)
    last = -1
    for pos, k in enumerate(nodes):
        if k != last:
            if k < last:
                raise DrawError("内部错误: 候选顺序被打乱", "internal error: candidate order was not preserved")
            for j in range(last + 1, k + 1):
                starts[j] = pos
            last = k
    for j in range(last + 1, n_nodes + 1):
        starts[j] = len(nodes)
    return {"starts": starts, "inspectors": inspectors}


def _int_column(con: Any, sql: str) -> list[int]:
    """One integer column as a Python list, through Arrow buffers (no per-value Python objects from pyarrow)."""
    table = _arrow(con, sql)
    if table.num_rows == 0:
        return []
    arr = table.column(0).cast(pa.int64()).combine_chunks()
    if arr.null_count:
        raise DrawError("内部错误: 整数列有空值", "internal error: null in an integer column")
    buf = arr.buffers()[1]
    return memoryview(buf).cast("q")[arr.offset:arr.offset + len(arr)].tolist()


def _arrow(con: Any, sql: str, params: Any = None) -> pa.Table:
    """A query's result as an Arrow table (a relation, so DuckDB makes no extra copy)."""
    return con.sql(sql, params=params).to_arrow_table()


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
        out.append({
            "prefecture": prefecture, "department": department, "short": int(short), "visits": list(visits),
            "why": why_d, "excluded": ex_d, "inspectors_on_duty": int(on_duty), "inspectors_off_duty": int(off_duty),
            "message_zh": _short_message(prefecture, department, int(short), len(visits), why_d, ex_d, on_duty, "zh"),
            "message_en": _short_message(prefecture, department, int(short), len(visits), why_d, ex_d, on_duty, "en"),
        })
    return out


_WHY = {
    "no_eligible_inspector": ("无符合条件的人员", "no eligible inspector"),
    "too_few_eligible": ("符合条件的人员不足", "too few eligible inspectors"),
    "workload_cap": ("人员均已达到工作量上限", "every eligible inspector is at the workload cap"),
}


def _short_message(prefecture: str, department: str, short: int, visits: int, why: dict[str, int],
                   excluded: dict[str, int], on_duty: int, lang: str) -> str:
    k = 0 if lang == "zh" else 1

    def label(reason: str) -> str:
        if reason in RECUSAL_REASONS:
            return RECUSAL_REASONS[reason][k]
        return reason

    why_text = ("；" if k == 0 else "; ").join(f"{_WHY[w][k]} {n}" for w, n in why.items())
    ex_text = ("、" if k == 0 else ", ").join(f"{label(r)} {n}" for r, n in excluded.items())
    if lang == "zh":
        msg = (f"{prefecture} {department}: {visits} 次检查缺 {short} 名人员（{why_text}）；"
               f"本地在岗人员 {on_duty} 名")
        return msg + (f"，被排除: {ex_text}" if ex_text else "")
    msg = (f"{prefecture} {department}: {short} place(s) short on {visits} visit(s) ({why_text}); "
           f"{on_duty} local inspector(s) on duty")
    return msg + (f", excluded: {ex_text}" if ex_text else "")


def _section(con: Any, options: AssignmentOptions, caps: dict[str, int], exclusions: dict[str, int],
             shortfalls: list[dict[str, Any]]) -> dict[str, Any]:
    # built set-wise and converted once through Arrow: far cheaper than assembling 100,000 dicts row by row
    visits = _arrow(con, f"""
        SELECT v.visit_id, v.uscc, strftime(v.due, '%Y-%m-%d') AS due, v.task_ids AS tasks,
               coalesce(list({{'department': n.department, 'staff_id': i.staff_id}} ORDER BY n.department, i.staff_id)
                        FILTER (WHERE i.staff_id IS NOT NULL), []) AS team
        FROM {_T}visits v
        LEFT JOIN {_T}nodes n ON n.vid = v.vid
        LEFT JOIN {_T}teams t ON t.node = n.node
        LEFT JOIN {_T}insp i ON i.idx = t.idx
        GROUP BY v.vid, v.visit_id, v.uscc, v.due, v.task_ids
        ORDER BY v.vid""").to_pylist()
    return {
        "algorithm": ALGORITHM,
        "parameters": {**options.to_dict(), "caps": dict(sorted(caps.items()))},
        "visits": visits,
        "exclusions": dict(sorted(exclusions.items())),
        "shortfalls": shortfalls,
    }
