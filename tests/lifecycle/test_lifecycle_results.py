"""Recording results: 谁检查、谁录入; every bad input refused with nothing written; corrections never overwrite."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import dbsj
import lcdata
from dbsj.cli import main

TABLES = ("results", "history", "ledger", "task_events")


def counts(store):
    return {t: store.count(t) for t in TABLES}


def test_an_assigned_inspector_records_one_visit_with_many_items(seeded):
    store, d = seeded
    rec = dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S3", {"A07": "未发现问题", "B01": "发现问题经责令已改正"},
                                                  disposition="责令整改"))
    assert rec.task_id == "T1" and rec.uscc == d.t1[0] and len(rec.entry_nos) == 2
    assert rec.due == dt.date(2023, 6, 7)  # 20 working days after 2023-05-10 (Dragon Boat: Jun 22 is later)
    rows = store.execute("SELECT item_code, result_code, staff_id, disposition, record_no FROM results ORDER BY item_code").fetchall()
    assert rows == [("A07", "未发现问题", "S3", "责令整改", rec.entry_nos[0]), ("B01", "发现问题经责令已改正", "S3", "责令整改", rec.entry_nos[0])]
    hist = store.execute("SELECT uscc, item_code, inspected_on, task_id, staff_ids FROM history ORDER BY item_code").fetchall()
    assert hist == [(d.t1[0], "A07", dt.date(2023, 5, 10), "T1", ["S1", "S3"]),
                    (d.t1[0], "B01", dt.date(2023, 5, 10), "T1", ["S1", "S3"])]
    entry = dbsj.Ledger(store).entries("result.recorded")[-1]
    assert entry.payload["uscc"] == d.t1[0] and entry.payload["items"] == {"A07": "未发现问题", "B01": "发现问题经责令已改正"}
    assert dbsj.Ledger(store).verify() > 0


@pytest.mark.parametrize("case", ["unassigned", "other_task_team", "not_drawn", "failed_draw_only", "unknown_task",
                                  "item_not_in_task", "before_draw", "future"])
def test_bad_results_are_refused_and_nothing_is_written(seeded, case):
    store, d = seeded
    r = {
        "unassigned": lcdata.result("T1", d.t1[0], "S4", {"A07": "未发现问题"}),
        "other_task_team": lcdata.result("T1", d.t1[2], "S2", {"A07": "未发现问题"}),  # S2 inspects it in T2, not T1
        "not_drawn": lcdata.result("T1", d.usccs[4], "S1", {"A07": "未发现问题"}),
        "failed_draw_only": lcdata.result("T1", d.usccs[5], "S1", {"A07": "未发现问题"}),
        "unknown_task": lcdata.result("T9", d.t1[0], "S1", {"A07": "未发现问题"}),
        "item_not_in_task": lcdata.result("T2", d.t2[0], "S2", {"B01": "未发现问题"}),
        "before_draw": lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}, on="2023-03-09"),
        "future": lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}, on="2023-06-02"),
    }[case]
    before = counts(store)
    with pytest.raises(dbsj.ResultError) as info:
        dbsj.record_result(store, r)
    assert counts(store) == before
    assert info.value.zh and info.value.en and info.value.zh != info.value.en


def test_duplicate_refused_correction_is_a_new_entry(seeded):
    store, d = seeded
    first = dbsj.record_result(store, lcdata.result("T2", d.t2[1], "S2", {"A07": "未发现问题"}))
    before = counts(store)
    with pytest.raises(dbsj.ResultError, match="重复录入"):
        dbsj.record_result(store, lcdata.result("T2", d.t2[1], "S4", {"A07": "未按规定公示应当公示的信息"}))
    with pytest.raises(dbsj.ResultError):  # a correction that changes nothing
        dbsj.record_result(store, lcdata.result("T2", d.t2[1], "S2", {"A07": "未发现问题"}), correction=True)
    with pytest.raises(dbsj.ResultError):  # nothing to correct
        dbsj.record_result(store, lcdata.result("T2", d.t2[2], "S2", {"A07": "未发现问题"}), correction=True)
    assert counts(store) == before
    fix = dbsj.record_result(store, lcdata.result("T2", d.t2[1], "S4", {"A07": "未按规定公示应当公示的信息"}, on="2023-05-12"),
                             correction=True)
    assert fix.corrected == first.entry_nos and fix.entry_nos[0] > first.entry_nos[0]
    rows = store.execute("SELECT entry_no, result_code, supersedes FROM results ORDER BY entry_no").fetchall()
    assert rows == [(first.entry_nos[0], "未发现问题", None), (fix.entry_nos[0], "未按规定公示应当公示的信息", first.entry_nos[0])]
    # the history row of the replaced date is retired, the new one active
    hist = store.execute("SELECT inspected_on, active FROM history WHERE uscc = ? ORDER BY 1", [d.t2[1]]).fetchall()
    assert hist == [(dt.date(2023, 5, 10), False), (dt.date(2023, 5, 12), True)]


def test_a_result_date_in_a_year_without_calendar_data_is_refused(store, pm):
    first, last = dbsj.chinese_calendar_years()
    d = lcdata.seed(store, drawn_on=dt.date(last, 12, 1))
    dbsj.set_now(dt.date(last + 1, 1, 20))
    before = counts(store)
    with pytest.raises(dbsj.CalendarError):
        dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}, on=f"{last + 1}-01-05"))
    assert counts(store) == before


def _csv(path, rows, encoding="utf-8-sig"):
    lines = ["任务编号,统一社会信用代码,执法人员编号,事项编码,检查结果,检查方式,处置,检查日期"]
    lines += [",".join(r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_bulk_import_gbk_csv_groups_visits(seeded, tmp_path):
    store, d = seeded
    rows = [["T1", d.t1[1], "S1", "A07", "未发现问题", "实地", "", "2023-05-04"],
            ["T1", d.t1[1], "S1", "B01", "不配合检查情节严重", "实地", "移送办案", "2023-05-04"],
            ["T2", d.t2[1], "S4", "A07", "NO_PROBLEM", "书面", "", "2023/05/05"]]
    recs = dbsj.import_results(store, _csv(tmp_path / "r.csv", rows, "gb18030"))
    assert [len(r.entry_nos) for r in recs] == [1, 1, 1]  # dispositions differ: two records for T1
    assert store.count("results") == 3 and store.count("history") == 3
    entry = dbsj.Ledger(store).entries("result.imported")[-1]
    assert entry.payload["entries"] == 3 and entry.payload["tasks"] == ["T1", "T2"]


def test_bulk_import_is_all_or_nothing_and_names_the_row(seeded, tmp_path):
    store, d = seeded
    rows = [["T1", d.t1[1], "S1", "A07", "未发现问题", "实地", "", "2023-05-04"],
            ["T1", d.t1[2], "S4", "A07", "未发现问题", "实地", "", "2023-05-04"]]
    before = counts(store)
    with pytest.raises(dbsj.ResultError) as info:
        dbsj.import_results(store, _csv(tmp_path / "bad.csv", rows))
    assert info.value.where == "bad.csv:3"
    assert counts(store) == before
    with pytest.raises(dbsj.ResultError) as info:
        dbsj.import_results(store, _csv(tmp_path / "code.csv", [rows[0][:4] + ["查无问题"] + rows[0][5:]]))
    assert info.value.where == "code.csv:2:result"
    assert counts(store) == before


def test_bulk_import_xlsx(seeded, tmp_path):
    import openpyxl

    store, d = seeded
    wb = openpyxl.Workbook()
    wb.active.append(["task_id", "uscc", "staff_id", "item_code", "result", "inspected_on"])
    wb.active.append(["T2", d.t2[0], "S2", "A07", "迁出", dt.datetime(2023, 5, 8)])
    wb.save(tmp_path / "r.xlsx")
    recs = dbsj.import_results(store, tmp_path / "r.xlsx")
    assert recs[0].uscc == d.t2[0]
    assert store.execute("SELECT result_code, inspected_on FROM results").fetchall() == [("迁出", dt.date(2023, 5, 8))]


def _db(tmp_path):
    path = tmp_path / "s.duckdb"
    with dbsj.Store(path) as s:
        d = lcdata.seed(s)
    return path, d


def test_cli_record_refuses_an_unassigned_inspector(tmp_path, pm, capsys):
    path, d = _db(tmp_path)
    code = main(["result", "record", "--db", str(path), "--task", "T1", "--target", d.t1[0], "--inspector", "S4",
                 "--item", "A07=未发现问题", "--at", "2023-05-10"])
    assert code == 2
    err = capsys.readouterr().err
    assert "S4" in err and "未被分配" in err
    with dbsj.Store(path) as s:
        assert s.count("results") == 0 and s.count("history") == 0
    assert main(["--lang", "en", "result", "record", "--db", str(path), "--task", "T1", "--target", d.t1[0],
                 "--inspector", "S4", "--item", "A07=未发现问题"]) == 2
    assert "not assigned" in capsys.readouterr().err


def test_cli_record_and_import(tmp_path, pm, capsys):
    path, d = _db(tmp_path)
    code = main(["result", "record", "--db", str(path), "--task", "T1", "--target", d.t1[0], "--inspector", "S1",
                 "--item", "A07=未发现问题", "--item", "B01=发现问题经责令已改正", "--disposition", "责令整改",
                 "--at", "2023-05-10", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["entries"] == [1, 2] and out["due"] == "2023-06-07"
    assert main(["result", "record", "--db", str(path), "--task", "T1", "--target", d.t1[0], "--inspector", "S1",
                 "--item", "A07"]) == 2
    assert main(["result", "record", "--db", str(path), "--task", "T1", "--target", d.t1[0], "--inspector", "S1",
                 "--item", "A07=好"]) == 2
    assert "未发现问题" in capsys.readouterr().err  # the accepted codes are listed
    csv_path = _csv(tmp_path / "r.csv", [["T2", d.t2[0], "S2", "A07", "未发现问题", "实地", "", "2023-05-04"]])
    assert main(["result", "import", str(csv_path), "--db", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"visits": 1, "entries": 1, "tasks": ["T2"]}


def test_the_draw_date_of_a_commit_then_reveal_run_is_its_reveal(seeded):
    store, d = seeded
    store.execute("INSERT INTO draw_runs (run_id, plan_id, status, draw_ids, protocol, one_shot, committed_at, revealed_at) "
                  "VALUES ('R1', 'XJ-2023', 'drawn', ['D-T1-1'], '{}', FALSE, TIMESTAMPTZ '2023-03-10 10:00:00+08', "
                  "TIMESTAMPTZ '2023-03-20 10:00:00+08')")
    store.execute("UPDATE draws SET run_id = 'R1' WHERE draw_id = 'D-T1-1'")
    with pytest.raises(dbsj.ResultError, match="2023-03-20"):
        dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}, on="2023-03-15"))
    assert dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}, on="2023-03-20")).entry_nos
