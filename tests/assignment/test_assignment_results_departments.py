"""谁检查、谁录入 on a real draw: the team a joint visit was staffed with records its items department by
department, judged by the item list the draw's assignment snapshot holds."""

from __future__ import annotations

import datetime as dt

import pytest
from asg_helpers import DUE, insert, inspector, item, target

import dbsj

SC, YJ = "市场监管", "应急管理"


@pytest.fixture(autouse=True)
def _no_installed_plugins():
    dbsj.reset_plugin_manager(dbsj.PluginManager(load_entry_points=False))
    yield
    dbsj.reset_plugin_manager(None)


def drawn(store: dbsj.Store, tmp_path) -> tuple[str, dict[str, str]]:
    insert(store, "items", [item("SC-D01", SC), item("YJ-01", YJ)])
    insert(store, "targets", [target(n) for n in range(1, 11)])
    insert(store, "inspectors", [inspector(f"M{k}", SC, scope=("SC-D01",)) for k in range(3)]
           + [inspector(f"Y{k}", YJ, scope=("YJ-01",)) for k in range(3)])
    plan = dbsj.Plan.model_validate({"id": "P2023", "year": 2023, "authority": "测试局", "title": "测试计划", "tasks": [
        {"id": "J1", "name": "安全生产与食品联合抽查", "sponsor": SC, "partners": [YJ], "items": ["SC-D01", "YJ-01"],
         "sampling": {"quota": {"count": 2}}, "start": "2023-03-01", "batches": [{"name": "一", "deadline": DUE.isoformat()}]}]})
    dbsj.set_now(dt.datetime(2023, 4, 3, 10))
    dbsj.draw_plan(store, plan, seed=dbsj.DiceSeed("31415926535897932384", ("监督员甲",)), out_dir=tmp_path / "rec")
    u = store.execute("SELECT uscc FROM assignments ORDER BY uscc LIMIT 1").fetchone()[0]
    seats = dict(store.execute("SELECT department, min(staff_id) FROM assignments WHERE uscc = ? GROUP BY 1",
                               [u]).fetchall())
    assert set(seats) == {SC, YJ}
    assert store.count("assignment_input_items") == 2  # the draw kept the item list it staffed by
    return u, seats


def result(u: str, staff: str, items: dict[str, str]) -> dbsj.Result:
    return dbsj.Result(task_id="J1", uscc=u, staff_id=staff, items=items, inspected_on=dt.date(2023, 5, 10))


def test_an_emergency_inspector_cannot_record_the_market_item(store, tmp_path):
    u, seats = drawn(store, tmp_path)
    dbsj.set_now(dt.datetime(2023, 6, 1, 10))
    before = (store.count("results"), store.count("ledger"))
    with pytest.raises(dbsj.ResultError) as info:
        dbsj.record_result(store, result(u, seats[YJ], {"SC-D01": "未发现问题"}))
    zh = info.value.render("zh")
    assert f"检查事项 SC-D01 属于 市场监管，执法人员 {seats[YJ]}（应急管理）不能录入（谁检查、谁录入）" in zh
    assert f"由检查组中市场监管的人员录入: {seats[SC]}" in zh
    assert f"item SC-D01 belongs to 市场监管; inspector {seats[YJ]} (应急管理) cannot record it" in info.value.render("en")
    assert (store.count("results"), store.count("ledger")) == before
    # each department records its own item of the joint visit
    dbsj.record_result(store, result(u, seats[SC], {"SC-D01": "未发现问题"}))
    dbsj.record_result(store, result(u, seats[YJ], {"YJ-01": "发现问题经责令已改正"}))
    rows = store.execute("SELECT item_code, staff_id FROM results ORDER BY item_code").fetchall()
    assert rows == [("SC-D01", seats[SC]), ("YJ-01", seats[YJ])]


def test_the_item_list_the_draw_staffed_by_rules_not_a_later_one(store, tmp_path):
    u, seats = drawn(store, tmp_path)
    dbsj.set_now(dt.datetime(2023, 6, 1, 10))
    # The item list moves SC-D01 to 应急管理 after the draw: the team was staffed on the snapshot, which still
    # names 市场监管, so the 市场监管 inspector records it and the 应急管理 one may not.
    store.execute("UPDATE items SET department = ? WHERE code = 'SC-D01'", [YJ])
    with pytest.raises(dbsj.ResultError, match="SC-D01 属于 市场监管"):
        dbsj.record_result(store, result(u, seats[YJ], {"SC-D01": "未发现问题"}))
    assert dbsj.record_result(store, result(u, seats[SC], {"SC-D01": "未发现问题"})).entry_nos
