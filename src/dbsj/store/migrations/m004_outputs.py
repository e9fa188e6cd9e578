"""Migration 4: crash safety — output files a committed step still has to put in place, steps in progress."""

from __future__ import annotations

DESCRIPTION = "pending output files (roll-forward journal), steps in progress"

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
-- Steps spanning several transactions (draw commit and reveal, publication): a row exists from the step's
-- begin until its outcome commits; a row found when the store is opened marks a step that died.
CREATE TABLE IF NOT EXISTS steps_in_progress (
    step_id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    detail JSON NOT NULL,
    begun_at TIMESTAMPTZ NOT NULL
);
"""
