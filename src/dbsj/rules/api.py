"""The rules API other parts of dbsj (and agency systems) call: ratio tables, the publication deadline."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dbsj.errors import RuleError
from dbsj.rules.loader import cached_rules

__all__ = ["effective_ratio_table", "publication_deadline_days"]


def effective_ratio_table(table_id: str, rule_dirs: list[Path] | None = None, **inputs: Any) -> dict[str, Any]:
    """Credit class → :class:`dbsj.Quota` from the decision table ``table_id`` (e.g. ``ratio.daqing``,
    ``ratio.henan-2021``) of the effective rules: the shipped national pack plus ``rule_dirs``; tables of
    any shipped pack can be named. Other table inputs (e.g. ``item_category="key"``) may be given;
    classes no row covers are left out.

    >>> effective_ratio_table("ratio.henan-2021")["D"]
    Quota(min=0.3, max=None, count=None)
    """
    return cached_rules(rule_dirs).ratio_table(table_id, **inputs)


def publication_deadline_days(rule_dirs: Iterable[str | Path] | None = None) -> int:
    """Working days allowed from an inspection's end to publication (rule ``publication.deadline``; 20 nationally)."""
    rules = cached_rules(list(rule_dirs) if rule_dirs else None)
    value = rules.parameter("publication.deadline")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        lr = rules.get("publication.deadline")
        raise RuleError(f"publication.deadline 应为正整数（工作日数），实为 {value!r}",
                        f"publication.deadline must be a positive whole number of working days, got {value!r}",
                        where=lr.where)
    return value
