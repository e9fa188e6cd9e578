"""What set rules can refer to: entities (relations) and their typed columns.

A rule names an entity (``tasks``, ``items`` …) and columns of it; the loader checks both against this
catalog, and checks values against the column's domain (departments, credit classes, item categories),
so a typo is reported with file:line before anything runs. :mod:`dbsj.rules.check` builds each entity as
a DuckDB relation named ``rules_<entity>``.
"""

from __future__ import annotations

from typing import Any


# column kinds: text, number, bool, date, department, credit_class, category, list
ENTITIES: dict[str, dict[str, str]] = {
    "items": {"code": "text", "name": "text", "department": "department", "category": "category",
              "basis": "text", "subject": "text", "content": "text", "target_kinds": "list", "methods": "list"},
    "item_departments": {"department": "department"},
    "targets": {"uscc": "text", "name": "text", "entity_kind": "text", "status": "text", "authority": "text",
                "office": "text", "region": "text", "industry": "text", "established": "date",
                "credit_class": "credit_class", "tags": "list", "active": "bool"},
    "history": {"uscc": "text", "item_code": "text", "inspected_on": "date", "task_id": "text"},
    "tasks": {"task_id": "text", "name": "text", "industry": "text", "sponsor": "department",
              "n_partners": "number", "joint": "bool", "credit_linked": "bool", "table": "text",
              "table_known": "bool", "frequency": "text", "start": "date", "end": "date", "n_items": "number",
              "n_key_items": "number", "n_general_items": "number", "general_only": "bool",
              "directed": "bool", "level": "text"},
    "task_items": {"task_id": "text", "item_code": "text", "item_known": "bool", "item_category": "category",
                   "item_department": "department"},
    "task_departments": {"task_id": "text", "department": "department", "role": "text"},
    "task_quotas": {"task_id": "text", "stratum": "text", "ratio_floor": "number", "ratio_ceiling": "number",
                    "count": "number", "general_only": "bool", "level": "text", "sponsor": "department"},
    "task_item_quotas": {"task_id": "text", "stratum": "text", "ratio_floor": "number", "ratio_ceiling": "number",
                         "count": "number", "level": "text", "sponsor": "department", "item_code": "text",
                         "item_known": "bool", "item_category": "category", "item_department": "department"},
    "selections": {"task_id": "text", "uscc": "text", "stratum": "text", "due": "date", "in_scope": "bool"},
    "visits": {"visit_id": "text", "uscc": "text", "team_size": "number", "n_departments": "number"},
}

#: Closed value domains. Departments are open (docs/rules.md): a pack may name any department — a county's
#: 粮食行政管理 or 教育 as well as the built-in ten; a plan's near-misses are check warnings (plan_refs).
DOMAINS: dict[str, tuple[str, ...]] = {
    "credit_class": ("A", "B", "C", "D", "U"),
    "category": ("key", "general"),
}


def check_value(kind: str, value: Any) -> str | None:
    """Why ``value`` cannot be compared with a column of ``kind`` (None when it can)."""
    if value is None:
        return None
    if kind == "bool" and not isinstance(value, bool):
        return f"expected true or false, got {value!r}"
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"expected a number, got {value!r}"
    if kind in ("text", "date", "department", "credit_class", "category", "list") and not isinstance(value, str):
        return f"expected text, got {value!r}"
    if kind == "date":
        import datetime as dt

        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return f"expected a date YYYY-MM-DD, got {value!r}"
    if kind == "department" and (not value.strip() or len(value) > 50 or any(ord(c) < 32 for c in value)):
        return f"expected a department name (1-50 characters, no control characters), got {value!r}"
    domain = DOMAINS.get(kind)
    if domain is not None and value not in domain:
        what = {"credit_class": "credit class", "category": "item category"}[kind]
        return f"unknown {what} {value!r}; expected one of {', '.join(domain)}"
    return None
