"""Set-wise validation: every bad-input case is quarantined with row, field and reason; counts add up."""

from __future__ import annotations

import hashlib

import pytest
from stdnum.cn import uscc as stdnum_uscc

import dbsj
from dbsj.intake.validate import FULLWIDTH, HALFWIDTH, USCC_ALPHABET, install_macros
from intake_helpers import TARGET_HEADER, bad_check, no_plugins, read_csv, target_row, uscc, write_csv


@pytest.fixture(autouse=True)
def _isolated():
    no_plugins()


def _import(store, tmp_path, kind, header, rows, name="in.csv", **kw):
    path = write_csv(tmp_path / name, header, rows)
    report = dbsj.import_pool(store, kind, path, **kw)
    assert report.read == report.accepted + report.quarantined
    quarantine = read_csv(report.quarantine_file) if report.quarantine_file else []
    return report, quarantine


def test_uscc_macro_agrees_with_stdnum_on_many_codes(store):
    install_macros(store.con)
    codes = []
    for i in range(4000):
        h = hashlib.sha256(str(i).encode()).digest()
        body = "".join(str(b % 10) for b in h[:8]) + "".join(USCC_ALPHABET[b % 31] for b in h[8:17])
        good = body + stdnum_uscc.calc_check_digit(body)
        codes += [good, bad_check(good), body + "I", good[:17], "A" + good[1:], good.lower()]
    import pyarrow as pa

    store.con.register("codes", pa.table({"c": codes}))
    got = dict(store.con.execute("SELECT c, dbsj_uscc_valid(c) FROM codes").fetchall())
    expected = {c: stdnum_uscc.is_valid(c) and c == c.upper() for c in codes}
    assert got == expected
    assert sum(expected.values()) == 4000  # the generated valid codes, and no invalid one, pass


def test_fullwidth_folding_is_nfkc():
    import unicodedata

    for fw, hw in zip(FULLWIDTH, HALFWIDTH):
        assert unicodedata.normalize("NFKC", fw) == hw


def test_bad_targets_are_quarantined_with_row_field_reason(store, tmp_path):
    rows = [
        target_row(1),                                     # row 2 ok
        target_row(2, uscc=bad_check(uscc(2))),            # row 3 bad check digit
        target_row(3, region="651000"),                    # row 4 unknown prefecture in Xinjiang
        target_row(4, region="65010"),                     # row 5 not six digits
        target_row(1, name="重复"),                         # row 6 duplicate of row 2
        target_row(5, kind="社会团体"),                      # row 7 unknown entity kind
        target_row(6, status="失联"),                        # row 8 unknown status
        target_row(7, credit="E"),                          # row 9 unknown credit class
        target_row(8, name=""),                             # row 10 missing required value
        target_row(9, established="2023-02-30"),            # row 11 impossible date
        target_row(10, established="2024-01-01"),           # row 12 future date (clock: 2023-06-01)
        target_row(11, established="1890-01-01"),           # row 13 impossible (before 1900)
        target_row(12),                                     # row 14 ok
    ]
    report, q = _import(store, tmp_path, "targets", TARGET_HEADER, rows)
    assert (report.read, report.accepted, report.quarantined) == (13, 2, 11)
    by_row = {r["_row"]: r for r in q}
    assert sorted(by_row, key=int) == [str(n) for n in range(3, 14)]
    assert by_row["3"]["_field"] == "统一社会信用代码" and "校验" in by_row["3"]["_reason"]
    assert "invalid USCC" in by_row["3"]["_reason"]
    assert by_row["4"]["_field"] == "行政区划代码" and "未知的行政区划代码" in by_row["4"]["_reason"]
    assert "six digits" in by_row["5"]["_reason"]
    assert "第 2 行" in by_row["6"]["_reason"] and by_row["6"]["企业名称"] == "重复"
    assert by_row["7"]["_field"] == "企业类型" and "社会团体" in by_row["7"]["_reason"]
    assert by_row["8"]["_field"] == "登记状态"
    assert by_row["9"]["_field"] == "信用风险分类" and "unknown credit_class: E" in by_row["9"]["_reason"]
    assert by_row["10"]["_field"] == "企业名称" and "required" in by_row["10"]["_reason"]
    assert "not a date" in by_row["11"]["_reason"]
    assert "future" in by_row["12"]["_reason"]
    assert "1900" in by_row["13"]["_reason"]
    assert store.count("targets") == 2


