"""Evaluate a plan — and its draws and results when the store has them — against the effective rules.

Two engines behind one interface: set rules are compiled to SQL and run by DuckDB over relations built
once per check (the plan's tasks, items, departments and quotas; the store's pools, selections, visits);
event rules run on :class:`dbsj.EventEngine` over the store's results. Either way the outcome is a list
of :class:`Finding` with the rule id, severity, a Chinese and an English message, and the evidence.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa

from dbsj.errors import RuleError, get_language
from dbsj.models import PROBLEM_CODES, STATUS_CODES, Plan, load_plan
from dbsj.rules.catalog import ENTITIES
from dbsj.rules.events import EventEngine
from dbsj.rules.loader import LoadedRule, RuleSet, cached_rules
from dbsj.rules.schema import CheckRule, CoverageRule, PredicateRule, RepeatRule, ShareRule
from dbsj.rules.sql import condition_sql, quote, where_sql

__all__ = ["Finding", "CheckReport", "check_plan"]

MAX_FINDINGS_PER_RULE = 200
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_runs = itertools.count(1)


@attrs.frozen(slots=True)
class Finding:
    """One thing a rule found wrong: which rule, how bad, what and where (zh/en), the evidence, the rule's source."""

    rule: str
    severity: str
    message_zh: str
    message_en: str
    evidence: dict[str, Any]
    source: str | None = None
    where: str | None = None

    @property
    def message(self) -> str:
        return self.message_zh if get_language() == "zh" else self.message_en

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message,
                "message_zh": self.message_zh, "message_en": self.message_en, "evidence": self.evidence,
                "source": self.source, "rule_file": self.where}


@attrs.frozen(slots=True)
class CheckReport:
    """The verdict on a plan: findings in a stable order and a summary. ``ok`` when no finding is an error."""

    findings: tuple[Finding, ...]
    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def by_rule(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == rule_id]

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings], "summary": self.summary}


def _jsonable(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, float):
        return round(v, 10)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _render(template: str, evidence: dict[str, Any]) -> str:
    def sub(m: re.Match[str]) -> str:
        v = evidence.get(m.group(1))
        return "—" if v is None else str(v)

    return _PLACEHOLDER.sub(sub, template)


def _short_source(source: str | None) -> str:
    if not source:
        return ""
    s = re.split(r"[;；]", source)[0].strip()
    return s if len(s) <= 80 else s[:79] + "…"


def _finding(lr: LoadedRule, evidence: dict[str, Any], default_zh: str, default_en: str) -> Finding:
    rule = lr.rule
    evidence = {k: _jsonable(v) for k, v in evidence.items()}
    zh = _render(getattr(rule, "message", None) or default_zh, evidence)
    en = _render(getattr(rule, "message_en", None) or default_en, evidence)
    src = _short_source(rule.source)
    zh += f"〔规则 {rule.id}" + (f"，依据：{src}" if src else "") + "〕"
    en += f" [rule {rule.id}" + (f"; source: {src}" if src else "") + "]"
    return Finding(rule=rule.id, severity=rule.severity, message_zh=zh, message_en=en, evidence=evidence,
                   source=rule.source, where=lr.where)


