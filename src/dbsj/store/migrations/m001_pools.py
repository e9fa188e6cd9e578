"""Migration 1: pools, imports, pool changes and digests, plan snapshots, the ledger."""

from __future__ import annotations

from dbsj.store.pooltables import pool_table_ddl

DESCRIPTION = "pools, imports, changes, digests, plans, ledger"

DDL = "\n".join(pool_table_ddl(k) for k in ("items", "targets", "inspectors")) + """
-- history's task_id may be empty for imported history; the key is (uscc, item_code, inspected_on, task_id).
CREATE TABLE IF NOT EXISTS history (
    uscc VARCHAR NOT NULL,
    item_code VARCHAR NOT NULL,
    inspected_on DATE NOT NULL,
    task_id VARCHAR NOT NULL DEFAULT '',
    staff_ids VARCHAR[],
    active BOOLEAN NOT NULL DEFAULT TRUE,
    import_id INTEGER,
    updated_at TIMESTAMPTZ,
    PRIMARY KEY (uscc, item_code, inspected_on, task_id)
);
CREATE SEQUENCE IF NOT EXISTS import_seq START 1;
-- One row per import (file or plug-in), with its counts: read = accepted + quarantined.
CREATE TABLE IF NOT EXISTS imports (
    import_id INTEGER PRIMARY KEY,
    kind VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    source_sha256 VARCHAR,
    encoding VARCHAR,
    snapshot BOOLEAN NOT NULL,
    read BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    quarantined BIGINT NOT NULL,
    normalised BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    deactivated BIGINT NOT NULL,
    quarantine_file VARCHAR,
    imported_at TIMESTAMPTZ NOT NULL
);
-- What an upsert changed, field by field (status changes, deregistrations ...): a pool is maintained, not rebuilt.
CREATE TABLE IF NOT EXISTS pool_changes (
    import_id INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    old_value VARCHAR,
    new_value VARCHAR
);
-- Order-independent digest of each pool's active keys, maintained at import (the draw's commitment reuses it).
CREATE TABLE IF NOT EXISTS pool_digests (
    kind VARCHAR PRIMARY KEY,
    row_count BIGINT NOT NULL,
    digest VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
-- Plans are snapshotted (canonical JSON and its hash) when first used; ids unique per store.
CREATE TABLE IF NOT EXISTS plans (
    plan_id VARCHAR PRIMARY KEY,
    year INTEGER NOT NULL,
    sha256 VARCHAR NOT NULL,
    body JSON NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL
);
-- The append-only, hash-chained ledger: every draw attempt, lifecycle transition and publication.
CREATE TABLE IF NOT EXISTS ledger (
    seq BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    payload JSON NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL
);
"""

