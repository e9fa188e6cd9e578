"""Publication: numbered notices, Chinese headers, no credit class, no inspector data, ledger head, delivery."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

import dbsj
import lcdata
from dbsj.cli import main


def _record_some(store, d):
    lcdata.visit(store, "T1", d.t1[0], {"A07": "未发现问题", "B01": "发现问题经责令已改正"}, disposition="责令整改")
    lcdata.visit(store, "T1", d.t1[3], {"A07": "未发现问题", "B01": "未发现问题"}, on="2023-04-20")
    dbsj.record_result(store, lcdata.result("T2", d.t2[0], "S2", {"A07": "通过登记的住所(经营场所)无法联系"}, on="2023-05-30"))


def _all_text(files: dict[str, str]) -> str:
    text = open(files["csv"], encoding="utf-8-sig").read() + open(files["json"], encoding="utf-8").read()
    with zipfile.ZipFile(files["xlsx"]) as z:
        text += "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    return text


def test_publish_exports_a_numbered_notice_without_class_or_inspector_data(seeded, tmp_path):
    store, d = seeded
    _record_some(store, d)
    head_before = dbsj.Ledger(store).head()
    [batch] = dbsj.publish(store, tmp_path / "pub")
    assert batch.notice_title == "新疆维吾尔自治区市场监督管理局2023年度第001号抽查任务检查结果公告"
    assert (batch.number, batch.entries, batch.entities) == (1, 5, 3)
    assert batch.ledger_head == head_before
    rows = list(csv.DictReader(io.StringIO(open(batch.files["csv"], encoding="utf-8-sig").read())))
    assert list(rows[0]) == list(dbsj.PUBLICATION_HEADERS.values())
    for h in ("企业名称", "统一社会信用代码", "抽查时间", "抽查单位", "检查事项", "检查结果"):
        assert h in rows[0]
    first = [r for r in rows if r["统一社会信用代码"] == d.t1[0]]
    assert {r["检查事项"]: r["检查结果"] for r in first} == {"A07.公示信息抽查": "未发现问题",
                                                         "B01.餐饮服务卫生抽查": "发现问题经责令已改正"}
    assert first[0]["抽查单位"] == "卫生健康、市场监管" and first[0]["企业名称"] == "测试企业1有限公司"
    doc = json.load(open(batch.files["json"], encoding="utf-8"))
    assert doc["ledger_head"] == head_before and doc["number"] == 1 and len(doc["entries"]) == 3
    # Never a credit class, never inspector data: scan every output.
    text = _all_text(batch.files)
    assert "credit" not in text.lower() and "信用风险" not in text
    for cls in ("A类", "B类", "C类", "D类", "credit_class="):
        assert cls not in text
    for sid in ("S1", "S2", "S3", "S4"):
        assert f"检查员{sid}" not in text and f"CERT-{sid}" not in text and f'"{sid}"' not in text
        assert f",{sid}," not in text
    entry = dbsj.Ledger(store).entries("publication.batch")[-1]
    assert entry.payload["ledger_head"] == head_before and entry.subject == batch.batch_id


def test_numbers_are_sequential_and_corrections_go_out_again(seeded, tmp_path):
    store, d = seeded
    _record_some(store, d)
    [b1] = dbsj.publish(store, tmp_path / "a")
    assert dbsj.publish(store, tmp_path / "b") == []  # nothing due
    dbsj.record_result(store, lcdata.result("T2", d.t2[0], "S2", {"A07": "未发现问题"}, on="2023-05-31"), correction=True)
    [b2] = dbsj.publish(store, tmp_path / "b")
    assert (b1.number, b2.number, b2.entries) == (1, 2, 1)
    assert "第002号" in b2.notice_title
    dbsj.record_result(store, lcdata.result("T2", d.t2[1], "S2", {"A07": "未发现问题"}))
    [b3] = dbsj.publish(store, tmp_path / "c", authority="乌鲁木齐市市场监督管理局")  # numbered per authority
    assert b3.number == 1 and b3.notice_title.startswith("乌鲁木齐市市场监督管理局2023年度第001号")


def test_publication_files_are_byte_identical_for_the_same_inputs(tmp_path, pm):
    digests = []
    for run in range(2):
        with dbsj.Store(":memory:") as s:
            d = lcdata.seed(s)
            _record_some(s, d)
            [b] = dbsj.publish(s, tmp_path / f"run{run}")
            digests.append({k: open(v, "rb").read() for k, v in b.files.items()})
    assert digests[0] == digests[1]


class Courier:
    def __init__(self):
        self.seen = []

    @dbsj.hookimpl
    def dbsj_publish(self, batch, files):
        self.seen.append((batch["notice_no"], sorted(files)))
        return {"delivered": True, "reference": f"GS-{batch['year']}-{batch['notice_no']:03d}"}


class Broken:
    @dbsj.hookimpl
    def dbsj_publish(self, batch, files):
        raise ConnectionError("intranet gateway down")


def test_publish_plugins_deliver_and_receipts_are_on_the_ledger(seeded, pm, tmp_path):
    store, d = seeded
    courier = Courier()
    pm.register(courier, "courier")
    pm.register(Broken(), "broken")
    _record_some(store, d)
    [batch] = dbsj.publish(store, tmp_path)
    assert courier.seen == [(1, ["csv", "json", "xlsx"])]
    assert batch.receipts["courier"] == {"delivered": True, "reference": "GS-2023-001"}
    assert batch.receipts["broken"]["delivered"] is False and "gateway down" in batch.receipts["broken"]["error"]
    receipts = {e.payload["plugin"]: e.payload["receipt"] for e in dbsj.Ledger(store).entries("publication.receipt")}
    assert receipts["courier"]["reference"] == "GS-2023-001" and receipts["broken"]["delivered"] is False
    assert dbsj.Ledger(store).verify()


def test_due_dates_and_overdue(seeded, tmp_path):
    store, d = seeded
    _record_some(store, d)
    due = {(r["uscc"], r["item_code"]): r for r in dbsj.due_results(store)}
    late = due[(d.t1[3], "A07")]
    assert str(late["due"]) == "2023-05-19" and late["overdue"] and late["published_on"] is None
    assert not due[(d.t2[0], "A07")]["overdue"]
    dbsj.publish(store, tmp_path)
    after = {(r["uscc"], r["item_code"]): r for r in dbsj.due_results(store)}
    assert not after[(d.t1[3], "A07")]["overdue"] and after[(d.t1[3], "A07")]["late"]
    assert not after[(d.t2[0], "A07")]["late"]


def test_publish_cli(tmp_path, pm, capsys):
    path = tmp_path / "s.duckdb"
    with dbsj.Store(path) as s:
        _record_some(s, lcdata.seed(s))
    out = tmp_path / "pub"
    assert main(["publish", "--db", str(path), "--out", str(out), "--json"]) == 0
    [b] = json.loads(capsys.readouterr().out)
    assert b["number"] == 1 and b["entries"] == 5 and (out / f"{b['batch_id']}.xlsx").exists()
    assert main(["publish", "--db", str(path), "--out", str(out)]) == 0
    assert "没有待公示" in capsys.readouterr().out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_notice_title_format(lang):
    dbsj.set_language(lang)
    assert dbsj.notice_title("伊犁州市场监督管理局", 2023, 7) == "伊犁州市场监督管理局2023年度第007号抽查任务检查结果公告"