class _Relations:
    """The check's relations as temp tables ``_dbsj_chk<N>_<entity>`` on the store's connection."""

    def __init__(self, con: Any, plan: Plan, rules: RuleSet) -> None:
        self.con = con
        self.prefix = f"_dbsj_chk{next(_runs)}_"
        self.created: list[str] = []
        self.notes: list[str] = []
        self._tables: set[str] | None = None
        self._build(plan, rules)

    def name(self, entity: str) -> str:
        return self.prefix + entity

    def _has_table(self, table: str) -> bool:
        if self._tables is None:
            self._tables = {r[0] for r in self.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary").fetchall()}
        return table in self._tables

    def _create(self, entity: str, sql: str, params: list[Any] | None = None) -> None:
        """A temp table: for relations read several times, or built with parameters."""
        name = self.name(entity)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", params or [])
        self.created.append(("TABLE", name))

    def _view(self, entity: str, sql: str) -> None:
        """A temp view: store relations stay where they are (no copy); small plan relations cost nothing."""
        name = self.name(entity)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
        self.created.append(("VIEW", name))

    def _arrow(self, entity: str, table: pa.Table) -> None:
        name = self.name(entity)
        self.con.register(name, table)
        self.created.append(("ARROW", name))

    def _build(self, plan: Plan, rules: RuleSet) -> None:
        n = self.name
        empty = {"items": "SELECT NULL::VARCHAR code, NULL::VARCHAR name, NULL::VARCHAR department, "
                          "NULL::VARCHAR category, NULL::VARCHAR basis, NULL::VARCHAR subject, NULL::VARCHAR content, "
                          "NULL::VARCHAR[] target_kinds, NULL::VARCHAR[] methods WHERE FALSE"}
        if self._has_table("items"):
            self._view("items", "SELECT code, name, department, category, basis, subject, content, target_kinds, "
                                  "methods FROM items WHERE active")
        else:
            self._view("items", empty["items"])
        self._view("item_departments", f"SELECT DISTINCT department FROM {n('items')} WHERE department IS NOT NULL")
        if self._has_table("targets"):
            self._view("targets", "SELECT uscc, name, entity_kind, status, authority, office, region, industry, "
                                  "established, credit_class, tags, active FROM targets")
        else:
            self._view("targets", "SELECT NULL::VARCHAR uscc, NULL::VARCHAR name, NULL::VARCHAR entity_kind, "
                                    "NULL::VARCHAR status, NULL::VARCHAR authority, NULL::VARCHAR office, "
                                    "NULL::VARCHAR region, NULL::VARCHAR industry, NULL::DATE established, "
                                    "NULL::VARCHAR credit_class, NULL::VARCHAR[] tags, NULL::BOOLEAN active WHERE FALSE")
        if self._has_table("history"):
            self._view("history", "SELECT uscc, item_code, inspected_on, task_id FROM history WHERE active")
        else:
            self._view("history", "SELECT NULL::VARCHAR uscc, NULL::VARCHAR item_code, NULL::DATE inspected_on, "
                                    "NULL::VARCHAR task_id WHERE FALSE")

        tasks = plan.tasks
        self._arrow("tasks_raw", pa.table({
            "task_id": pa.array([t.id for t in tasks], pa.string()),
            "name": pa.array([t.name for t in tasks], pa.string()),
            "industry": pa.array([t.industry for t in tasks], pa.string()),
            "sponsor": pa.array([t.sponsor for t in tasks], pa.string()),
            "n_partners": pa.array([len(t.partners) for t in tasks], pa.int64()),
            "joint": pa.array([t.joint for t in tasks], pa.bool_()),
            "credit_linked": pa.array([t.sampling.credit_linked for t in tasks], pa.bool_()),
            "table": pa.array([t.sampling.table for t in tasks], pa.string()),
            "table_known": pa.array([None if t.sampling.table is None else rules.has_table(t.sampling.table)
                                     for t in tasks], pa.bool_()),
            "frequency": pa.array([t.frequency for t in tasks], pa.string()),
            "start": pa.array([t.start for t in tasks], pa.date32()),
            "end": pa.array([t.end for t in tasks], pa.date32()),
            "directed": pa.array([t.scope.directed for t in tasks], pa.bool_()),
            "level": pa.array([plan.level for t in tasks], pa.string()),
        }))
        pairs = [(t.id, code) for t in tasks for code in dict.fromkeys(t.items)]
        self._arrow("task_items_raw", pa.table({"task_id": pa.array([p[0] for p in pairs], pa.string()),
                                                "item_code": pa.array([p[1] for p in pairs], pa.string())}))
        self._view("task_items", f"""
            SELECT r.task_id, r.item_code, (i.code IS NOT NULL) AS item_known, i.category AS item_category,
                   i.department AS item_department
            FROM {n('task_items_raw')} r LEFT JOIN {n('items')} i ON i.code = r.item_code""")
        self._view("tasks", f"""
            SELECT t.*, coalesce(c.n_items, 0) AS n_items, coalesce(c.n_key, 0) AS n_key_items,
                   coalesce(c.n_general, 0) AS n_general_items,
                   (coalesce(c.n_general, 0) > 0 AND coalesce(c.n_general, 0) = coalesce(c.n_items, 0)) AS general_only
            FROM {n('tasks_raw')} t LEFT JOIN (
                SELECT task_id, count(*) n_items, count(*) FILTER (WHERE item_category = 'key') n_key,
                       count(*) FILTER (WHERE item_category = 'general') n_general
                FROM {n('task_items')} GROUP BY task_id) c USING (task_id)""")
        deps = [(t.id, d, "sponsor" if i == 0 else "partner") for t in tasks for i, d in enumerate(t.departments)]
        self._arrow("task_departments", pa.table({"task_id": pa.array([d[0] for d in deps], pa.string()),
                                                  "department": pa.array([d[1] for d in deps], pa.string()),
                                                  "role": pa.array([d[2] for d in deps], pa.string())}))
        quotas = []
        for t in tasks:
            if t.sampling.quota is not None:
                q = t.sampling.quota
                quotas.append((t.id, "*", q.min, q.max, q.count))
            for cls, q in sorted(t.sampling.by_class.items(), key=lambda kv: str(kv[0])):
                quotas.append((t.id, f"credit_class={getattr(cls, 'value', cls)}", q.min, q.max, q.count))
        self._arrow("task_quotas_raw", pa.table({
            "task_id": pa.array([q[0] for q in quotas], pa.string()),
            "stratum": pa.array([q[1] for q in quotas], pa.string()),
            "ratio_floor": pa.array([q[2] for q in quotas], pa.float64()),
            "ratio_ceiling": pa.array([q[3] for q in quotas], pa.float64()),
            "count": pa.array([q[4] for q in quotas], pa.int64())}))
        self._view("task_quotas", f"SELECT q.*, t.general_only, t.level, t.sponsor FROM {n('task_quotas_raw')} q "
                                    f"JOIN {n('tasks')} t USING (task_id)")
        # one row per quota and item: rules over items, their categories and departments, and the level
        self._view("task_item_quotas", f"""
            SELECT q.task_id, q.stratum, q.ratio_floor, q.ratio_ceiling, q.count, q.level, q.sponsor,
                   i.item_code, i.item_known, i.item_category, i.item_department
            FROM {n('task_quotas')} q JOIN {n('task_items')} i USING (task_id)""")

        live = "d.status NOT IN ('failed', 'superseded')"
        if self._has_table("selections") and self._has_table("draws"):
            drawn = (f"SELECT s.task_id, s.uscc, s.stratum, s.due FROM selections s JOIN draws d USING (draw_id) "
                     f"WHERE s.plan_id = ? AND {live} AND s.task_id IN (SELECT task_id FROM {n('tasks')})")
            drawn_params: list[Any] = [plan.id]
        else:
            drawn = ("SELECT NULL::VARCHAR task_id, NULL::VARCHAR uscc, NULL::VARCHAR stratum, NULL::DATE due "
                     "WHERE FALSE")
            drawn_params = []
        lists = pa.list_(pa.string())
        self._arrow("task_scopes", pa.table({
            "task_id": pa.array([t.id for t in tasks], pa.string()),
            "regions": pa.array([list(t.scope.regions) for t in tasks], lists),
            "entity_kinds": pa.array([[str(getattr(k, "value", k)) for k in t.scope.entity_kinds] for t in tasks], lists),
            "industries": pa.array([list(t.scope.industries) for t in tasks], lists),
            "tags": pa.array([list(t.scope.tags) for t in tasks], lists),
            "credit_classes": pa.array([[str(getattr(c, "value", c)) for c in t.scope.credit_classes] for t in tasks],
                                       lists)}))
        # Drawn targets with their pool rows, joined once: predicates and the scope check read this.
        in_scope = """coalesce(w.uscc IS NOT NULL
            AND (len(sc.regions) = 0 OR list_bool_or(list_transform(sc.regions, lambda p: starts_with(w.region, p))))
            AND (len(sc.entity_kinds) = 0 OR list_contains(sc.entity_kinds, w.entity_kind))
            AND (len(sc.industries) = 0 OR list_bool_or(list_transform(sc.industries, lambda p: starts_with(w.industry, p))))
            AND (len(sc.tags) = 0 OR list_has_any(sc.tags, w.tags))
            AND (len(sc.credit_classes) = 0 OR list_contains(sc.credit_classes, coalesce(w.credit_class, 'U'))), FALSE)"""
        self._create("selected_targets", f"""
            SELECT s.task_id, s.stratum, s.due, w.*, {in_scope} AS in_scope, s.uscc AS drawn_uscc
            FROM ({drawn}) s LEFT JOIN {n('targets')} w ON w.uscc = s.uscc
            LEFT JOIN {n('task_scopes')} sc ON sc.task_id = s.task_id""", drawn_params)
        self._view("selections", f"SELECT task_id, drawn_uscc AS uscc, stratum, due, in_scope "
                                   f"FROM {n('selected_targets')}")
        if self._has_table("assignments") and self._has_table("draws"):
            self._create("visits", f"""
                SELECT a.visit_id, min(a.uscc) AS uscc, count(DISTINCT a.staff_id) AS team_size,
                       count(DISTINCT a.department) AS n_departments
                FROM assignments a JOIN draws d USING (draw_id) WHERE a.plan_id = ? AND {live}
                GROUP BY a.visit_id""", [plan.id])
        else:
            self._create("visits", "SELECT NULL::VARCHAR visit_id, NULL::VARCHAR uscc, NULL::BIGINT team_size, "
                                   "NULL::BIGINT n_departments WHERE FALSE")
        counts = {e: self.con.execute(f"SELECT count(*) FROM {n(e)}").fetchone()[0]
                  for e in ("items", "targets", "history", "selections", "visits")}
        self.counts = counts
        if not counts["items"]:
            self.notes.append("no item list in the store: coverage rules have nothing to cover")

    def rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    def drop(self) -> None:
        for kind, name in reversed(self.created):
            if kind == "ARROW":
                self.con.unregister(name)
            else:
                self.con.execute(f"DROP {kind} IF EXISTS {name}")


def _require_sql(entity: str, require: dict[str, Any], alias: str | None = None) -> tuple[str, list[Any]]:
    """Each condition separately: a missing value satisfies it (nothing stated, nothing violated)."""
    parts, params = [], []
    for field, cond in require.items():
        sql, p = condition_sql(entity, field, cond, alias)
        parts.append(f"coalesce({sql}, TRUE)")
        params.extend(p)
    return "(" + " AND ".join(parts) + ")", params


def _pct(x: float | None) -> str | None:
    return None if x is None else f"{x * 100:.4g}%"


def _eval_coverage(rel: _Relations, lr: LoadedRule, limit: int) -> tuple[int, list[Finding]]:
    r: CoverageRule = lr.rule
    w, wp = where_sql(r.each, r.where, "e")
    t, tp = where_sql(r.in_.entity, r.in_.where, "t")
    exempt = f" AND e.{quote(r.key)} NOT IN ({', '.join('?' * len(r.exempt))})" if r.exempt else ""
    sql = (f"SELECT e.* FROM {rel.name(r.each)} e WHERE coalesce({w}, FALSE) AND e.{quote(r.key)} IS NOT NULL{exempt} "
           f"AND NOT EXISTS (SELECT 1 FROM {rel.name(r.in_.entity)} t WHERE coalesce({t}, FALSE) "
           f"AND t.{quote(r.in_.key)} = e.{quote(r.key)}) ORDER BY e.{quote(r.key)}")
    rows = rel.rows(sql, wp + list(r.exempt) + tp)
    return len(rows), [_finding(lr, row, f"{r.each} 中 {{{r.key}}} 未被 {r.in_.entity} 覆盖",
                                f"{r.each} {{{r.key}}} is not covered by {r.in_.entity}") for row in rows[:limit]]


def _eval_share(rel: _Relations, lr: LoadedRule, limit: int) -> tuple[int, list[Finding]]:
    r: ShareRule = lr.rule
    b, bp = where_sql(r.of, r.base)
    w, wp = where_sql(r.of, r.where)
    total, matching = rel.con.execute(
        f"SELECT count(*) FILTER (WHERE coalesce({b}, FALSE)), "
        f"count(*) FILTER (WHERE coalesce({b}, FALSE) AND coalesce({w}, FALSE)) FROM {rel.name(r.of)}",
        bp + bp + wp).fetchone()
    if not total:
        return 0, []
    share = matching / total
    if (r.min is None or share >= r.min - 1e-12) and (r.max is None or share <= r.max + 1e-12):
        return 0, []
    ev: dict[str, Any] = {"share": round(share, 6), "share_pct": _pct(share), "matching": matching, "total": total,
                          "min": r.min, "max": r.max, "min_pct": _pct(r.min), "max_pct": _pct(r.max)}
    if r.of == "tasks":
        ids = rel.rows(f"SELECT task_id FROM {rel.name('tasks')} WHERE coalesce({b}, FALSE) AND NOT coalesce({w}, FALSE) "
                       f"ORDER BY task_id", bp + wp)
        ev["not_matching"] = [x["task_id"] for x in ids]
    return 1, [_finding(lr, ev, f"{r.of} 中符合条件的占比为 {{share_pct}}，不在要求范围内",
                        f"the share of matching {r.of} is {{share_pct}}, outside the required range")]


def _eval_check(rel: _Relations, lr: LoadedRule, limit: int) -> tuple[int, list[Finding]]:
    r: CheckRule = lr.rule
    w, wp = where_sql(r.of, r.where)
    q, qp = _require_sql(r.of, r.require)
    sql = f"SELECT * FROM {rel.name(r.of)} WHERE coalesce({w}, FALSE) AND NOT {q} ORDER BY ALL"
    rows = rel.rows(sql, wp + qp)
    return len(rows), [_finding(lr, row, f"{r.of} 的一行不满足要求", f"a row of {r.of} fails the requirement")
                       for row in rows[:limit]]


def _eval_predicate(rel: _Relations, lr: LoadedRule, limit: int) -> tuple[int, list[Finding]]:
    r: PredicateRule = lr.rule
    w, wp = where_sql("targets", r.where, "t")
    sql = (f"SELECT t.task_id, t.drawn_uscc AS uscc, t.status, t.active FROM {rel.name('selected_targets')} t "
           f"WHERE NOT coalesce({w}, FALSE) ORDER BY t.task_id, t.drawn_uscc")
    rows = rel.rows(sql, wp)
    return len(rows), [_finding(lr, row, "任务 {task_id} 抽中的对象 {uscc} 不满足条件",
                                "task {task_id} drew target {uscc}, which fails the condition") for row in rows[:limit]]


def repeat_sql(rel_name: Any, r: RepeatRule) -> tuple[str, list[Any]]:
    n = rel_name
    classes = sorted(r.by_class.items())
    window = ("CASE t.credit_class " + " ".join("WHEN ? THEN ?" for _ in classes) + " ELSE ? END") if classes else "?"
    wparams: list[Any] = [x for kv in classes for x in kv] + [r.window_days]
    sql = f"""
        WITH plan_tasks AS (SELECT task_id, "end" FROM {n('tasks')}),
        sel AS MATERIALIZED (
            SELECT s.uscc, ti.item_code, coalesce(s.due, pt."end") AS on_date, s.task_id, 1 AS in_plan
            FROM {n('selections')} s JOIN {n('task_items')} ti USING (task_id) JOIN plan_tasks pt USING (task_id)),
        hist_all AS (
            SELECT h.uscc, h.item_code, h.inspected_on AS on_date, h.task_id,
                   CASE WHEN h.task_id IN (SELECT task_id FROM plan_tasks) THEN 1 ELSE 0 END AS in_plan
            FROM {n('history')} h),
        -- only (target, item) pairs with an event of this plan can hold a finding: keep whole such partitions
        keys AS MATERIALIZED (SELECT DISTINCT uscc, item_code FROM sel
                 UNION SELECT DISTINCT uscc, item_code FROM hist_all WHERE in_plan = 1),
        hist AS (
            SELECT h.* FROM hist_all h SEMI JOIN keys k ON k.uscc = h.uscc AND k.item_code = h.item_code
            -- a result recorded into history is the selection's own inspection, not a second one
            ANTI JOIN sel x ON x.uscc = h.uscc AND x.item_code = h.item_code AND x.task_id = h.task_id),
        ev AS (SELECT * FROM sel UNION ALL SELECT * FROM hist),
        ordered AS (
            SELECT *, lag(on_date) OVER w AS prev_on, lag(task_id) OVER w AS prev_task, lag(in_plan) OVER w AS prev_in
            FROM ev WINDOW w AS (PARTITION BY uscc, item_code ORDER BY on_date, task_id NULLS FIRST))
        SELECT o.uscc, o.item_code, o.prev_task AS first_task, o.prev_on AS first_on, o.task_id AS second_task,
               o.on_date AS second_on, date_diff('day', o.prev_on, o.on_date) AS days, {window} AS window_days
        FROM ordered o {"LEFT JOIN " + n('targets') + " t ON t.uscc = o.uscc" if classes else ""}
        WHERE o.prev_on IS NOT NULL AND (o.in_plan = 1 OR o.prev_in = 1)
          AND date_diff('day', o.prev_on, o.on_date) < {window}
        ORDER BY o.uscc, o.item_code, o.on_date, o.task_id"""
    return sql, wparams + wparams


def _eval_repeat(rel: _Relations, lr: LoadedRule, limit: int) -> tuple[int, list[Finding]]:
    sql, params = repeat_sql(rel.name, lr.rule)
    rows = rel.rows(sql, params)
    return len(rows), [_finding(lr, row, "对象 {uscc} 的事项 {item_code} 在 {days} 天内被检查两次",
                                "target {uscc} is inspected for item {item_code} twice within {days} days")
                       for row in rows[:limit]]


_EVALUATORS = {"coverage": _eval_coverage, "share": _eval_share, "check": _eval_check,
               "predicate": _eval_predicate, "repeat": _eval_repeat}


def _eval_events(rel: _Relations, rules: RuleSet, store: Any) -> tuple[dict[str, int], list[Finding]]:
    event_rules = rules.enabled("event")
    counts = {r.id: 0 for r in event_rules}
    if not event_rules or not rel._has_table("results"):
        return counts, []
    rows = rel.rows(f"""
        SELECT r.task_id, r.uscc, r.item_code, r.result_code, r.disposition, r.method, r.inspected_on,
               i.department, t.credit_class
        FROM results r JOIN {rel.name('tasks')} k USING (task_id)
        LEFT JOIN {rel.name('items')} i ON i.code = r.item_code
        LEFT JOIN {rel.name('targets')} t ON t.uscc = r.uscc
        WHERE r.entry_no NOT IN (SELECT supersedes FROM results WHERE supersedes IS NOT NULL)
        ORDER BY r.entry_no""", [])
    by_id = {r.id: r for r in event_rules}
    events = [{"type": "result", **{k: v for k, v in row.items() if v is not None},
               "problem": row["result_code"] in PROBLEM_CODES and row["result_code"] not in STATUS_CODES,
               "status_code": row["result_code"] in STATUS_CODES} for row in rows]
    events += _publication_events(rel, store)
    findings: list[Finding] = []
    with EventEngine([r.rule for r in event_rules]) as engine:
        for event in events:
            for em in engine.post(event):
                lr = by_id[em.rule]
                counts[em.rule] += 1
                ev = dict(em.event)
                zh = str(ev.pop("message", "") or lr.rule.name)
                en = str(ev.pop("message_en", "") or lr.rule.name_en or lr.rule.name)
                src = _short_source(lr.rule.source)
                findings.append(Finding(
                    rule=lr.id, severity=lr.rule.severity,
                    message_zh=f"{zh}〔规则 {lr.id}" + (f"，依据：{src}" if src else "") + "〕",
                    message_en=f"{en} [rule {lr.id}" + (f"; source: {src}" if src else "") + "]",
                    evidence={k: _jsonable(v) for k, v in ev.items()}, source=lr.rule.source, where=lr.where))
    return counts, findings


def _publication_events(rel: _Relations, store: Any) -> list[dict[str, Any]]:
    """One ``publication`` event per unpublished result of the plan (due date on the working-day calendar)."""
    if not rel._has_table("publications"):
        return []
    from dbsj.errors import DbsjError
    from dbsj.lifecycle import due_results

    tasks = {r["task_id"]: r["sponsor"] for r in rel.rows(f"SELECT task_id, sponsor FROM {rel.name('tasks')}", [])}
    try:
        dues = due_results(store)
    except DbsjError as exc:
        rel.notes.append(f"publication deadlines not evaluated: {exc.render('en')}")
        return []
    return [{"type": "publication", "task_id": r["task_id"], "uscc": r["uscc"], "item_code": r["item_code"],
             "due": r["due"].isoformat(), "department": tasks[r["task_id"]], "overdue": bool(r["overdue"])}
            for r in dues if r["published_on"] is None and r["task_id"] in tasks]


def _builtin_findings(store: Any, plan: Plan, plan_path: Path | None, rules: RuleSet, findings: list[Finding],
                      by_rule: dict[str, dict[str, Any]], limit: int) -> None:
    """The plan-reference checks built into dbsj (:mod:`dbsj.rules.plan_refs`)."""
    from dbsj.rules.plan_refs import BUILTIN_RULES, SOURCE, pack_departments, plan_reference_findings

    found = plan_reference_findings(store.con, plan, path=plan_path, pack_departments=pack_departments(rules),
                                    has_items_table=True)
    for rid, severity in BUILTIN_RULES.items():
        mine = [f for f in found if f[0] == rid]
        by_rule[rid] = {"kind": "builtin", "severity": severity, "status": "fail" if mine else "pass",
                        "violations": len(mine)}
        for _rid, zh, en, evidence, where in mine[:limit]:
            at = f"{where}: " if where else ""
            findings.append(Finding(rule=rid, severity=severity, message_zh=f"{at}{zh}〔规则 {rid}，dbsj 内置〕",
                                    message_en=f"{at}{en} [rule {rid}, built into dbsj]",
                                    evidence={**evidence, **({"at": where} if where else {})}, source=SOURCE))


def check_plan(plan: Plan | str | Path, store: Any = None, *, rules: RuleSet | None = None,
               rule_dirs: Iterable[str | Path] | None = None,
               max_findings_per_rule: int = MAX_FINDINGS_PER_RULE,
               plan_path: str | Path | None = None) -> CheckReport:
    """Check ``plan`` against the effective rules; the store's pools, draws and results are used when present.

    ``store`` is a :class:`dbsj.Store` (or None: an empty in-memory one — coverage then has no item list to
    cover). ``rules`` defaults to :func:`dbsj.load_rules` of ``rule_dirs`` and the plan's ``rule_packs`` (then
    only those packs, the national one and what they extend apply). ``plan_path``: the file a :class:`Plan`
    came from, for ``file:line`` in findings (implied when ``plan`` is a path). Set rules run as SQL in DuckDB;
    event rules run on :class:`dbsj.EventEngine` over the recorded results. At most
    ``max_findings_per_rule`` findings are listed per rule; the summary counts them all.
    """
    from dbsj.store import Store

    plan_path = Path(plan_path) if plan_path is not None else None
    if not isinstance(plan, Plan):
        plan_path = Path(plan)
        plan = load_plan(plan)
    if rules is None:
        rules = cached_rules(rule_dirs, plan.rule_packs or None)
    own = store is None
    if own:
        store = Store(":memory:")
    try:
        rel = _Relations(store.con, plan, rules)
        try:
            findings: list[Finding] = []
            by_rule: dict[str, dict[str, Any]] = {}
            for lr in rules.enabled():
                if lr.kind in _EVALUATORS:
                    n, found = _EVALUATORS[lr.kind](rel, lr, max_findings_per_rule)
                    findings.extend(found)
                    by_rule[lr.id] = {"kind": lr.kind, "severity": lr.rule.severity,
                                      "status": "fail" if n else "pass", "violations": n}
            counts, event_findings = _eval_events(rel, rules, store)
            for rid, n in counts.items():
                lr = rules.get(rid)
                by_rule[rid] = {"kind": "event", "severity": lr.rule.severity, "status": "fail" if n else "pass",
                                "violations": n}
                findings.extend([f for f in event_findings if f.rule == rid][:max_findings_per_rule])
            _builtin_findings(store, plan, plan_path, rules, findings, by_rule, max_findings_per_rule)
            for lr in rules:
                if lr.id not in by_rule:
                    by_rule[lr.id] = {"kind": lr.kind, "severity": lr.rule.severity,
                                      "status": "disabled" if not lr.rule.enabled else "n/a", "violations": 0}
        finally:
            rel.drop()
        order = {"error": 0, "warning": 1, "info": 2}
        findings.sort(key=lambda f: (order.get(f.severity, 3), f.rule))
        sev = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
        violations = {s: sum(v["violations"] for v in by_rule.values() if v["severity"] == s and v["kind"] != "parameter")
                      for s in ("error", "warning", "info")}
        summary = {
            "plan": plan.id, "year": plan.year, "tasks": len(plan.tasks),
            "packs": [p.id for p in rules.packs],
            "rules_evaluated": sum(1 for v in by_rule.values() if v["status"] in ("pass", "fail")),
            "errors": violations["error"], "warnings": violations["warning"], "info": violations["info"],
            "findings_listed": len(findings), "listed_by_severity": sev,
            "verdict": "pass" if violations["error"] == 0 else "fail",
            "data": rel.counts, "notes": rel.notes,
            "rules": dict(sorted(by_rule.items())),
        }
        return CheckReport(findings=tuple(findings), summary=summary)
    finally:
        if own:
            store.close()
