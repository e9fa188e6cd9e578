"""The working-day calendar: national holidays and make-up workdays, plug-in calendars, no guessing."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import dbsj
from dbsj.cli import main

D = dt.date


def test_national_holidays_and_make_up_workdays(pm):
    cal = dbsj.WorkdayCalendar(pm)
    # 2023 Mid-Autumn + National Day: Sep 29 - Oct 6 off; Sat Oct 7 and Sun Oct 8 were make-up workdays.
    for day in range(1, 7):
        assert not cal.is_workday(D(2023, 10, day))
    assert not cal.is_workday(D(2023, 9, 29))
    assert cal.is_workday(D(2023, 10, 7)) and cal.is_workday(D(2023, 10, 8))
    assert cal.is_workday(D(2023, 10, 9))
    assert not cal.is_workday(D(2023, 10, 14))  # an ordinary Saturday
    assert dbsj.is_workday(D(2023, 10, 8)) is True


def test_add_workdays_skips_holidays_and_counts_make_up_days(pm):
    assert dbsj.add_workdays(D(2023, 9, 28), 1) == D(2023, 10, 7)
    assert dbsj.add_workdays(D(2023, 9, 28), 2) == D(2023, 10, 8)
    assert dbsj.add_workdays(D(2023, 9, 28), 3) == D(2023, 10, 9)
    assert dbsj.add_workdays(D(2023, 6, 1), 0) == D(2023, 6, 1)
    # 20 working days from 2023-04-20 cross the May Day holiday (Apr 29 - May 3) and its make-up days (Apr 23, May 6).
    assert dbsj.add_workdays(D(2023, 4, 20), 20) == D(2023, 5, 19)
    assert dbsj.publication_deadline(D(2023, 4, 20)) == D(2023, 5, 19)


def test_beyond_the_data_is_a_clear_error_naming_the_date(pm):
    first, last = dbsj.chinese_calendar_years()
    assert last >= 2023
    with pytest.raises(dbsj.CalendarError) as info:
        dbsj.is_workday(D(last + 1, 1, 4))
    err = info.value
    assert f"{last + 1}-01-04" in err.zh and f"{last + 1}-01-04" in err.en
    assert "dbsj_workday" in (err.hint_en or "")
    with pytest.raises(dbsj.CalendarError):
        dbsj.add_workdays(D(last, 12, 20), 20)  # crosses into the year nobody knows


class Calendar2027:
    """A calendar plug-in for 2027: weekends off, plus a regional holiday; silent about other years."""

    @dbsj.hookimpl
    def dbsj_workday(self, day):
        if day.year != 2027:
            return None
        if day == D(2027, 3, 10):
            return False
        return day.weekday() < 5


class XinjiangFestival:
    """A regional holiday in a year chinese-calendar knows: the first answer wins over the national data."""

    @dbsj.hookimpl
    def dbsj_workday(self, day):
        return False if day == D(2023, 4, 21) else None


def test_a_registered_plugin_extends_the_calendar_and_overrides_first(pm):
    pm.register(Calendar2027(), "cal2027")
    pm.register(XinjiangFestival(), "xj-festival")
    cal = dbsj.WorkdayCalendar(pm)
    assert cal.is_workday(D(2027, 3, 9)) and not cal.is_workday(D(2027, 3, 10))
    assert not cal.is_workday(D(2027, 3, 13))
    assert cal.add_workdays(D(2027, 3, 8), 3) == D(2027, 3, 12)
    assert not cal.is_workday(D(2023, 4, 21))  # a Friday, off in Xinjiang
    assert cal.is_workday(D(2023, 4, 20))       # the plug-in is silent: national data answers
    with pytest.raises(dbsj.CalendarError):
        cal.is_workday(D(2028, 1, 3))


def test_a_plugin_answering_nonsense_is_named(pm):
    class Broken:
        @dbsj.hookimpl
        def dbsj_workday(self, day):
            return "yes"

    pm.register(Broken(), "broken")
    with pytest.raises(dbsj.PluginError):
        dbsj.WorkdayCalendar(pm).is_workday(D(2023, 5, 5))


def test_calendar_cli(pm, capsys):
    assert main(["calendar", "2023-10-07", "--add", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"date": "2023-10-07", "workday": True, "add": 1, "result": "2023-10-08"}
    assert main(["calendar", "2031-01-06"]) == 2
    assert "2031-01-06" in capsys.readouterr().err
