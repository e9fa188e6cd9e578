"""Migration 8: the pool-content digests bound on the ledger, and where binding began in an older store."""

from __future__ import annotations

DESCRIPTION = "pool content bindings (ledgered digests and their per-bucket cache)"

DDL = """
-- The pool contents the ledger binds, per pool: the digest and row count of the last binding and the ledger
-- entry that carries it (docs/audit.md). A cache: `dbsj audit` recomputes the digest from the pool itself
-- and compares it with the ledger, never with this table.
CREATE TABLE IF NOT EXISTS pool_bindings (
    kind VARCHAR PRIMARY KEY,
    rows BIGINT NOT NULL,
    digest VARCHAR NOT NULL,
    ledger_seq BIGINT NOT NULL
);
-- The digest of each bucket of a pool (rows grouped by the last two characters of the first key column),
-- so a step that changes a few rows re-hashes only their buckets. A cache of the same standing.
CREATE TABLE IF NOT EXISTS pool_buckets (
    kind VARCHAR NOT NULL,
    bucket VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    digest VARCHAR NOT NULL,
    PRIMARY KEY (kind, bucket)
);
-- A store older than this migration holds pools and ledger entries made before contents were bound:
-- imports up to this id and ledger entries up to this sequence number predate binding.
INSERT INTO meta SELECT 'bound_after_import', CAST(coalesce(max(import_id), 0) AS VARCHAR) FROM imports
    ON CONFLICT DO NOTHING;
INSERT INTO meta SELECT 'bound_after_seq', CAST(coalesce(max(seq), 0) AS VARCHAR) FROM ledger
    ON CONFLICT DO NOTHING;
"""