def test_several_problems_in_one_row_are_all_named(store, tmp_path):
    report, q = _import(store, tmp_path, "targets", TARGET_HEADER,
                        [target_row(1, uscc="123", region="000000", credit="X")])
    assert report.quarantined == 1
    assert q[0]["_field"] == "统一社会信用代码; 行政区划代码; 信用风险分类"
    assert q[0]["_reason"].count("/") >= 3


REGIONS = [
    ("650102", True),    # district of a listed prefecture (乌鲁木齐)
    ("654003", True),    # county-level city of 伊犁
    ("659001", True),    # 石河子, directly under the region
    ("659012", True),
    ("659013", False),   # not a county-level city of Xinjiang
    ("651000", False),   # no such prefecture in Xinjiang: no province leniency there
    ("650000", True),    # the region itself
    ("110105", True),    # outside Xinjiang, the province is enough
    ("440305", True),
    ("990000", False),
    ("012345", False),
]


def test_region_leniency(store, tmp_path):
    rows = [target_row(i, region=region) for i, (region, _ok) in enumerate(REGIONS, start=1)]
    report, q = _import(store, tmp_path, "targets", TARGET_HEADER, rows)
    rejected = {r["行政区划代码"] for r in q}
    assert {region for region, ok in REGIONS if not ok} == rejected
    assert report.accepted == sum(ok for _, ok in REGIONS)


def test_dates_in_every_format_are_read(store, tmp_path):
    formats = ["2023-01-05", "2023/1/5", "2023年1月5日", "20230105", "44931", "2023-01-05 00:00:00", "２０２３-０１-０５"]
    rows = [target_row(i, established=f) for i, f in enumerate(formats, start=1)]
    report, _ = _import(store, tmp_path, "targets", TARGET_HEADER, rows)
    assert report.accepted == len(formats)
    assert store.execute("SELECT DISTINCT established FROM targets").fetchall() == [(__import__("datetime").date(2023, 1, 5),)]


def test_credit_class_texts(store, tmp_path):
    texts = {"A": "A", "b": "B", "C类": "C", "D级": "D", "低风险": "A", "一般": "B", "较高风险": "C", "高": "D",
             "未分类": "U", "": "U"}
    rows = [target_row(i, credit=t) for i, t in enumerate(texts, start=1)]
    report, _ = _import(store, tmp_path, "targets", TARGET_HEADER, rows)
    assert report.accepted == len(texts)
    got = dict(store.execute("SELECT name, credit_class FROM targets").fetchall())
    assert got == {f"企业{i}": v for i, v in enumerate(texts.values(), start=1)}


def test_entity_kinds_and_statuses_as_exports_spell_them(store, tmp_path):
    rows = [target_row(1, kind="有限责任公司(自然人投资或控股)", status="存续（在营、开业、在册）"),
            target_row(2, kind="个体", status="吊销，未注销"),
            target_row(3, kind="某某分公司", status="已注销")]
    report, _ = _import(store, tmp_path, "targets", TARGET_HEADER, rows)
    assert report.accepted == 3
    got = store.execute("SELECT entity_kind, status FROM targets ORDER BY name").fetchall()
    assert got == [("企业", "存续"), ("个体工商户", "吊销"), ("分支机构", "注销")]


def test_codes_are_normalised_and_counted(store, tmp_path):
    code = uscc(1)
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in code)
    rows = [target_row(1, uscc=fullwidth),                 # full-width
            target_row(2, uscc=f" {uscc(2)[:9]} {uscc(2)[9:]} "),  # stray spaces
            target_row(3, uscc=uscc(3).lower()),           # lower case
            target_row(4, region="６５０１０２"),             # full-width region
            target_row(5)]                                  # clean
    report, _ = _import(store, tmp_path, "targets", TARGET_HEADER, rows)
    assert (report.accepted, report.normalised) == (5, 4)
    assert {r[0] for r in store.execute("SELECT uscc FROM targets").fetchall()} == {uscc(i) for i in range(1, 6)}


