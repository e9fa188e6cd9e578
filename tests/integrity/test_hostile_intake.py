"""Hostile department files: oversized fields, rows, sheets and files, zip bombs, control and bidi characters
in ids, formula cells. Each ends in a quarantine row or a file-level error with the limit named — never a
traceback — and read = accepted + quarantined holds on every path.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

import dbsj
from dbsj._csvcells import neutralise
from dbsj._filenames import unsafe_characters
from dbsj.intake.validate import TEXT_CONTROLS_RE2, unsafe_class
from dbsj.models.pools import TEXT_CONTROLS
from pooldata import uscc

DBSJ = str(Path(sys.executable).with_name("dbsj"))
ENV = {k: v for k, v in os.environ.items() if k != "DBSJ_FAILPOINTS"} | {"DBSJ_NOW": "2023-06-01T09:00:00"}
HEADER = ["统一社会信用代码", "企业名称", "企业类型", "登记状态", "行政区划代码"]


def _row(n: int, name: str | None = None, code: str | None = None) -> list[str]:
    return [code if code is not None else uscc(n), name if name is not None else f"企业{n}", "企业", "存续", "650102"]


def _csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return path


def _quarantine(report: dbsj.ImportReport) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    with open(report.quarantine_file, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _adds_up(r: dbsj.ImportReport) -> None:
    assert r.read == r.accepted + r.quarantined


# -- oversized -------------------------------------------------------------------------------------------------

def test_a_2mb_field_is_quarantined_with_the_limit_named(store, tmp_path):
    """The report: `_csv.Error: field larger than field limit (131072)` on a 2 MB field."""
    big = "长" * 2_000_000
    path = _csv(tmp_path / "big.csv", [_row(1), _row(2, name=big), ["x", "y", "z"], _row(3)])  # a short row too
    r = dbsj.import_pool(store, "targets", path, quarantine_dir=tmp_path)
    _adds_up(r)
    assert (r.read, r.accepted, r.quarantined) == (4, 2, 2)
    q = {row["_row"]: row for row in _quarantine(r)}
    assert "上限 32767" in q["3"]["_reason"] and "limit is 32767" in q["3"]["_reason"]
    assert q["3"]["企业名称"] == big  # nothing lost: the clerk gets the cell back
    assert len(q["3"]["_reason"]) < 2000  # the reason does not repeat two megabytes


def test_the_cli_says_it_too(tmp_path):
    path = _csv(tmp_path / "big.csv", [_row(1), _row(2, name="x" * 2_000_000)])
    proc = subprocess.run([DBSJ, "pool", "import", "targets", str(path), "--db", str(tmp_path / "s.duckdb"), "--json"],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert '"quarantined": 1' in proc.stdout


def test_a_field_beyond_the_parse_bound_refuses_the_file(store, tmp_path):
    limits = dbsj.IntakeLimits(max_field_bytes=1 << 20)
    # An unclosed quote swallows the rest of the file into one field.
    path = tmp_path / "unclosed.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(_row(1)) + "\n" + f'{uscc(2)},"企业' + "甲" * 700_000 + "\n",
                    encoding="utf-8")
    with pytest.raises(dbsj.IntakeError, match="1 MiB") as err:
        dbsj.import_pool(store, "targets", path, limits=limits)
    assert "引号" in str(err.value)
    assert store.count("targets") == 0 and store.count("imports") == 0


def test_the_exact_reader_names_the_bound_and_the_row(store, tmp_path):
    limits = dbsj.IntakeLimits(max_field_bytes=1 << 20)
    # A wrong field count sends the file to Python's csv reader, whose field limit is the same bound.
    rows = [_row(1) + ["extra"], _row(2, name="乙" * 1_100_000)]
    with pytest.raises(dbsj.IntakeError, match="1 MiB"):
        dbsj.import_pool(store, "targets", _csv(tmp_path / "wide.csv", rows), limits=limits)
    assert store.count("imports") == 0


def test_too_many_columns(store, tmp_path):
    header = HEADER + [f"列{i}" for i in range(1000)]
    with pytest.raises(dbsj.IntakeError, match="上限 1000 列"):
        dbsj.import_pool(store, "targets", _csv(tmp_path / "w.csv", [_row(1) + [""] * 1000], header))
    batches = pa.table({f"c{i}": ["x"] for i in range(1001)})
    with pytest.raises(dbsj.IntakeError, match="1000"):
        dbsj.import_batches(store, "targets", batches, source="wide")


def test_a_huge_file_and_a_device_are_refused(store, tmp_path):
    path = _csv(tmp_path / "f.csv", [_row(i) for i in range(50)])
    with pytest.raises(dbsj.IntakeError, match="超过上限 1000 字节"):
        dbsj.import_pool(store, "targets", path, limits=dbsj.IntakeLimits(max_file_bytes=1000))
    if Path("/dev/zero").exists():
        with pytest.raises(dbsj.IntakeError, match="不是普通文件"):
            dbsj.import_pool(store, "targets", "/dev/zero")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(dbsj.IntakeError, match="不是普通文件"):
        dbsj.import_pool(store, "targets", fifo)


def _xlsx(path: Path, rows: list[list[str]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_a_huge_xlsx_cell_is_quarantined(store, tmp_path):
    # Excel (and openpyxl) stop a cell at 32 767 characters, the default bound; a lower bound shows the rule.
    path = _xlsx(tmp_path / "t.xlsx", [_row(1), _row(2, name="丙" * 5_000)])
    r = dbsj.import_pool(store, "targets", path, quarantine_dir=tmp_path, limits=dbsj.IntakeLimits(max_cell_chars=1000))
    _adds_up(r)
    assert (r.accepted, r.quarantined) == (1, 1)
    assert "上限 1000" in _quarantine(r)[0]["_reason"]


def test_an_xlsx_zip_bomb_is_refused_before_it_is_read(store, tmp_path):
    good = _xlsx(tmp_path / "good.xlsx", [_row(1)])
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                # 64 MiB of whitespace inside the sheet: about 1000:1 compressed
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * (64 << 20), 1)
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(dbsj.IntakeError, match="压缩比") as err:
        dbsj.import_pool(store, "targets", bomb)
    assert "zip bomb" in err.value.render("en")
    with pytest.raises(dbsj.IntakeError, match="解压后"):
        dbsj.import_pool(store, "targets", bomb, limits=dbsj.IntakeLimits(max_xlsx_part_bytes=1 << 20))
    assert store.count("imports") == 0
    assert dbsj.import_pool(store, "targets", good).accepted == 1  # an honest workbook is untouched by the bounds


# -- control, bidi and invisible characters ---------------------------------------------------------------------

HOSTILE_IDS = {"NUL": "\x00", "CR": "\r", "LF": "\n", "RLO": "\u202e", "ZWSP": "\u200b", "BOM": "\ufeff", "LRI": "\u2066"}


@pytest.mark.parametrize("name", sorted(HOSTILE_IDS))
def test_ids_with_control_or_invisible_characters_are_quarantined(store, tmp_path, name):
    ch = HOSTILE_IDS[name]
    code = uscc(2)[:6] + ch + uscc(2)[6:]
    r = dbsj.import_pool(store, "targets", _csv(tmp_path / "t.csv", [_row(1), _row(2, code=code)]),
                         quarantine_dir=tmp_path)
    _adds_up(r)
    assert (r.accepted, r.quarantined) == (1, 1)
    row = _quarantine(r)[0]
    assert f"U+{ord(ch):04X}" in row["_reason"] and "控制或不可见字符" in row["_reason"]
    assert row["统一社会信用代码"] == code  # kept as it came, for the clerk to fix
    assert ch not in row["_reason"]  # the reason itself does not echo the character


def test_staff_and_item_codes_too_and_arrow_batches_alike(store, tmp_path):
    inspectors = pa.table({"staff_id": ["S1", "S\u202e2", "S3\x00"], "name": ["甲", "乙", "丙"],
                           "department": ["市场监管"] * 3, "certificate_no": ["C1", "C2", "C3"],
                           "certificate_expiry": ["2025-12-31"] * 3, "item_scope": ["A07", "A07|A\u200b08", "A07"]})
    r = dbsj.import_batches(store, "inspectors", inspectors, source="hostile", quarantine_dir=tmp_path)
    _adds_up(r)
    assert (r.accepted, r.quarantined) == (1, 2)
    items = pa.table({"code": ["A\r\n07", "A08"], "name": ["x", "y"], "department": ["市场监管"] * 2,
                      "category": ["key"] * 2})
    r = dbsj.import_batches(store, "items", items, source="hostile-items", quarantine_dir=tmp_path)
    assert (r.accepted, r.quarantined) == (1, 1)


def test_free_text_refuses_controls_and_bidi_overrides_but_keeps_line_breaks(store, tmp_path):
    rows = [_row(1, name="某某\u202e司公"), _row(2, name="名\x07称"), _row(3, name="第一行\n第二行"),
            _row(4, name="ئۇيغۇر\u200c تىلى")]  # ZWNJ belongs to Uyghur text
    r = dbsj.import_pool(store, "targets", _csv(tmp_path / "t.csv", rows), quarantine_dir=tmp_path)
    _adds_up(r)
    assert sorted(row["_row"] for row in _quarantine(r)) == ["2", "3"]
    assert store.scalar(f"SELECT name FROM targets WHERE uscc = '{uscc(3)}'") == "第一行\n第二行"


def test_a_nul_inside_a_cell_quarantines_the_row_not_the_file(store, tmp_path):
    path = _csv(tmp_path / "t.csv", [_row(1), _row(2, name="名\x00称")])
    r = dbsj.import_pool(store, "targets", path, quarantine_dir=tmp_path)
    assert (r.read, r.accepted, r.quarantined) == (2, 1, 1)


def test_sql_and_python_agree_on_every_code_point():
    """The SQL classes are exactly the Python rules, checked on all of Unicode (surrogates cannot occur)."""
    import re

    import duckdb

    con = duckdb.connect()
    points = [r[0] for r in con.execute(
        "SELECT i FROM range(0, 1114112) t(i) WHERE (i < 55296 OR i > 57343) AND regexp_matches(chr(i::INTEGER), ?) "
        "ORDER BY i", [unsafe_class()]).fetchall()]
    assert points == [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and unsafe_characters(chr(cp))]
    text = [r[0] for r in con.execute(
        "SELECT i FROM range(0, 1114112) t(i) WHERE (i < 55296 OR i > 57343) AND regexp_matches(chr(i::INTEGER), ?) "
        "ORDER BY i", [TEXT_CONTROLS_RE2]).fetchall()]
    rule = re.compile(TEXT_CONTROLS)
    assert text == [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and rule.match(chr(cp))]


# -- formula cells ------------------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?x","点击")', "=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)",
            "=1+2", "'已带引号"]


def test_quarantine_cells_are_neutralised_and_restored_on_reimport(store, tmp_path):
    rows = [_row(i, name=f, code=uscc(i)[:-1] + ("0" if uscc(i)[-1] != "0" else "1")) for i, f in enumerate(FORMULAS, 1)]
    src = tmp_path / "f.csv"
    # the hand-made file is written as dbsj writes (neutralised), so the names are exactly FORMULAS
    _csv(src, [[neutralise(c) for c in r] for r in rows])
    r = dbsj.import_pool(store, "targets", src, quarantine_dir=tmp_path)
    assert r.quarantined == len(FORMULAS)  # every check digit is wrong
    raw = Path(r.quarantine_file).read_text(encoding="utf-8-sig")
    for f in FORMULAS:
        assert "'" + f.replace('"', '""') in raw  # as a spreadsheet sees it: text, not a formula
    # The clerk fixes the codes and imports the quarantine file again: the names come back unchanged.
    fixed = tmp_path / "fixed.csv"
    text = raw
    for i in range(1, len(FORMULAS) + 1):
        bad = uscc(i)[:-1] + ("0" if uscc(i)[-1] != "0" else "1")
        text = text.replace(bad, uscc(i))
    fixed.write_text(text, encoding="utf-8-sig")
    again = dbsj.import_pool(store, "targets", fixed, quarantine_dir=tmp_path)
    assert (again.accepted, again.quarantined) == (len(FORMULAS), 0)
    names = [row[0] for row in store.execute("SELECT name FROM targets ORDER BY uscc").fetchall()]
    assert names == FORMULAS


def test_export_neutralises_and_round_trips_byte_for_byte(store, tmp_path):
    n = len(FORMULAS)
    table = pa.table({"uscc": [uscc(i) for i in range(1, n + 1)], "name": FORMULAS, "entity_kind": ["企业"] * n,
                      "status": ["存续"] * n, "region": ["650102"] * n, "tags": ["=1+1|食品"] + ["食品"] * (n - 1)})
    dbsj.import_batches(store, "targets", table, source="formulas")
    out = tmp_path / "out.csv"
    dbsj.export_pool(store, "targets", out)
    with open(out, encoding="utf-8-sig", newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert [r["name"] for r in exported] == [neutralise(f) for f in FORMULAS]
    assert all(r["name"].startswith("'") for r in exported)
    assert exported[0]["tags"] == "'=1+1|食品"
    again = dbsj.import_pool(store, "targets", out)
    assert (again.unchanged, again.updated, again.inserted, again.quarantined) == (n, 0, 0, 0)
    out2 = tmp_path / "out2.csv"
    dbsj.export_pool(store, "targets", out2)
    assert out2.read_bytes() == out.read_bytes()


def test_a_hostile_source_name_still_gets_a_safe_quarantine_file(store, tmp_path):
    table = pa.table({"uscc": ["bad"], "name": ["x"], "entity_kind": ["企业"], "status": ["存续"], "region": ["650102"]})
    r = dbsj.import_batches(store, "targets", table, source="plugin:evil/../\u202e" + "x" * 300, quarantine_dir=tmp_path)
    q = Path(r.quarantine_file)
    assert q.parent == tmp_path and q.name.startswith("import-") and q.name.endswith(".quarantine.csv")
