"""The issue's "Done when": a messy department export (GBK, Chinese headers, bad rows) imports with exact
counts and a quarantine file that, once fixed by a clerk, re-imports cleanly."""

from __future__ import annotations

import csv

import pytest

import dbsj
from intake_helpers import bad_check, no_plugins, read_csv, uscc


@pytest.fixture(autouse=True)
def _isolated():
    no_plugins()


HEADER = ["序号", "统一社会信用代码", "主体名称", "市场主体类型", "经营状态", "所在地区划", "登记机关", "属地所",
          "国民经济行业代码", "成立日期", "信用等级", "监管标签"]


def _messy_rows():
    rows = []
    for i in range(1, 41):
        rows.append([str(i), uscc(i), f"昌吉市某某商贸有限公司{i}", "有限责任公司(自然人投资或控股)", "存续（在营、开业、在册）",
                     "652301", "昌吉市市场监督管理局", "延安北路所", "F5211", f"2018年{i % 12 + 1}月{i % 28 + 1}日",
                     "一般风险", "食品经营、重点"])
    rows[3][1] = "　" + uscc(4).lower() + " "          # full-width space and lower case: normalised
    rows[4][5] = "６５２３０１"                          # full-width digits: normalised
    rows[9][1] = bad_check(uscc(10))                   # row 11: bad check digit
    rows[14][5] = "651000"                             # row 16: unknown region
    rows[19][10] = "五星"                              # row 21: unknown credit class
    rows[24][9] = "2018-02-30"                         # row 26: impossible date
    rows[29][1] = uscc(3)                              # row 31: duplicate of row 4
    rows[34][3] = ""                                   # row 36: entity kind missing
    return rows


def test_messy_gbk_export(store, tmp_path):
    path = tmp_path / "昌吉州市场主体导出.csv"
    with open(path, "w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(_messy_rows())
    report = dbsj.import_pool(store, "targets", path)
    assert report.to_dict() | {"import_id": None, "source": None} == {
        "kind": "targets", "source": None, "encoding": "gb18030", "read": 40, "accepted": 34, "quarantined": 6,
        "normalised": 2, "inserted": 34, "updated": 0, "unchanged": 0, "deactivated": 0,
        "quarantine_file": str(tmp_path / "昌吉州市场主体导出.quarantine.csv"), "unknown_columns": ["序号"],
        "import_id": None}
    q = read_csv(report.quarantine_file)
    assert [(r["_row"], r["_field"]) for r in q] == [
        ("11", "统一社会信用代码"), ("16", "所在地区划"), ("21", "信用等级"), ("26", "成立日期"),
        ("31", "统一社会信用代码"), ("36", "市场主体类型")]
    assert list(q[0]) == HEADER + ["_row", "_field", "_reason"]
    assert all(" / " in r["_reason"] for r in q)  # Chinese / English
    assert store.execute("SELECT DISTINCT entity_kind, status, credit_class, tags FROM targets").fetchall() == [
        ("企业", "存续", "B", ["食品经营", "重点"])]

    # The clerk fixes the quarantine file in Excel (saved as it came: UTF-8 with BOM) and imports it again.
    fixes = {"11": {"统一社会信用代码": uscc(10)}, "16": {"所在地区划": "652301"}, "21": {"信用等级": "A"},
             "26": {"成立日期": "2018-02-28"}, "31": {"统一社会信用代码": uscc(30)}, "36": {"市场主体类型": "企业"}}
    for r in q:
        r.update(fixes[r["_row"]])
    fixed = tmp_path / "fixed.csv"
    with open(fixed, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(q[0]))
        w.writeheader()
        w.writerows(q)
    again = dbsj.import_pool(store, "targets", fixed)
    assert (again.read, again.accepted, again.quarantined, again.inserted) == (6, 6, 0, 6)
    assert again.unknown_columns == ("序号",)  # _row, _field, _reason are ignored silently
    assert store.count("targets") == 40
