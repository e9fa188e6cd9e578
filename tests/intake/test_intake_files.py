"""Reading files: encodings, XLSX, wrong file types, empty files, headers, field counts."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

import dbsj
from intake_helpers import TARGET_HEADER, no_plugins, read_csv, target_row, uscc, write_csv


@pytest.fixture(autouse=True)
def _isolated():
    no_plugins()


ROWS = [target_row(1, name="乌鲁木齐市天山区某某商贸有限公司"), target_row(2, name="新疆維吾尔某某"),
        target_row(3, name="䶮某某有限公司")]  # 䶮 exists in GB18030, not in GBK


@pytest.mark.parametrize(("encoding", "rows", "detected"), [
    ("utf-8", ROWS, "utf-8"),
    ("utf-8-sig", ROWS, "utf-8-sig"),
    ("gbk", ROWS[:2], "gb18030"),
    ("gb18030", ROWS, "gb18030"),
    ("utf-16", ROWS, "utf-16"),
])
def test_encodings_are_detected(store, tmp_path, encoding, rows, detected):
    path = write_csv(tmp_path / "t.csv", TARGET_HEADER, rows, encoding=encoding)
    report = dbsj.import_pool(store, "targets", path)
    assert (report.encoding, report.read, report.accepted) == (detected, len(rows), len(rows))
    names = {r[0] for r in store.execute("SELECT name FROM targets").fetchall()}
    assert names == {r[1] for r in rows}


def test_xlsx_with_title_row_excel_dates_and_numbers(store, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某某市场监管局 2023 年检查对象名录"])      # a title row above the header
    ws.append(TARGET_HEADER + ["备注"])
    ws.append([uscc(1), "甲公司", "企业", "存续", 650102, dt.datetime(2015, 3, 1), "A", "x"])
    ws.append([uscc(2), "乙公司", "企业", "存续", 650102.0, dt.date(2016, 4, 2), None, None])
    ws.append([None] * 7)                                     # an empty row is not a row
    ws.append([uscc(3), "丙公司", "企业", "存续", 650102, "2099-01-01", "B", None])  # future date, row 6
    path = tmp_path / "名录.xlsx"
    wb.save(path)
    report = dbsj.import_pool(store, "targets", path)
    assert (report.encoding, report.read, report.accepted, report.quarantined) == ("xlsx", 3, 2, 1)
    assert report.unknown_columns == ("备注",)
    assert read_csv(report.quarantine_file)[0]["_row"] == "6"
    got = store.execute("SELECT region, established, credit_class FROM targets ORDER BY uscc").fetchall()
    assert got == [("650102", dt.date(2015, 3, 1), "A"), ("650102", dt.date(2016, 4, 2), "U")]


def test_pdf_renamed_csv_is_refused(store, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    with pytest.raises(dbsj.IntakeError, match="PDF"):
        dbsj.import_pool(store, "targets", path)


def test_docx_is_refused(store, tmp_path):
    path = tmp_path / "targets.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
        zf.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(dbsj.IntakeError, match="Word"):
        dbsj.import_pool(store, "targets", path)


def test_binary_is_refused(store, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(dbsj.IntakeError):
        dbsj.import_pool(store, "targets", path)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n  \r\n"])
def test_empty_file_is_refused(store, tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(dbsj.IntakeError, match="空"):
        dbsj.import_pool(store, "targets", path)


def test_header_only_file_is_refused(store, tmp_path):
    path = write_csv(tmp_path / "h.csv", TARGET_HEADER, [])
    with pytest.raises(dbsj.IntakeError, match="没有数据行"):
        dbsj.import_pool(store, "targets", path)
    assert store.count("imports") == 0


def test_missing_required_column_names_it_and_the_aliases(store, tmp_path):
    header = [h for h in TARGET_HEADER if h != "行政区划代码"]
    rows = [r[:4] + r[5:] for r in [target_row(1)]]
    path = write_csv(tmp_path / "t.csv", header, rows)
    with pytest.raises(dbsj.MissingColumnError) as info:
        dbsj.import_pool(store, "targets", path)
    err = info.value
    assert err.context["column"] == "region"
    assert {"行政区划代码", "所在地区划", "region"} <= set(err.context["aliases"])
    assert "所在地区划" in err.render("zh") and "region" in err.render("en")


def test_two_headers_for_one_column_are_refused(store, tmp_path):
    path = write_csv(tmp_path / "t.csv", TARGET_HEADER + ["主体名称"], [target_row(1) + ["x"]])
    with pytest.raises(dbsj.IntakeError, match="主体名称"):
        dbsj.import_pool(store, "targets", path)


def test_aliases_and_marks_in_headers(store, tmp_path):
    header = ["*统一社会信用代码", "主体名称（必填）", "市场主体类型", "经营状态", "所在地区划", "成立日期", "信用等级", "备注"]
    path = write_csv(tmp_path / "t.csv", header, [target_row(1) + ["x"]])
    report = dbsj.import_pool(store, "targets", path)
    assert (report.accepted, report.unknown_columns) == (1, ("备注",))


def test_per_import_aliases(store, tmp_path):
    header = ["代码", "企业名称", "企业类型", "登记状态", "行政区划代码", "成立日期", "信用风险分类"]
    path = write_csv(tmp_path / "t.csv", header, [target_row(1)])
    report = dbsj.import_pool(store, "targets", path, aliases={"代码": "uscc"})
    assert report.accepted == 1
    with pytest.raises(dbsj.InputError):
        dbsj.import_pool(store, "targets", path, aliases={"代码": "nonsense"})


def test_rows_with_wrong_field_count_keep_exact_row_numbers(store, tmp_path):
    lines = [",".join(TARGET_HEADER), ",".join(target_row(1)), ",".join(target_row(2)[:4]),
             ",".join(target_row(3) + ["extra"]), '"' + '","'.join(target_row(4, name="多行\n名称")) + '"',
             ",".join(target_row(5))]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = dbsj.import_pool(store, "targets", path)
    assert (report.read, report.accepted, report.quarantined) == (5, 3, 2)
    q = read_csv(report.quarantine_file)
    assert [(r["_row"], r["_field"]) for r in q] == [("3", "_columns"), ("4", "_columns")]
    assert "extra" in q[1]["_reason"]
    assert store.scalar("SELECT name FROM targets WHERE uscc = ?", [uscc(4)]) == "多行\n名称"


def test_trailing_empty_fields_are_not_a_wrong_count(store, tmp_path):
    lines = [",".join(TARGET_HEADER), ",".join(target_row(1)) + ",,", ",".join(target_row(2))]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = dbsj.import_pool(store, "targets", path)
    assert (report.read, report.accepted) == (2, 2)


def test_tab_separated(store, tmp_path):
    lines = ["\t".join(TARGET_HEADER)] + ["\t".join(target_row(i)) for i in (1, 2)]
    path = tmp_path / "t.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert dbsj.import_pool(store, "targets", path).accepted == 2


def test_quarantine_dir(store, tmp_path):
    path = write_csv(tmp_path / "t.csv", TARGET_HEADER, [target_row(1, region="x")])
    report = dbsj.import_pool(store, "targets", path, quarantine_dir=tmp_path / "q")
    assert report.quarantine_file == str(tmp_path / "q" / "t.quarantine.csv")
    assert (tmp_path / "q" / "t.quarantine.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_encoding_changing_mid_file_is_refused(store, tmp_path):
    lines = [",".join(TARGET_HEADER)] + [",".join(target_row(i)) for i in range(1, 6000)]
    data = ("\n".join(lines) + "\n").encode("utf-8") + (",".join(target_row(7000, name="乙公司")) + "\n").encode("gbk")
    assert len(data) > 256 * 1024  # beyond the sample the encoding is detected from
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    with pytest.raises(dbsj.IntakeError, match="编码不一致"):
        dbsj.import_pool(store, "targets", path)
    assert store.count("imports") == 0 and store.count("targets") == 0
