"""Upsert accepted rows into a pool by natural key, recording what changed field by field.

Runs inside the caller's transaction. Counts: ``inserted`` (new keys), ``updated`` (a field differs,
or the row was inactive and is back), ``unchanged``; with ``snapshot`` the active rows whose keys
the file does not hold are deactivated (``active = false``) and counted. Keys of quarantined rows
count as present: a typo in today's file does not deactivate an entity.
"""

from __future__ import annotations

import datetime as dt

import attrs

from dbsj.models.columns import columns_of

__all__ = ["UpsertCounts", "upsert"]


@attrs.frozen
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int
    deactivated: int


def _as_text(name: str, sql_type: str, prefix: str) -> str:
    col = f"{prefix}.{name}"
    if sql_type.endswith("[]"):
        return f"array_to_string({col}, '|')"
    return f"CAST({col} AS VARCHAR)"


def upsert(con, kind: str, accepted: str, seen_keys: str | None, import_id: int,  # noqa: ANN001 - duckdb connection
           at: dt.datetime, *, snapshot: bool) -> UpsertCounts:
    """Merge table ``accepted`` (canonical columns) into pool ``kind``; ``seen_keys`` holds keys of quarantined rows."""
    cols = columns_of(kind)
    keys = [c.name for c in cols if c.key]
    others = [c for c in cols if not c.key]
    on = " AND ".join(f"p.{k} = a.{k}" for k in keys)
    key_text = " || '|' || ".join(f"coalesce(CAST(a.{k} AS VARCHAR), '')" for k in keys)
    key_text_p = key_text.replace("a.", "p.")

    names = ", ".join(c.name for c in cols)
    if con.execute(f"SELECT count(*) FROM {kind}").fetchone()[0] == 0:
        # A first import: nothing to compare with or deactivate; every row is new.
        inserted = con.execute(f"INSERT INTO {kind} ({names}, active, import_id, updated_at) "
                               f"SELECT {names}, true, ?, ? FROM {accepted}", [import_id, at]).fetchone()[0]
        return UpsertCounts(int(inserted), 0, 0, 0)

    changed = [f"(p.{c.name} IS DISTINCT FROM a.{c.name})" for c in others]
    flags = " OR ".join(f"_chg_{c.name}" for c in others) or "false"
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE _dbsj_diff AS
SELECT *, NOT _is_new AND (_revived OR {flags}) AS _changed FROM (
    SELECT a.*, {key_text} AS _key, p.{keys[0]} IS NULL AS _is_new, coalesce(NOT p.active, false) AS _revived,
           {', '.join(f'{chg} AS _chg_{c.name}' for chg, c in zip(changed, others))}
           {',' if others else ''} {', '.join(f'p.{c.name} AS _old_{c.name}' for c in others)}
    FROM {accepted} a LEFT JOIN {kind} p ON {on}
)
""")

    inserted, updated, unchanged = con.execute(
        "SELECT count(*) FILTER (_is_new), count(*) FILTER (_changed), count(*) FILTER (NOT _is_new AND NOT _changed) "
        "FROM _dbsj_diff").fetchone()

    # Field-by-field changes of existing rows (status changes, deregistrations, reactivations).
    parts = [
        f"SELECT {import_id}, '{kind}', _key, '{c.name}', {_as_text('_old_' + c.name, c.sql_type, 'd')}, "
        f"{_as_text(c.name, c.sql_type, 'd')} FROM _dbsj_diff d WHERE NOT _is_new AND _chg_{c.name}"
        for c in others
    ]
    parts.append(f"SELECT {import_id}, '{kind}', _key, 'active', 'false', 'true' FROM _dbsj_diff WHERE _revived")
    con.execute("INSERT INTO pool_changes " + " UNION ALL ".join(parts))

    if updated:
        sets = ", ".join(f"{c.name} = d.{c.name}" for c in others)
        con.execute(f"UPDATE {kind} AS p SET {sets}{', ' if sets else ''}active = true, import_id = ?, updated_at = ? "
                    f"FROM _dbsj_diff d WHERE d._changed AND {on.replace('a.', 'd.')}", [import_id, at])
    if inserted:
        con.execute(f"INSERT INTO {kind} ({names}, active, import_id, updated_at) "
                    f"SELECT {names}, true, ?, ? FROM _dbsj_diff WHERE _is_new", [import_id, at])

    deactivated = 0
    if snapshot:
        present = f"SELECT {', '.join(keys)} FROM {accepted}"
        if seen_keys:
            present += f" UNION ALL SELECT {', '.join(keys)} FROM {seen_keys}"
        absent = f"p.active AND NOT EXISTS (SELECT 1 FROM ({present}) a WHERE {on})"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _dbsj_gone AS SELECT {', '.join(keys)}, {key_text_p} AS _key "
                    f"FROM {kind} p WHERE {absent}")
        deactivated = con.execute("SELECT count(*) FROM _dbsj_gone").fetchone()[0]
        if deactivated:
            con.execute(f"INSERT INTO pool_changes SELECT {import_id}, '{kind}', _key, 'active', 'true', 'false' "
                        "FROM _dbsj_gone")
            con.execute(f"UPDATE {kind} AS p SET active = false, import_id = ?, updated_at = ? FROM _dbsj_gone a "
                        f"WHERE {on}", [import_id, at])
        con.execute("DROP TABLE IF EXISTS _dbsj_gone")
    con.execute("DROP TABLE IF EXISTS _dbsj_diff")
    return UpsertCounts(int(inserted), int(updated), int(unchanged), int(deactivated))
