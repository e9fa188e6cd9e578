"""DDL of the pool tables, derived from the canonical column table (:data:`dbsj.POOL_COLUMNS`)."""

from __future__ import annotations

from dbsj.models.columns import POOL_COLUMNS

__all__ = ["pool_table_ddl"]

def pool_table_ddl(kind: str, table: str | None = None) -> str:
    """DDL of a pool table: the canonical columns plus bookkeeping (active flag, import run, update time)."""
    cols = POOL_COLUMNS[kind]
    body = ",\n    ".join(f"{c.name} {c.sql_type}" + (" NOT NULL" if c.required and c.key else "") for c in cols)
    keys = ", ".join(c.name for c in cols if c.key)
    return f"""
CREATE TABLE IF NOT EXISTS {table or kind} (
    {body},
    active BOOLEAN NOT NULL DEFAULT TRUE,
    import_id INTEGER,
    updated_at TIMESTAMPTZ,
    PRIMARY KEY ({keys})
);"""


