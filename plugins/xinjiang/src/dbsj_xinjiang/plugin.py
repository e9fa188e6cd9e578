"""The ``xinjiang`` plug-in: hook implementations (entry point ``dbsj_xinjiang.plugin``).

Options of the provide hooks (``dbsj pool pull --plugin xinjiang --option targets=20000``):
``targets`` (default 2 500 000), ``seed`` (default ``dbsj-xinjiang-2023``), ``year`` (default 2023).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

import pyarrow as pa

import dbsj
from dbsj_xinjiang.generate import SyntheticOptions, generate
from dbsj_xinjiang.holidays import regional_rest_day

#: Rows the conformance suite may see quarantined, by pool: none — every generated row is valid.
DBSJ_EXPECTED_QUARANTINE: dict[str, int] = {"items": 0, "targets": 0, "inspectors": 0}


@dbsj.hookimpl
def dbsj_provide_items(options: Mapping[str, str]) -> Iterator[pa.RecordBatch]:
    """The item list of nine departments (35 items, key and general)."""
    return generate("items", SyntheticOptions.parse(options))


@dbsj.hookimpl
def dbsj_provide_targets(options: Mapping[str, str]) -> Iterator[pa.RecordBatch]:
    """``targets`` market entities over the 14 prefectures and the county-level cities, streamed."""
    return generate("targets", SyntheticOptions.parse(options))


@dbsj.hookimpl
def dbsj_provide_inspectors(options: Mapping[str, str]) -> Iterator[pa.RecordBatch]:
    """Inspectors of every department in every county (about 4 200)."""
    return generate("inspectors", SyntheticOptions.parse(options))


@dbsj.hookimpl
def dbsj_workday(day: dt.date) -> bool | None:
    """``False`` on Xinjiang's regional holidays (肉孜节, 古尔邦节) of the years this plug-in knows, else ``None``."""
    return False if regional_rest_day(day) else None
