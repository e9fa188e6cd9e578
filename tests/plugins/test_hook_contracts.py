"""Each hook of dbsj.plugins.hookspecs exercised through the real paths that call it.

dbsj_provide_items, dbsj_provide_targets, dbsj_provide_inspectors (pull_pool), dbsj_header_aliases
(header_aliases, import_pool), dbsj_recusal (the manager's call_each, as the draw calls it),
dbsj_workday (is_workday, firstresult), dbsj_publish (receipts).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

import dbsj
from dbsj.testing import FakeDepartment, pools


def _manager(*plugins: tuple[object, str], entry_points: bool = False) -> dbsj.PluginManager:
    pm = dbsj.PluginManager(load_entry_points=entry_points)
    for plugin, name in plugins:
        pm.register(plugin, name)
    dbsj.reset_plugin_manager(pm)
    return pm


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pools(max_targets=12, max_inspectors=6))
def test_provide_hooks_feed_pools_and_strategy_data_imports_cleanly(tmp_path: Path, data: dict) -> None:
    _manager((FakeDepartment(**data, batch_rows=5), "fake"))
    with dbsj.Store(":memory:") as store:
        for kind in ("items", "targets", "inspectors"):  # dbsj_provide_items / _targets / _inspectors
            if not data[kind]:
                continue
            report = dbsj.pull_pool(store, kind, "fake", quarantine_dir=tmp_path)
            assert (report.read, report.quarantined) == (len(data[kind]), 0), report.quarantine_file
            assert store.count(kind) == len(data[kind])


def test_provide_hook_answering_none_is_an_error_naming_the_plugin() -> None:
    _manager((FakeDepartment(items=None), "fake"))
    with dbsj.Store(":memory:") as store, pytest.raises(dbsj.PluginError) as err:
        dbsj.pull_pool(store, "items", "fake")
    assert err.value.plugin == "fake"


def test_header_aliases_hook_extends_file_imports(tmp_path: Path) -> None:
    fake = FakeDepartment(aliases={"items": {"卫健事项号": "code", "卫健事项": "name"}})
    _manager((fake, "fake"))
    assert dbsj.header_aliases("items")["卫健事项号"] == "code"
    csv = tmp_path / "items.csv"
    csv.write_text("卫健事项号,卫健事项,检查主体部门,事项类别\nWJ-A01,公共场所卫生监督检查,卫生健康,一般\n", encoding="utf-8")
    with dbsj.Store(":memory:") as store:
        report = dbsj.import_pool(store, "items", csv)
        assert (report.accepted, report.quarantined) == (1, 0)
        assert fake.calls["dbsj_header_aliases"] >= 1


def test_header_aliases_conflicting_with_builtin_table_name_the_plugin() -> None:
    _manager((FakeDepartment(aliases={"targets": {"企业名称": "office"}}), "clash"))
    with pytest.raises(dbsj.PluginError) as err:
        dbsj.header_aliases("targets")
    assert err.value.plugin == "clash"


def test_recusal_hook_returns_pairs_from_the_candidates() -> None:
    fake = FakeDepartment(recusals=[("91650102MA77KQ3X1A", "WJ0001", "亲属关系"), ("X", "Y", "not offered")])
    pm = _manager((fake, "fake"))
    candidates = pa.table({"uscc": ["91650102MA77KQ3X1A", "91650102MA77KQ3X1A"], "staff_id": ["WJ0001", "WJ0002"],
                           "task_id": ["T001", "T001"]})
    answers = pm.call_each("dbsj_recusal", candidates=candidates,
                           context={"task_ids": ["T001"], "inspection_date": dt.date(2023, 7, 1), "plan_id": "P"})
    [(name, table)] = answers
    assert name == "fake"
    assert table.to_pylist() == [{"uscc": "91650102MA77KQ3X1A", "staff_id": "WJ0001", "reason": "亲属关系"}]


def test_workday_hook_first_answer_wins_then_chinese_calendar() -> None:
    # real entry points: the xinjiang plug-in knows 古尔邦节 2023; a fake answers for a future year
    pm = dbsj.PluginManager()
    pm.register(FakeDepartment(workdays={dt.date(2031, 3, 3): True}), "future")
    assert dbsj.is_workday(dt.date(2023, 6, 28), plugins=pm) is False  # Wednesday, 古尔邦节 (xinjiang)
    assert dbsj.is_workday(dt.date(2023, 6, 27), plugins=pm) is True  # ordinary Tuesday (chinese-calendar)
    assert dbsj.is_workday(dt.date(2023, 10, 2), plugins=pm) is False  # National Day (chinese-calendar)
    assert dbsj.is_workday(dt.date(2031, 3, 3), plugins=pm) is True  # only the fake knows 2031
    with pytest.raises(dbsj.CalendarError):
        dbsj.is_workday(dt.date(2031, 3, 4), plugins=pm)  # nobody knows: an error, never a guess


def test_publish_hook_returns_a_receipt(tmp_path: Path) -> None:
    fake = FakeDepartment()
    pm = _manager((fake, "fake"))
    files = {"json": str(tmp_path / "2023-001.json")}
    batch = {"notice_no": "2023-001", "authority": "乌鲁木齐市市场监督管理局", "year": 2023, "entries": 3,
             "ledger_head": "0" * 64}
    [(name, receipt)] = pm.call_each("dbsj_publish", batch=batch, files=files)
    assert name == "fake" and receipt == {"delivered": True, "reference": "FAKE-2023-001"}
    assert fake.published == [(batch, files)]
