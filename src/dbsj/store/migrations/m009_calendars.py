"""Migration 9: working-day calendars imported from data (``dbsj calendar import``, docs/calendar-format.md).

One row per imported schedule (a year's national schedule, or one region's holidays for a year) naming its
source notice, and one row per listed day. Days not listed follow the weekly rule (Monday–Friday work).
"""

from __future__ import annotations

DESCRIPTION = "imported working-day calendars (national schedules and regional holidays)"

DDL = """
-- One schedule per (year, region): region '' is the national schedule (State Council notice), any other value
-- a region code (GB/T 2260 prefix) whose regional holidays it lists. example = TRUE marks illustrative data.
CREATE TABLE IF NOT EXISTS calendar_sources (
    year INTEGER NOT NULL,
    region VARCHAR NOT NULL,
    region_name VARCHAR,
    title VARCHAR NOT NULL,
    number VARCHAR NOT NULL,
    url VARCHAR,
    published DATE,
    example BOOLEAN NOT NULL,
    file_name VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    days_sha256 VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    ledger_seq BIGINT,
    PRIMARY KEY (year, region)
);
-- The listed days: kind 'holiday' (a day off) or 'workday' (调休: a weekend day worked).
CREATE TABLE IF NOT EXISTS calendar_days (
    day DATE NOT NULL,
    region VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    PRIMARY KEY (day, region)
);
"""
