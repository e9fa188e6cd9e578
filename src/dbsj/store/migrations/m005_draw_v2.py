"""Migration 5: draw v2 — each draw's sealing key.

The draw feature owns this table.
"""

from __future__ import annotations

DESCRIPTION = "draw v2: sealing keys"

DDL = """
-- One sealing key per draw attempt (dbsj-sha256-bottomk/2): 32 bytes from the operating system's CSPRNG,
-- made at commit time, committed by its SHA-256 (commitment.seal_sha256) before any seed exists. Ticket keys,
-- the batch order and the salted stratum digests depend on it. Auditors receive it with the auditor record;
-- a task that uses no confidential field publishes it in its public record (docs/draw-spec.md).
CREATE TABLE IF NOT EXISTS draw_seals (
    draw_id VARCHAR PRIMARY KEY,
    seal BLOB NOT NULL,
    seal_sha256 VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
"""
