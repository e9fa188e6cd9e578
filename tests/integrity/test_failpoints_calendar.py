"""Kill a real process (SIGKILL) in the middle of ``dbsj calendar import`` and just after its commit.

Before the commit the store holds nothing of the import (no schedule, no day, no ledger entry) and the same
import then succeeds; after it, everything, and importing again is refused as a duplicate. Either way the
audit finds nothing and the calendar answers from what is stored.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import dbsj
from harness import run_to_failpoint

EXERCISED = {"calendar.import.after-rows", "calendar.import.after-commit"}

FILE = Path(__file__).resolve().parents[1] / "lifecycle" / "data" / "calendar-2027-example.yaml"

IMPORT = """
import dbsj
with dbsj.Store({db!r}) as store:
    dbsj.import_calendar(store, {file!r}, example=True)
"""


@pytest.mark.parametrize("point", sorted(EXERCISED))
def test_a_killed_calendar_import_leaves_nothing_or_everything(tmp_path, point):
    db = tmp_path / "store.duckdb"
    with dbsj.Store(db):
        pass
    run_to_failpoint(IMPORT.format(db=str(db), file=str(FILE)), point)
    with dbsj.Store(db) as store:
        report = dbsj.audit_store(store)
        assert report.ok, [f.render("en") for f in report.findings]
        kinds = [e.kind for e in dbsj.Ledger(store).entries()]
        if point.endswith("after-commit"):
            assert (store.count("calendar_sources"), kinds.count("calendar.imported")) == (2, 2)
            with pytest.raises(dbsj.CalendarError, match="已导入"):
                dbsj.import_calendar(store, FILE, example=True)
        else:
            assert (store.count("calendar_sources"), store.count("calendar_days"), kinds.count("calendar.imported")) \
                == (0, 0, 0)
            dbsj.import_calendar(store, FILE, example=True)
        assert not dbsj.WorkdayCalendar(dbsj.PluginManager(load_entry_points=False), store).is_workday(dt.date(2027, 3, 10))
        assert dbsj.audit_store(store).ok
