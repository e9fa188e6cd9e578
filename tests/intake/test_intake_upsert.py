"""Upsert by natural key, change tracking, snapshot, and the export round trip."""

from __future__ import annotations

import pytest

import dbsj
from dbsj.store.digest import set_digest
from intake_helpers import TARGET_HEADER, no_plugins, read_csv, target_row, uscc, write_csv


@pytest.fixture(autouse=True)
def _isolated():
    no_plugins()


def _imp(store, tmp_path, rows, name="t.csv", **kw):
    return dbsj.import_pool(store, "targets", write_csv(tmp_path / name, TARGET_HEADER, rows), **kw)


def test_reimport_updates_and_records_changes(store, tmp_path):
    first = _imp(store, tmp_path, [target_row(i) for i in range(1, 6)])
    assert (first.inserted, first.updated, first.unchanged) == (5, 0, 0)
    second = _imp(store, tmp_path, [
        target_row(1),                                    # unchanged
        target_row(2, status="注销"),                      # deregistered
        target_row(3, credit="D", name="企业3（更名）"),     # two fields
        target_row(6),                                    # new
    ])
    assert (second.inserted, second.updated, second.unchanged, second.deactivated) == (1, 2, 1, 0)
    changes = store.execute("SELECT key, field, old_value, new_value FROM pool_changes WHERE import_id = ? "
                            "ORDER BY key, field", [second.import_id]).fetchall()
    assert changes == [(uscc(2), "status", "存续", "注销"),
                       (uscc(3), "credit_class", "B", "D"), (uscc(3), "name", "企业3", "企业3（更名）")]
    assert store.count("targets", "active") == 6  # upsert: rows absent from the file stay
    row = store.execute("SELECT status, import_id FROM targets WHERE uscc = ?", [uscc(2)]).fetchone()
    assert row == ("注销", second.import_id)
    assert store.scalar("SELECT import_id FROM targets WHERE uscc = ?", [uscc(1)]) == first.import_id


def test_imports_table_and_digest(store, tmp_path):
    report = _imp(store, tmp_path, [target_row(1), target_row(2, region="x")])
    row = store.execute("SELECT kind, read, accepted, quarantined, inserted, encoding, quarantine_file, source_sha256 "
                        "FROM imports WHERE import_id = ?", [report.import_id]).fetchone()
    assert row[:7] == ("targets", 2, 1, 1, 1, "utf-8", report.quarantine_file)
    assert len(row[7]) == 64
    count, digest = store.execute("SELECT row_count, digest FROM pool_digests WHERE kind = 'targets'").fetchone()
    assert (count, digest) == (1, set_digest([uscc(1)]))


def test_snapshot_deactivates_absent_rows_but_not_quarantined_keys(store, tmp_path):
    _imp(store, tmp_path, [target_row(i) for i in range(1, 6)])
    snap = _imp(store, tmp_path, [target_row(1), target_row(2), target_row(3, region="bad")], snapshot=True)
    # 4 and 5 are gone; 3 is in the file (quarantined for a typo) and stays active
    assert (snap.accepted, snap.quarantined, snap.deactivated, snap.unchanged) == (2, 1, 2, 2)
    assert store.execute("SELECT uscc FROM targets WHERE NOT active ORDER BY uscc").fetchall() == [(uscc(4),), (uscc(5),)]
    assert store.count("pool_changes", "field = 'active' AND new_value = 'false'") == 2
    assert store.scalar("SELECT row_count FROM pool_digests WHERE kind = 'targets'") == 3
    back = _imp(store, tmp_path, [target_row(4)])
    assert (back.updated, back.inserted) == (1, 0)
    assert store.count("pool_changes", f"key = '{uscc(4)}' AND field = 'active' AND new_value = 'true'") == 1


def test_failed_import_changes_nothing(store, tmp_path):
    _imp(store, tmp_path, [target_row(1)])
    before = store.count("imports")
    with pytest.raises(dbsj.MissingColumnError):
        dbsj.import_pool(store, "targets", write_csv(tmp_path / "bad.csv", ["企业名称"], [["x"]]))
    assert store.count("imports") == before and store.count("targets") == 1


