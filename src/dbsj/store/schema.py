"""The store's schema, as an ordered list of migrations. docs/architecture.md describes every table.

A store records its schema version in ``meta``; opening an older store applies the missing migrations,
opening a newer one is refused (upgrade dbsj). Migrations are append-only: never edit a released one.
Each migration is a module in :mod:`dbsj.store.migrations` with ``DESCRIPTION`` and ``DDL``.
"""

from __future__ import annotations

from dbsj.store.migrations import (
    m001_pools,
    m002_draws,
    m003_lifecycle,
    m004_outputs,
    m005_draw_v2,
    m006_assignment_inputs,
    m008_bindings,
    m009_calendars,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

#: (version, description, DDL). Append new migrations; never edit a released one.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, m001_pools.DESCRIPTION, m001_pools.DDL),
    (2, m002_draws.DESCRIPTION, m002_draws.DDL),
    (3, m003_lifecycle.DESCRIPTION, m003_lifecycle.DDL),
    (4, m004_outputs.DESCRIPTION, m004_outputs.DDL),
    (5, m005_draw_v2.DESCRIPTION, m005_draw_v2.DDL),
    (6, m006_assignment_inputs.DESCRIPTION, m006_assignment_inputs.DDL),
    (8, m008_bindings.DESCRIPTION, m008_bindings.DDL),
    (9, m009_calendars.DESCRIPTION, m009_calendars.DDL),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]
