"""Decision tables: evaluate one input with a trace of which row fired, and prove ``unique`` tables overlap-free."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import Any

import attrs

from dbsj.rules.schema import TABLE_INPUTS, DecisionTable, FieldCondition, TableRow

__all__ = ["Decision"]


@attrs.frozen(slots=True)
class Decision:
    """The outcome of a decision table for one input: the row that fired (1-based, None if none), its outputs,
    and the trace — for every row, whether it matched — in evaluation order."""

    table: str
    inputs: Mapping[str, Any]
    row: int | None
    ratio: Any
    frequency: str | None
    trace: tuple[tuple[int, bool], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "inputs": dict(self.inputs), "row": self.row,
                "ratio": self.ratio.model_dump(exclude_none=True) if self.ratio is not None else None,
                "frequency": self.frequency, "trace": [{"row": r, "matched": m} for r, m in self.trace]}


def canonical(table: DecisionTable, name: str, value: Any) -> Any:
    return table.aliases.get(name, {}).get(value, value) if isinstance(value, str) else value


def _holds(table: DecisionTable, name: str, cond: FieldCondition, value: Any) -> bool:
    v = canonical(table, name, value)
    if cond.exists is not None and (v is not None) != cond.exists:
        return False
    if v is None:
        return cond.exists is False and all(getattr(cond, op) is None for op in ("eq", "ne", "lt", "lte", "gt", "gte",
                                                                                "in_", "matches"))
    checks = []
    if cond.eq is not None:
        checks.append(v == canonical(table, name, cond.eq))
    if cond.ne is not None:
        checks.append(v != canonical(table, name, cond.ne))
    if cond.in_ is not None:
        checks.append(v in [canonical(table, name, x) for x in cond.in_])
    try:
        if cond.lt is not None:
            checks.append(v < cond.lt)
        if cond.lte is not None:
            checks.append(v <= cond.lte)
        if cond.gt is not None:
            checks.append(v > cond.gt)
        if cond.gte is not None:
            checks.append(v >= cond.gte)
    except TypeError:
        return False
    if cond.matches is not None:
        checks.append(re.fullmatch(cond.matches, str(v)) is not None)
    return all(checks)


def row_matches(table: DecisionTable, row: TableRow, inputs: Mapping[str, Any]) -> bool:
    return all(_holds(table, name, cond, inputs.get(name)) for name, cond in row.when.items())


def evaluation_order(table: DecisionTable) -> list[int]:
    order = list(range(len(table.rows)))
    if table.hit_policy == "priority":
        order.sort(key=lambda i: -(table.rows[i].priority or 0))
    return order


def evaluate(table: DecisionTable, inputs: Mapping[str, Any]) -> Decision:
    """Apply the hit policy to ``inputs`` (missing inputs are None)."""
    trace = []
    fired = None
    for i in evaluation_order(table):
        ok = row_matches(table, table.rows[i], inputs)
        trace.append((i + 1, ok))
        if ok and fired is None:
            fired = i
            if table.hit_policy != "unique":
                break
    row = table.rows[fired] if fired is not None else None
    return Decision(table=table.id, inputs=dict(inputs), row=None if fired is None else fired + 1,
                    ratio=row.ratio if row else None, frequency=row.frequency if row else None, trace=tuple(trace))


def _candidates(table: DecisionTable, name: str) -> list[Any]:
    domain = TABLE_INPUTS[name]
    if domain is not None:
        return [*domain, None]
    seen: list[Any] = [None, "\x00other"]
    for row in table.rows:
        cond = row.when.get(name)
        if cond is None:
            continue
        for v in (cond.eq, cond.ne, cond.lt, cond.lte, cond.gt, cond.gte, *(cond.in_ or ())):
            if v is not None and v not in seen:
                seen.append(canonical(table, name, v))
    return seen


def overlaps(table: DecisionTable, limit: int = 20000) -> list[tuple[int, int, dict[str, Any]]]:
    """Pairs of rows (1-based) that match a common input, with one such input (``unique`` tables must have none)."""
    names = list(table.inputs)
    domains = [_candidates(table, n) for n in names]
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for n, combo in enumerate(itertools.product(*domains)):
        if n >= limit:
            break
        inputs = dict(zip(names, combo))
        hits = [i for i, row in enumerate(table.rows) if row_matches(table, row, inputs)]
        for a, b in itertools.combinations(hits, 2):
            found.setdefault((a + 1, b + 1), {k: v for k, v in inputs.items() if v is not None})
    return [(a, b, example) for (a, b), example in sorted(found.items())]
