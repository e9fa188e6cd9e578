"""Calendars from data: a year's official schedule and a region's holidays imported into the store
(``dbsj calendar import``), consulted before chinese-calendar, bound on the ledger, refused when malformed.

``docs/calendars/2024.yaml`` transcribes 国务院办公厅关于2024年部分节假日安排的通知（国办发明电〔2023〕7号）; the
2027 file under tests/lifecycle/data is marked ``example: true``: its dates are illustrative, not official.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

import chinese_calendar
import dbsj
import lcdata
from dbsj.cli import main

D = dt.date
ROOT = Path(__file__).resolve().parents[2]
CAL_2024 = ROOT / "docs" / "calendars" / "2024.yaml"
CAL_2027 = Path(__file__).parent / "data" / "calendar-2027-example.yaml"


def _cal_rows(store) -> tuple[int, int]:
    return store.count("calendar_sources"), store.count("calendar_days")


def test_the_shipped_2024_file_agrees_with_chinese_calendar_on_every_day(store, pm):
    got = dbsj.import_calendar(store, CAL_2024)
    assert got.year == 2024 and not got.example and got.differs_from_builtin == ()
    cal = dbsj.WorkdayCalendar(pm, store)
    day = D(2024, 1, 1)
    while day.year == 2024:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)
    [sched] = dbsj.calendar_schedules(store, 2024)
    assert sched["number"] == "国办发明电〔2023〕7号" and len(sched["workdays"]) == 8
    entry = dbsj.Ledger(store).entries("calendar.imported")[-1]
    assert entry.payload["days_sha256"] == sched["days_sha256"] and entry.payload["region"] == ""


def test_an_imported_year_lets_a_december_user_record_and_publish_results_due_in_january(store, pm, tmp_path):
    first, last = dbsj.chinese_calendar_years()
    assert last == 2026, "the test stands for the year after chinese-calendar's data"
    d = lcdata.seed(store, drawn_on=D(2026, 11, 2))
    dbsj.set_now(dt.datetime(2026, 12, 22, 10, tzinfo=dbsj.clock.BEIJING))
    res = lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}, on="2026-12-21")
    with pytest.raises(dbsj.CalendarError) as info:  # 20 working days from Dec 21 run into 2027
        dbsj.record_result(store, res)
    assert "dbsj calendar import" in (info.value.hint_zh or "")
    assert store.count("results") == 0
    dbsj.import_calendar(store, CAL_2027, example=True)
    dbsj.record_result(store, res)
    [due] = dbsj.due_results(store)
    # Dec 22-31: 8 working days; Jan 1-3 off (example); Jan 4-8: 5; Sat Jan 9 worked: 1; Jan 11-15: 5; Jan 18: the 20th
    cal = dbsj.WorkdayCalendar(pm, store)
    assert not cal.is_workday(D(2027, 1, 1)) and cal.is_workday(D(2027, 1, 9))
    assert due["due"] == cal.add_workdays(D(2026, 12, 21), 20) == D(2027, 1, 18)
    dbsj.set_now(dt.datetime(2027, 1, 6, 10, tzinfo=dbsj.clock.BEIJING))
    batches = dbsj.publish(store, tmp_path / "pub", plugins=pm)
    assert sum(b.entries for b in batches) == 1


def test_regional_holidays_are_days_off_and_one_store_serves_one_region(store, pm, tmp_path):
    dbsj.import_calendar(store, CAL_2027, example=True)
    cal = dbsj.WorkdayCalendar(pm, store)
    assert not cal.is_workday(D(2027, 3, 10))            # 肉孜节 (example) on a Wednesday
    assert cal.is_workday(D(2027, 3, 11))                # not listed: the week rule
    assert not cal.is_workday(D(2027, 3, 13))            # a Saturday
    other = tmp_path / "other.yaml"
    other.write_text("format: dbsj-calendar/1\nyear: 2028\nexample: true\nsource: {title: 示例, number: 示例1号}\n"
                     "holidays: [{name: 元旦, from: 2028-01-01}]\n"
                     "region: {code: '54', name: 西藏自治区, source: {title: 示例, number: 示例2号},\n"
                     "         holidays: [{name: 藏历新年, from: 2028-02-28}]}\n", encoding="utf-8")
    before = _cal_rows(store)
    with pytest.raises(dbsj.CalendarError, match="一个存储服务一个地区"):
        dbsj.import_calendar(store, other, example=True)
    assert _cal_rows(store) == before




def test_cli_import_show_day_and_replace(tmp_path, capsys, pm):
    db = tmp_path / "c.duckdb"
    assert main(["calendar", "import", str(CAL_2024), "--db", str(db)]) == 0
    assert "已导入 2024 年全国节假日安排：列出 36 天" in capsys.readouterr().out
    assert main(["calendar", "show", "2024", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "国办发明电〔2023〕7号" in out and "2024-02-18  调休上班" in out
    assert main(["calendar", "2024-02-18", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["workday"] is True
    assert main(["calendar", "import", str(CAL_2024), "--db", str(db)]) == 2
    assert "--replace" in capsys.readouterr().err
    fixed = tmp_path / "2024.yaml"
    fixed.write_text(CAL_2024.read_text(encoding="utf-8").replace("  - {name: 端午节, from: 2024-06-10}\n", ""),
                     encoding="utf-8")
    assert main(["--lang", "en", "calendar", "import", str(fixed), "--db", str(db), "--replace"]) == 0
    cap = capsys.readouterr()
    assert "differs from the built-in chinese-calendar" in cap.err and "2024-06-10" in cap.err
    assert main(["calendar", "2024-06-10", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["workday"] is True  # the imported schedule wins
    with dbsj.Store(db, read_only=True) as s:
        entries = dbsj.Ledger(s).entries("calendar.imported")
        assert len(entries) == 2 and entries[1].payload["replaces_days_sha256"] == entries[0].payload["days_sha256"]
    assert main(["calendar", "show", "2031", "--db", str(db)]) == 2
    assert "2031" in capsys.readouterr().err


def test_an_example_file_is_refused_unless_asked_for(store, pm):
    with pytest.raises(dbsj.CalendarError, match="示例"):
        dbsj.import_calendar(store, CAL_2027)
    assert _cal_rows(store) == (0, 0)


HOSTILE = {
    "outside the year": ("  - {name: 国庆节, from: 2024-10-01, to: 2024-10-07}",
                         "  - {name: 国庆节, from: 2024-10-01, to: 2025-01-02}", "不在 2024 年内"),
    "holiday and workday": ("  - {date: 2024-10-12, name: 国庆节调休上班}", "  - {date: 2024-10-05, name: 国庆节调休上班}",
                            "既是放假日又是调休上班日"),
    "workday on a weekday": ("  - {date: 2024-10-12, name: 国庆节调休上班}", "  - {date: 2024-10-14, name: 国庆节调休上班}",
                             "是工作日"),
    "listed twice": ("  - {name: 端午节, from: 2024-06-10}", "  - {name: 端午节, from: 2024-06-10}\n"
                     "  - {name: 端午, from: 2024-06-10}", "重复列出"),
    "end before start": ("from: 2024-04-04, to: 2024-04-06", "from: 2024-04-06, to: 2024-04-04", "早于开始日"),
    "wrong format": ("format: dbsj-calendar/1", "format: dbsj-calendar/9", "format 应为"),
    "no number": ("  number: 国办发明电〔2023〕7号\n", "", "number"),
    "unknown key": ("year: 2024", "year: 2024\nholidayz: []", "holidayz"),
    "bad date": ("from: 2024-05-01, to: 2024-05-05", "from: 2024-05-01, to: 2024-05-32", "holidays"),
    "not a mapping": (None, "- 2024-01-01\n", "映射"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_malformed_schedule_is_refused_with_file_and_line_and_nothing_is_stored(case, tmp_path, capsys, pm):
    old, new, says = HOSTILE[case]
    text = CAL_2024.read_text(encoding="utf-8")
    if old is None:
        text = new
    else:
        assert old in text, case
        text = text.replace(old, new)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    db = tmp_path / "c.duckdb"
    assert main(["calendar", "import", str(bad), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert says in err and "bad.yaml" in err and "Traceback" not in err, err
    if case not in ("not a mapping",):
        assert "bad.yaml:" in err, err  # file:line
    with dbsj.Store(db, read_only=True) as s:
        assert _cal_rows(s) == (0, 0) and s.count("ledger") == 0


def test_an_altered_stored_calendar_is_refused_and_audited(tmp_path, capsys, pm):
    db = tmp_path / "c.duckdb"
    with dbsj.Store(db) as s:
        dbsj.import_calendar(s, CAL_2024)
    for sql, table in (("UPDATE calendar_days SET kind = 'workday' WHERE day = DATE '2024-10-07'", "calendar_days"),
                       ("DELETE FROM calendar_days WHERE day = DATE '2024-06-10'", "calendar_days"),
                       ("INSERT INTO calendar_days VALUES (DATE '2024-03-04', '', 'holiday', 'x')", "calendar_days"),
                       ("UPDATE calendar_sources SET number = '国办发明电〔2099〕1号'", "calendar_sources"),
                       ("UPDATE calendar_sources SET days_sha256 = repeat('0', 64)", "calendar_sources"),
                       ("DELETE FROM calendar_sources", "calendar_sources")):
        copy = tmp_path / f"t{abs(hash(sql))}.duckdb"
        shutil.copyfile(db, copy)
        con = duckdb.connect(str(copy))
        con.execute(sql)
        con.close()
        capsys.readouterr()
        assert main(["audit", "--db", str(copy), "--json"]) == 1, sql
        report = json.loads(capsys.readouterr().out)
        assert any(f["table"] == table for f in report["findings"]), (sql, report["findings"])
        if "DELETE FROM calendar_sources" not in sql and "number" not in sql:
            with dbsj.Store(copy, read_only=True) as s, pytest.raises(dbsj.CalendarError, match="dbsj audit"):
                dbsj.WorkdayCalendar(pm, s)