@pytest.mark.parametrize("headers", ["en", "zh"])
def test_export_round_trip_targets(store, tmp_path, headers):
    hostile = ['=HYPERLINK("http://evil.example/?x","点击")', "=cmd|' /C calc'!A0", "+86-991", "@SUM(1)"]
    rows = [target_row(3, credit=""), target_row(1, name='带,逗号"引号'), target_row(2)]
    rows += [target_row(4 + i, name=h) for i, h in enumerate(hostile)]
    header = TARGET_HEADER + ["监管标签", "行业代码"]
    path = write_csv(tmp_path / "t.csv", header, [r + ["食品|重点", "F5211"] for r in rows])
    dbsj.import_pool(store, "targets", path)
    out = tmp_path / "out.csv"
    assert dbsj.export_pool(store, "targets", out, headers=headers) == 7
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    exported = read_csv(out)
    key = "uscc" if headers == "en" else "统一社会信用代码"
    assert [r[key] for r in exported] == [uscc(i) for i in range(1, 8)]
    assert list(exported[0]) == [c.name if headers == "en" else c.zh for c in dbsj.POOL_COLUMNS["targets"]]
    # Formula-leading cells are written as text (one ' in front), never as a formula a spreadsheet would run.
    names = [r["name" if headers == "en" else "企业名称"] for r in exported[3:]]
    assert names == ["'" + h for h in hostile]
    again = dbsj.import_pool(store, "targets", out)
    assert (again.read, again.unchanged, again.updated, again.inserted, again.quarantined) == (7, 7, 0, 0, 0)
    assert [r[0] for r in store.execute("SELECT name FROM targets ORDER BY uscc").fetchall()][3:] == hostile
    assert dbsj.export_pool(store, "targets", tmp_path / "out2.csv", headers=headers) == 7
    assert (tmp_path / "out2.csv").read_bytes() == out.read_bytes()


def test_export_round_trip_other_pools(store, tmp_path):
    items = write_csv(tmp_path / "i.csv", ["code", "name", "department", "target_kinds", "methods", "category", "basis"],
                      [["A07", "公示信息", "市场监管", "企业|个体工商户", "书面|实地", "key", "《条例》第一条"]])
    insp = write_csv(tmp_path / "p.csv", ["staff_id", "name", "department", "certificate_no", "certificate_expiry",
                                           "expert", "item_scope", "conflicts"],
                     [["S1", "张三", "市场监管", "65001", "2025-12-31", "true", "A07|A08", uscc(1)],
                      ["S2", "李四", "市场监管", "65002", "2025-12-31", "", "", ""]])
    hist = write_csv(tmp_path / "h.csv", ["uscc", "item_code", "inspected_on", "task_id", "staff_ids"],
                     [[uscc(1), "A07", "2022-05-01", "", "S1|S2"], [uscc(1), "A07", "2022-05-01", "T9", ""]])
    for kind, path in (("items", items), ("inspectors", insp), ("history", hist)):
        first = dbsj.import_pool(store, kind, path)
        out = tmp_path / f"{kind}.out.csv"
        n = dbsj.export_pool(store, kind, out)
        assert n == first.accepted > 0
        again = dbsj.import_pool(store, kind, out)
        assert (again.unchanged, again.updated, again.inserted, again.quarantined) == (n, 0, 0, 0), kind


def test_export_only_active_rows(store, tmp_path):
    _imp(store, tmp_path, [target_row(1), target_row(2)])
    _imp(store, tmp_path, [target_row(1)], snapshot=True)
    assert dbsj.export_pool(store, "targets", tmp_path / "o.csv") == 1


def test_export_bad_headers(store, tmp_path):
    with pytest.raises(dbsj.InputError):
        dbsj.export_pool(store, "targets", tmp_path / "o.csv", headers="fr")
