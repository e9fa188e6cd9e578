"""Who may be drawn: strata labels and eligibility of a task's targets, set-wise in SQL.

Every active target of the pool lands in exactly one place: eligible (with its stratum label) or excluded
under the *first* reason that applies, in the order of :data:`EXCLUSION_REASONS` — so the counts add up to
the pool. Anti-repeat reads the ``history`` pool and earlier drawn selections of other tasks covering the
same items (docs/draws.md).
"""

from __future__ import annotations

import datetime as dt
from dbsj.draw.tickets import sql_literal
from dbsj.errors import PlanError
from dbsj.models.plans import Task
from dbsj.models.regions import prefecture_sql

__all__ = ["STRATUM_FIELDS", "EXCLUSION_REASONS", "stratum_sql", "classify_sql", "recent_sql", "parse_stratum",
           "reason_label"]

#: Target fields a task may stratify by, and the SQL giving each field's stratum value.
STRATUM_FIELDS: dict[str, str] = {
    # U = unclassified (blank cell)
    "credit_class": "coalesce(nullif(trim(t.credit_class), ''), 'U')",
    # prefecture: first four digits + '00', except county-level cities directly under the province (xx90xx)
    "region": prefecture_sql("t.region"),
    "entity_kind": "coalesce(t.entity_kind, '')",
    # GB/T 4754 section letter (门类)
    "industry": "coalesce(upper(substr(t.industry, 1, 1)), '')",
    "office": "coalesce(t.office, '')",
}

#: Exclusion reasons, tested in this order; each target is counted under the first that applies.
EXCLUSION_REASONS: dict[str, tuple[str, str]] = {
    "status": ("登记状态不在任务范围内（如注销、吊销、迁出）", "registration status outside the task's statuses"),
    "scope_region": ("不在任务的区域范围内", "outside the task's regions"),
    "scope_entity_kind": ("主体类型不在任务范围内", "entity kind outside the task's scope"),
    "scope_industry": ("行业不在任务范围内", "industry outside the task's scope"),
    "scope_tags": ("无任务要求的监管标签", "carries none of the task's supervision tags"),
    "scope_credit_class": ("信用风险分类不在任务范围内", "credit class outside the task's scope"),
    "item_not_applicable": ("任务的抽查事项不适用于该主体类型", "none of the task's items applies to its entity kind"),
    "recently_inspected": ("近期已就同一事项接受检查（防重复检查）", "inspected for the same item within the repeat window"),
}


def stratum_sql(fields: tuple[str, ...]) -> str:
    """SQL of a target's canonical stratum label: ``name=value`` for each field in sorted order, joined by ``|``;
    ``*`` when the task is not stratified."""
    unknown = [f for f in fields if f not in STRATUM_FIELDS]
    if unknown:
        raise PlanError(f"未知的分层字段: {', '.join(unknown)}", f"unknown stratum field(s): {', '.join(unknown)}",
                        hint_zh=f"可选: {', '.join(STRATUM_FIELDS)}", hint_en=f"choose from: {', '.join(STRATUM_FIELDS)}")
    names = sorted(set(fields))
    if not names:
        return "'*'"
    parts = [f"'{name}=' || {STRATUM_FIELDS[name]}" for name in names]
    return " || '|' || ".join(parts)


def parse_stratum(label: str) -> dict[str, str]:
    """``credit_class=A|region=650100`` → ``{"credit_class": "A", "region": "650100"}`` (``*`` → ``{}``)."""
    if label == "*":
        return {}
    return dict(part.split("=", 1) for part in label.split("|"))


def _any_prefix(column: str, prefixes: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"starts_with({column}, {sql_literal(p)})" for p in prefixes) + ")"


def _in(expr: str, values: tuple[str, ...]) -> str:
    return f"{expr} IN ({', '.join(sql_literal(str(v)) for v in values)})"


def recent_sql(task: Task, plan_id: str, as_of: dt.date, window_days: int) -> str:
    """Targets inspected (history) or drawn by another task's standing draw for one of ``task``'s items
    within ``window_days`` before ``as_of`` (or after it: an earlier draw of the same year counts too)."""
    if window_days <= 0:
        return "SELECT NULL::VARCHAR AS uscc WHERE FALSE"
    items = ", ".join(sql_literal(i) for i in task.items)
    since = sql_literal((as_of - dt.timedelta(days=window_days)).isoformat())
    return f"""
        SELECT uscc FROM history
        WHERE active AND item_code IN ({items}) AND inspected_on > {since}::DATE
        UNION
        SELECT s.uscc FROM selections s
        JOIN draws d ON d.draw_id = s.draw_id
        JOIN draw_items di ON di.draw_id = s.draw_id
        WHERE d.status = 'drawn' AND di.item_code IN ({items}) AND s.due > {since}::DATE
          AND NOT (d.plan_id = {sql_literal(plan_id)} AND d.task_id = {sql_literal(task.id)})"""


def classify_sql(task: Task, plan_id: str, *, item_kinds: tuple[str, ...] | None, as_of: dt.date,
                 window_days: int) -> str:
    """SQL over the active targets: ``uscc, stratum, reason`` (reason NULL = eligible).

    ``item_kinds``: entity kinds any of the task's items applies to (``None`` = every kind).
    """
    scope = task.scope
    tests: list[tuple[str, str]] = [("status", _in("coalesce(t.status, '')", scope.statuses) if scope.statuses else "FALSE")]
    if scope.regions:
        tests.append(("scope_region", _any_prefix("t.region", scope.regions)))
    if scope.entity_kinds:
        tests.append(("scope_entity_kind", _in("t.entity_kind", tuple(str(k) for k in scope.entity_kinds))))
    if scope.industries:
        tests.append(("scope_industry", _any_prefix("coalesce(t.industry, '')", scope.industries)))
    if scope.tags:
        tags = ", ".join(sql_literal(x) for x in scope.tags)
        tests.append(("scope_tags", f"list_has_any(coalesce(t.tags, []::VARCHAR[]), [{tags}])"))
    if scope.credit_classes:
        tests.append(("scope_credit_class", _in(STRATUM_FIELDS["credit_class"], tuple(str(c) for c in scope.credit_classes))))
    if item_kinds is not None:
        tests.append(("item_not_applicable", _in("t.entity_kind", item_kinds) if item_kinds else "FALSE"))
    tests.append(("recently_inspected", "r.uscc IS NULL"))
    case = "CASE " + " ".join(f"WHEN NOT coalesce({cond}, FALSE) THEN '{reason}'" for reason, cond in tests) + " END"
    return f"""
        WITH r AS (SELECT DISTINCT uscc FROM ({recent_sql(task, plan_id, as_of, window_days)}))
        SELECT t.uscc AS uscc, {stratum_sql(task.sampling.strata)} AS stratum, {case} AS reason
        FROM targets t LEFT JOIN r ON r.uscc = t.uscc
        WHERE t.active"""


def reason_label(reason: str, lang: str) -> str:
    zh, en = EXCLUSION_REASONS.get(reason, (reason, reason))
    return zh if lang == "zh" else en
