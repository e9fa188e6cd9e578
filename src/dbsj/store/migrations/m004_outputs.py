"""Migration 4: the journal of output files a committed step still has to put in place (crash safety)."""

from __future__ import annotations

DESCRIPTION = "pending output files (roll-forward journal)"

DDL = """
-- Files a step wrote under a temporary name in the same folder, journalled in the step's own transaction.
-- After the transaction commits each temporary file is renamed to its final name and its row deleted; a
-- crash in between is rolled forward the next time the store is opened for writing (docs/architecture.md,
-- "What dbsj guarantees under faults").
CREATE TABLE IF NOT EXISTS pending_outputs (
    step VARCHAR NOT NULL,
    temp_path VARCHAR NOT NULL PRIMARY KEY,
    final_path VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);
"""