INSPECTOR_HEADER = ["执法人员编号", "姓名", "所属部门", "执法证号", "执法证有效期", "是否专家", "执法事项范围", "人员状态"]


def test_inspectors_booleans_lists_and_expired_certificates(store, tmp_path):
    rows = [
        ["S1", "张三", "市场监管", "65001", "2022-12-31", "是", "A07|A08", "在岗"],   # expired: accepted
        ["S2", "李四", "市场监管", "65002", "2030-01-01", "N", "A07、A08", ""],
        ["S3", "王五", "卫生健康", "65003", "2030-01-01", "1", "A07;A08", "休假"],
        ["S4", "赵六", "卫生健康", "65004", "2030-01-01", "false", "A07,A08", "在岗"],
        ["S5", "钱七", "卫生健康", "65005", "2030-01-01", "也许", "", "在岗"],        # bad boolean
        ["S6", "孙八", "卫生健康", "65006", "2030-01-01", "", "", "出差"],           # unknown status
        ["S7", "周九", "卫生健康", "", "2030-01-01", "", "", ""],                   # certificate missing
        ["Ｓ８ ", "吴十", "卫生健康", "65 008", "2030/1/1", "", "", ""],              # normalised codes
    ]
    report, q = _import(store, tmp_path, "inspectors", INSPECTOR_HEADER, rows)
    assert (report.read, report.accepted, report.quarantined, report.normalised) == (8, 5, 3, 1)
    assert [r["_row"] for r in q] == ["6", "7", "8"]
    got = {r[0]: r[1:] for r in store.execute(
        "SELECT staff_id, expert, item_scope, status, certificate_no FROM inspectors").fetchall()}
    assert got["S1"] == (True, ["A07", "A08"], "在岗", "65001")
    assert got["S2"] == (False, ["A07", "A08"], "在岗", "65002")
    assert got["S3"][0] is True and got["S4"][0] is False
    assert got["S8"] == (False, None, "在岗", "65008")


ITEM_HEADER = ["事项编码", "事项名称", "检查主体", "检查对象", "检查方式", "事项类别"]


def test_items_vocabularies(store, tmp_path):
    rows = [
        ["A07", "公示信息抽查", "市场监管", "企业|个体工商户", "书面检查|实地", "重点检查事项"],
        ["A08", "登记事项检查", "市场监管", "企业", "实地", "一般"],
        ["A09", "食品经营", "市场监管", "企业", "飞行", "一般"],          # unknown method
        ["A10", "药品", "市场监管", "外星人", "实地", "一般"],            # unknown target kind
        ["A11", "特种设备", "市场监管", "企业", "实地", "特别"],           # unknown category
    ]
    report, q = _import(store, tmp_path, "items", ITEM_HEADER, rows)
    assert (report.accepted, report.quarantined) == (2, 3)
    assert [r["_field"] for r in q] == ["检查方式", "检查对象", "事项类别"]
    got = store.execute("SELECT code, department, subject, target_kinds, methods, category FROM items ORDER BY code").fetchall()
    assert got[0] == ("A07", "市场监管", "市场监管", ["企业", "个体工商户"], ["书面", "实地"], "key")
    assert got[1][-1] == "general"


def test_history_rows(store, tmp_path):
    header = ["统一社会信用代码", "事项编码", "检查日期", "任务编号", "检查人员"]
    rows = [[uscc(1), "A07", "2022-05-01", "T1", "S1|S2"],
            [uscc(1), "A07", "2022-05-01", "", "S1"],
            [uscc(1), "A07", "2022-05-01", "T1", "S3"],       # duplicate key (same task)
            [uscc(2), "A07", "2023-12-01", "", ""]]            # future
    report, q = _import(store, tmp_path, "history", header, rows)
    assert (report.accepted, report.quarantined) == (2, 2)
    assert [r["_row"] for r in q] == ["4", "5"]
    assert store.execute("SELECT task_id FROM history ORDER BY task_id").fetchall() == [("",), ("T1",)]
