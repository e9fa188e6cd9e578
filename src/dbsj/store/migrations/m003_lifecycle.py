"""Migration 3: results, task lifecycle events, publications, follow-up. The lifecycle feature owns these tables."""

from __future__ import annotations

DESCRIPTION = "results, task events, publications, follow-up"

DDL = """
-- Results, one row per item of a visit: corrections are new entries (entry_no grows, supersedes names the
-- entry corrected); nothing is overwritten. record_no groups the items recorded together (one visit).
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
    supersedes BIGINT,
    record_no BIGINT,
    note VARCHAR,
    ledger_seq BIGINT
);
-- Task lifecycle transitions (planned -> drawn -> assigned -> in_progress -> results_entered -> reviewed
-- -> published -> closed), each also on the ledger.
CREATE TABLE IF NOT EXISTS task_events (
    task_id VARCHAR NOT NULL,
    plan_id VARCHAR,
    from_state VARCHAR,
    to_state VARCHAR NOT NULL,
    actor VARCHAR,
    note VARCHAR,
    recorded_at TIMESTAMPTZ NOT NULL,
    ledger_seq BIGINT NOT NULL
);
-- Publication batches: notice numbers sequential per issuing authority and year.
CREATE TABLE IF NOT EXISTS publications (
    batch_id VARCHAR PRIMARY KEY,
    authority VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    number INTEGER NOT NULL,
    notice_title VARCHAR NOT NULL,
    published_on DATE NOT NULL,
    entries BIGINT NOT NULL,
    ledger_head VARCHAR NOT NULL,
    files JSON NOT NULL,
    ledger_seq BIGINT,
    UNIQUE (authority, year, number)
);
-- Which result entries a batch published (a correction is published again in a later batch).
CREATE TABLE IF NOT EXISTS publication_entries (
    batch_id VARCHAR NOT NULL,
    entry_no BIGINT NOT NULL,
    due DATE NOT NULL,
    PRIMARY KEY (batch_id, entry_no)
);
-- Delivery receipts from dbsj_publish plug-ins.
CREATE TABLE IF NOT EXISTS publication_receipts (
    batch_id VARCHAR NOT NULL,
    plugin VARCHAR NOT NULL,
    receipt JSON NOT NULL,
    ledger_seq BIGINT NOT NULL
);
-- Follow-up events emitted by the event rules (dispositions to departments, overdue alerts, flags).
CREATE TABLE IF NOT EXISTS followups (
    kind VARCHAR NOT NULL,
    task_id VARCHAR NOT NULL,
    uscc VARCHAR NOT NULL,
    department VARCHAR NOT NULL DEFAULT '',
    detail JSON NOT NULL,
    raised_on DATE NOT NULL,
    PRIMARY KEY (kind, task_id, uscc, department)
);
"""
