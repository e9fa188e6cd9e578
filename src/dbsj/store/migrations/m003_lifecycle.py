"""Migration 3: results, task lifecycle events, publications. The lifecycle feature owns these tables."""

from __future__ import annotations

DESCRIPTION = "results, task events, publications"

DDL = """
-- Results: corrections are new entries (entry_no grows); nothing is overwritten.
CREATE SEQUENCE IF NOT EXISTS result_seq START 1;
CREATE TABLE IF NOT EXISTS results (
    entry_no BIGINT PRIMARY KEY,
    plan_id VARCHAR NOT NULL,
    task_id VARCHAR NOT NULL,
    uscc VARCHAR NOT NULL,
    staff_id VARCHAR NOT NULL,
    item_code VARCHAR NOT NULL,
    result_code VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    disposition VARCHAR NOT NULL,
    inspected_on DATE NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    supersedes BIGINT
);
"""
