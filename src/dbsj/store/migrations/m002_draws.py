"""Migration 2: draws, their eligible sets and exclusions, selections, visits and inspector assignments.

Tables other features read (lifecycle, rules, assessment) — keep these columns:
``draws``, ``selections``, ``assignments``. The draw feature may add tables and columns.
"""

from __future__ import annotations

DESCRIPTION = "draws, eligible sets, exclusions, selections, assignments"

DDL = """
-- One row per draw attempt (every attempt, failed ones too); status: committed | drawn | failed | superseded.
CREATE TABLE IF NOT EXISTS draws (
    draw_id VARCHAR PRIMARY KEY,
    plan_id VARCHAR NOT NULL,
    task_id VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    algorithm VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    seed_kind VARCHAR,
    record_path VARCHAR,
    ledger_seq BIGINT,
    created_at TIMESTAMPTZ NOT NULL,
    summary JSON,
    run_id VARCHAR,
    commitment_sha256 VARCHAR
);
-- A run: the tasks committed together and revealed with one seed (their visits merge in assignment).
-- status: committed | drawn | failed. protocol: the seed protocol fixed in the commitments.
CREATE TABLE IF NOT EXISTS draw_runs (
    run_id VARCHAR PRIMARY KEY,
    plan_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    draw_ids VARCHAR[] NOT NULL,
    protocol JSON NOT NULL,
    one_shot BOOLEAN NOT NULL,
    committed_at TIMESTAMPTZ NOT NULL,
    seed JSON,
    revealed_at TIMESTAMPTZ
);
-- The items each draw covers (anti-repeat reads earlier selections through it).
CREATE TABLE IF NOT EXISTS draw_items (
    draw_id VARCHAR NOT NULL,
    item_code VARCHAR NOT NULL
);
-- The eligible set each draw committed to (so verify works after pools change).
CREATE TABLE IF NOT EXISTS draw_eligible (
    draw_id VARCHAR NOT NULL,
    stratum VARCHAR NOT NULL,
    uscc VARCHAR NOT NULL
);
-- Targets excluded before the draw, one row per target and reason (counted per reason in the record).
CREATE TABLE IF NOT EXISTS draw_exclusions (
    draw_id VARCHAR NOT NULL,
    uscc VARCHAR NOT NULL,
    reason VARCHAR NOT NULL
);
-- Selected targets, in rank order within each stratum; batch and due date from the task's batches.
CREATE TABLE IF NOT EXISTS selections (
    draw_id VARCHAR NOT NULL,
    plan_id VARCHAR NOT NULL,
    task_id VARCHAR NOT NULL,
    stratum VARCHAR NOT NULL,
    rank INTEGER NOT NULL,
    uscc VARCHAR NOT NULL,
    ticket VARCHAR NOT NULL,
    batch VARCHAR,
    due DATE
);
-- Inspector assignment, one row per (task, target, inspector); a visit merges one target's tasks of one window.
CREATE TABLE IF NOT EXISTS assignments (
    draw_id VARCHAR NOT NULL,
    plan_id VARCHAR NOT NULL,
    visit_id VARCHAR NOT NULL,
    task_id VARCHAR NOT NULL,
    uscc VARCHAR NOT NULL,
    staff_id VARCHAR NOT NULL,
    department VARCHAR NOT NULL,
    due DATE
);
-- Inspector-target pairs excluded (recusal, certificate, scope, beat, last inspector, plug-ins), by reason.
CREATE TABLE IF NOT EXISTS assignment_exclusions (
    draw_id VARCHAR NOT NULL,
    staff_id VARCHAR NOT NULL,
    uscc VARCHAR,
    reason VARCHAR NOT NULL
);
"""
