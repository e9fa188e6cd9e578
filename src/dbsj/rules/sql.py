"""Compile set-rule conditions to DuckDB SQL.

Values never enter SQL text: every value is a bound parameter, every column name was checked against
the catalog (:mod:`dbsj.rules.catalog`) and is quoted. A rule file cannot inject SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dbsj.rules.catalog import ENTITIES
from dbsj.rules.schema import DecisionTable, FieldCondition

__all__: list[str] = []

_CAST = {"date": "CAST(? AS DATE)", "number": "CAST(? AS DOUBLE)"}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def condition_sql(entity: str, field: str, cond: FieldCondition, alias: str | None = None) -> tuple[str, list[Any]]:
    """One field's condition as a SQL boolean expression (NULL when the value is missing)."""
    kind = ENTITIES[entity][field]
    col = f"{alias}.{quote(field)}" if alias else quote(field)
    ph = _CAST.get(kind, "?")
    parts: list[str] = []
    params: list[Any] = []
    if kind == "list":
        if cond.eq is not None:
            parts.append(f"list_contains({col}, ?)")
            params.append(cond.eq)
        if cond.ne is not None:
            parts.append(f"NOT list_contains({col}, ?)")
            params.append(cond.ne)
        if cond.in_ is not None:
            parts.append(f"list_has_any({col}, ?::VARCHAR[])")
            params.append(list(cond.in_))
    else:
        parts, params = scalar_condition_parts(col, cond, ph=ph, text=f"CAST({col} AS VARCHAR)")
    if cond.exists is not None:
        parts.append(f"{col} IS {'NOT ' if cond.exists else ''}NULL")
    return "(" + " AND ".join(parts) + ")", params


def scalar_condition_parts(expr: str, cond: FieldCondition, *, ph: str = "?", text: str | None = None,
                           mapped: Callable[[Any], Any] = lambda v: v) -> tuple[list[str], list[Any]]:
    """The comparisons of a condition on a scalar ``expr``: eq/ne/in (values passed through ``mapped``,
    e.g. a decision table's aliases), lt/lte/gt/gte, and ``matches`` over ``text`` (default ``expr``)."""
    parts: list[str] = []
    params: list[Any] = []
    for op, sql_op in (("eq", "="), ("ne", "<>")):
        value = getattr(cond, op)
        if value is not None:
            parts.append(f"{expr} {sql_op} {ph}")
            params.append(mapped(value))
    if cond.in_ is not None:
        parts.append(f"{expr} IN ({', '.join([ph] * len(cond.in_))})")
        params.extend(mapped(v) for v in cond.in_)
    for op, sql_op in (("lt", "<"), ("lte", "<="), ("gt", ">"), ("gte", ">=")):
        value = getattr(cond, op)
        if value is not None:
            parts.append(f"{expr} {sql_op} {ph}")
            params.append(value)
    if cond.matches is not None:
        parts.append(f"regexp_full_match({text or expr}, ?)")
        params.append(cond.matches)
    return parts, params


def where_sql(entity: str, where: dict[str, FieldCondition], alias: str | None = None) -> tuple[str, list[Any]]:
    """A conjunction of field conditions; ``TRUE`` when empty."""
    if not where:
        return "TRUE", []
    parts, params = [], []
    for field, cond in where.items():
        sql, p = condition_sql(entity, field, cond, alias)
        parts.append(sql)
        params.extend(p)
    return "(" + " AND ".join(parts) + ")", params


def table_case_sql(table: DecisionTable, columns: dict[str, str]) -> tuple[str, list[Any]]:
    """A CASE expression giving the 1-based number of the row that fires for each input row (NULL: none).

    ``columns`` maps each table input to a SQL expression of the relation being classified. Rows are
    tried in hit-policy order: file order for ``unique`` and ``first``, highest priority first for
    ``priority`` (``unique`` tables were proven overlap-free at load).
    """
    order = list(range(len(table.rows)))
    if table.hit_policy == "priority":
        order.sort(key=lambda i: -(table.rows[i].priority or 0))
    whens, params = [], []
    for i in order:
        row = table.rows[i]
        conds = []
        for name, cond in row.when.items():
            expr = columns[name]
            alias_map = table.aliases.get(name, {})
            parts, values = scalar_condition_parts(expr, cond, mapped=lambda v, m=alias_map: m.get(v, v))
            conds.extend(parts)
            params.extend(values)
            if cond.exists is not None:
                conds.append(f"{expr} IS {'NOT ' if cond.exists else ''}NULL")
        whens.append(f"WHEN {' AND '.join(conds) or 'TRUE'} THEN {i + 1}")
    return "CASE " + " ".join(whens) + " END", params
