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


def test_a_joint_visit_is_recorded_by_each_department_for_its_own_items(seeded):
    store, d = seeded
    # T1 is joint: A07 is 市场监管's item (S1 on the team), B01 卫生健康's (S3).
    own = dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"}, disposition="责令整改"))
    rec = dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S3", {"B01": "发现问题经责令已改正"},
                                                  disposition="责令整改"))
    assert rec.task_id == "T1" and rec.uscc == d.t1[0] and len(own.entry_nos) == len(rec.entry_nos) == 1
    assert rec.due == dt.date(2023, 6, 7)  # 20 working days after 2023-05-10 (Dragon Boat: Jun 22 is later)
    rows = store.execute("SELECT item_code, result_code, staff_id, disposition, record_no FROM results ORDER BY item_code").fetchall()
    assert rows == [("A07", "未发现问题", "S1", "责令整改", own.entry_nos[0]),
                    ("B01", "发现问题经责令已改正", "S3", "责令整改", rec.entry_nos[0])]
    hist = store.execute("SELECT uscc, item_code, inspected_on, task_id, staff_ids FROM history ORDER BY item_code").fetchall()
    assert hist == [(d.t1[0], "A07", dt.date(2023, 5, 10), "T1", ["S1", "S3"]),
                    (d.t1[0], "B01", dt.date(2023, 5, 10), "T1", ["S1", "S3"])]
    entry = dbsj.Ledger(store).entries("result.recorded")[-1]
    assert entry.payload["uscc"] == d.t1[0] and entry.payload["items"] == {"B01": "发现问题经责令已改正"}
    assert entry.payload["staff_id"] == "S3"
    assert dbsj.Ledger(store).verify() > 0
    # the visit is complete: both items stand; the task counts the target as inspected once
    assert {r["task_id"]: r["with_results"] for r in dbsj.task_status(store)}["T1"] == 1


@pytest.mark.parametrize("staff, items, item, owner, dept", [
    ("S1", {"B01": "未发现问题"}, "B01", "卫生健康", "市场监管"),
    ("S3", {"A07": "未发现问题", "B01": "未发现问题"}, "A07", "市场监管", "卫生健康"),  # one foreign item spoils the result
])
def test_an_inspector_cannot_record_another_departments_item(seeded, staff, items, item, owner, dept):
    store, d = seeded
    before = counts(store)
    with pytest.raises(dbsj.ResultError) as info:
        dbsj.record_result(store, lcdata.result("T1", d.t1[0], staff, items))
    assert counts(store) == before
    err = info.value
    zh, en = err.render("zh"), err.render("en")
    assert f"检查事项 {item} 属于 {owner}" in zh and f"执法人员 {staff}（{dept}）" in zh and "谁检查、谁录入" in zh
    assert f"item {item} belongs to {owner}" in en and f"inspector {staff} ({dept})" in en
    peer = {"市场监管": "S1", "卫生健康": "S3"}[owner]
    assert f"由检查组中{owner}的人员录入: {peer}" in zh and peer in en  # the hint names who records it
    assert (err.context["item_code"], err.context["item_department"], err.context["checking_department"],
            err.context["staff_id"], err.context["staff_department"]) == (item, owner, owner, staff, dept)
    assert str(err) == zh and zh.startswith(f"task T1 / {d.t1[0]}: 检查事项 {item} 属于")  # Chinese first
    assert err.to_dict()["message_zh"] == zh and err.to_dict()["item_code"] == item


def test_an_item_not_in_the_task_is_refused_naming_it(seeded):
    store, d = seeded
    before = counts(store)
    with pytest.raises(dbsj.ResultError) as info:  # B01 is T1's item, not T2's; S2 is on T2's team
        dbsj.record_result(store, lcdata.result("T2", d.t2[0], "S2", {"A07": "未发现问题", "B01": "未发现问题"}))
    assert counts(store) == before
    assert "检查事项 B01 不属于任务 T2" in info.value.render("zh") and "该任务的事项: A07" in info.value.render("zh")
    assert "item(s) B01 are not part of task T2" in info.value.render("en")


