"""Migration 6: the inputs snapshot of each assignment (``dbsj-assign/2``), keyed by the draw run.

Everything an assignment reads, as it read it, so that ``dbsj verify``, ``dbsj audit`` and the auditor's
inspector export re-derive a past assignment exactly, whatever happens to the pools afterwards. The
assignment feature owns these tables (docs/assignment.md, "Specification": the columns are the parts of the
inputs, in this order).
"""

from __future__ import annotations

DESCRIPTION = "assignment inputs snapshots"

DDL = """
-- One row per run whose assignment was computed from a snapshot: algorithm, options, the digest of every
-- part (parts: part -> SHA-256) and of the whole (inputs_sha256, also in the records and on the ledger).
CREATE TABLE IF NOT EXISTS assignment_inputs (
    run_id VARCHAR PRIMARY KEY,
    algorithm VARCHAR NOT NULL,
    options JSON NOT NULL,
    parts JSON NOT NULL,
    inputs_sha256 VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
-- The run's selections: one row per (task, target, due).
CREATE TABLE IF NOT EXISTS assignment_input_selections (
    run_id VARCHAR NOT NULL,
    task_id VARCHAR NOT NULL,
    uscc VARCHAR NOT NULL,
    due DATE NOT NULL
);
-- The run's tasks: sponsor, departments (sponsor and partners) and items, as the plan stated them.
CREATE TABLE IF NOT EXISTS assignment_input_tasks (
    run_id VARCHAR NOT NULL,
    task_id VARCHAR NOT NULL,
    sponsor VARCHAR NOT NULL,
    departments VARCHAR[] NOT NULL,
    items VARCHAR[] NOT NULL
);
-- The owning department of every item of the run's tasks (the item list's department).
CREATE TABLE IF NOT EXISTS assignment_input_items (
    run_id VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    department VARCHAR NOT NULL
);
-- The selected targets' office (管辖单位, for 所所交叉) and prefecture.
CREATE TABLE IF NOT EXISTS assignment_input_targets (
    run_id VARCHAR NOT NULL,
    uscc VARCHAR NOT NULL,
    office VARCHAR,
    prefecture VARCHAR NOT NULL
);
-- The local inspectors of the departments the visits need, with only what eligibility reads: no names,
-- no identity or certificate numbers, no phones; conflicts only where they name a target of the run.
CREATE TABLE IF NOT EXISTS assignment_input_inspectors (
    run_id VARCHAR NOT NULL,
    staff_id VARCHAR NOT NULL,
    department VARCHAR NOT NULL,
    prefecture VARCHAR NOT NULL,
    beat VARCHAR,
    certificate_expiry DATE,
    item_scope VARCHAR[] NOT NULL,
    conflicts VARCHAR[] NOT NULL,
    status VARCHAR
);
-- The history rows last-inspector recusal read: each selected target's rows of its latest inspection date.
CREATE TABLE IF NOT EXISTS assignment_input_history (
    run_id VARCHAR NOT NULL,
    uscc VARCHAR NOT NULL,
    inspected_on DATE NOT NULL,
    item_code VARCHAR NOT NULL,
    task_id VARCHAR NOT NULL,
    staff_ids VARCHAR[] NOT NULL
);
-- The dbsj_recusal plug-ins' answers: which plug-in excluded which inspector from which visit, and why.
CREATE TABLE IF NOT EXISTS assignment_input_recusals (
    run_id VARCHAR NOT NULL,
    due DATE NOT NULL,
    uscc VARCHAR NOT NULL,
    staff_id VARCHAR NOT NULL,
    plugin VARCHAR NOT NULL,
    reason VARCHAR NOT NULL
);
"""