def test_an_item_of_a_department_not_on_the_task_is_recorded_by_the_sponsor(seeded):
    store, d = seeded
    # The item list moves A07 to 商务, on neither task: the sponsor (市场监管) checks it, as the assignment staffs it.
    store.execute("UPDATE items SET department = '商务' WHERE code = 'A07'")
    with pytest.raises(dbsj.ResultError) as info:
        dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S3", {"A07": "未发现问题"}))
    assert "检查事项 A07 属于 商务，本任务中由发起部门 市场监管 检查，执法人员 S3（卫生健康）不能录入" in info.value.render("zh")
    assert (info.value.context["item_department"], info.value.context["checking_department"]) == ("商务", "市场监管")
    assert dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S1", {"A07": "未发现问题"})).entry_nos
    assert dbsj.record_result(store, lcdata.result("T2", d.t2[0], "S2", {"A07": "未发现问题"})).entry_nos


def test_an_item_missing_from_the_item_list_cannot_be_checked_and_is_refused(seeded):
    store, d = seeded
    store.execute("DELETE FROM items WHERE code = 'B01'")
    before = counts(store)
    with pytest.raises(dbsj.ResultError) as info:
        dbsj.record_result(store, lcdata.result("T1", d.t1[0], "S3", {"B01": "未发现问题"}))
    assert counts(store) == before
    assert "检查事项 B01 不在抽查事项清单中" in info.value.render("zh") and "import the item list" in info.value.render("en")


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
            ["T1", d.t1[1], "S3", "B01", "不配合检查情节严重", "实地", "移送办案", "2023-05-04"],
            ["T2", d.t2[1], "S4", "A07", "NO_PROBLEM", "书面", "", "2023/05/05"]]
    recs = dbsj.import_results(store, _csv(tmp_path / "r.csv", rows, "gb18030"))
    assert [len(r.entry_nos) for r in recs] == [1, 1, 1]  # a joint visit: one record per department
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


def test_bulk_import_with_one_foreign_department_row_refuses_the_file_naming_the_row(seeded, tmp_path):
    store, d = seeded
    rows = [["T1", d.t1[1], "S1", "A07", "未发现问题", "实地", "", "2023-05-04"],
            ["T1", d.t1[1], "S3", "B01", "未发现问题", "实地", "", "2023-05-04"],
            ["T2", d.t2[1], "S4", "A07", "未发现问题", "实地", "", "2023-05-04"],
            ["T1", d.t1[2], "S1", "A07", "未发现问题", "实地", "", "2023-05-04"],
            ["T1", d.t1[2], "S1", "B01", "未发现问题", "实地", "", "2023-05-04"]]  # S1 is 市场监管; B01 is 卫生健康's
    before = counts(store)
    with pytest.raises(dbsj.ResultError) as info:
        dbsj.import_results(store, _csv(tmp_path / "mixed.csv", rows))
    assert info.value.where == "mixed.csv:6"  # the row of the foreign item, not the visit's first row
    assert "mixed.csv:6: 检查事项 B01 属于 卫生健康，执法人员 S1（市场监管）不能录入" in str(info.value)
    assert counts(store) == before  # nothing of the good rows is stored
    assert store.count("results") == 0 and store.count("history") == 0
    # without the bad row the same file goes in whole: 4 rows, 4 entries, 4 history rows
    recs = dbsj.import_results(store, _csv(tmp_path / "good.csv", rows[:4]))
    assert sum(len(r.entry_nos) for r in recs) == store.count("results") == store.count("history") == 4
    with pytest.raises(dbsj.ResultError) as info:  # an item not in the task: its row is named
        dbsj.import_results(store, _csv(tmp_path / "task.csv", [["T2", d.t2[2], "S2", "A07", "未发现问题", "实地", "", "2023-05-04"],
                                                                 ["T2", d.t2[2], "S2", "B01", "未发现问题", "实地", "", "2023-05-04"]]))
    assert info.value.where == "task.csv:3" and "B01" in str(info.value)
    assert store.count("results") == 4


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
    assert code == 2  # B01 is 卫生健康's item: S1 (市场监管) may not record it
    err = capsys.readouterr().err
    assert "B01" in err and "卫生健康" in err and "S1（市场监管）" in err and "Traceback" not in err
    code = main(["result", "record", "--db", str(path), "--task", "T1", "--target", d.t1[0], "--inspector", "S1",
                 "--item", "A07=未发现问题", "--disposition", "责令整改", "--at", "2023-05-10", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["entries"] == [1] and out["due"] == "2023-06-07"
    assert main(["result", "record", "--db", str(path), "--task", "T1", "--target", d.t1[0], "--inspector", "S3",
                 "--item", "B01=发现问题经责令已改正", "--at", "2023-05-10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == [2]
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
