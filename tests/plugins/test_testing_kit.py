"""dbsj.testing: strategies give valid models, plans() valid plans, and the conformance suite judges a
plug-in loaded through a real (throwaway) entry point — passing a good one, failing a bad one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

import dbsj
from dbsj.testing import items, plans, targets, usccs
from dbsj.testing.conformance import PluginConformance

sys.path.insert(0, str(Path(__file__).parent))
from throwaway import make_distribution  # noqa: E402

GOOD = """
import datetime as dt
import dbsj
from dbsj.testing import FakeDepartment

_dept = FakeDepartment(
    items=[dbsj.Item(code="WJ-A01", name="公共场所卫生监督检查", department="卫生健康", category="general")],
    targets=[dbsj.Target(uscc="91650102MA77KQ3X1%s", name="乌鲁木齐市康宁诊所", entity_kind="企业", status="存续",
                         region="650102", credit_class="A")],
    workdays={dt.date(2023, 4, 21): False},
)
dbsj_provide_items = _dept.dbsj_provide_items
dbsj_provide_targets = _dept.dbsj_provide_targets
dbsj_workday = _dept.dbsj_workday
"""
BAD = """
import pyarrow as pa
import dbsj

@dbsj.hookimpl
def dbsj_provide_items(options):
    return [pa.record_batch({"code": ["X-1"], "title": ["名称写错了列"]})]

@dbsj.hookimpl
def dbsj_workday(day):
    return "yes"
"""


def _check_char() -> str:
    return stdnum_uscc.calc_check_digit("91650102MA77KQ3X1")


@pytest.fixture
def throwaway_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_distribution(tmp_path, "dbsj_good_dept", GOOD % _check_char(), version="1.0.0", entry_name="gooddept")
    make_distribution(tmp_path, "dbsj_bad_dept", BAD, version="1.0.0", entry_name="baddept")
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.usefixtures("throwaway_plugins")
class TestFakeDepartmentPassesConformance(PluginConformance):
    plugin_name = "gooddept"


@pytest.mark.usefixtures("throwaway_plugins")
class TestBadPluginFailsConformance:
    suite = type("BadSuite", (PluginConformance,), {"plugin_name": "baddept"})

    def test_unknown_column_is_caught(self) -> None:
        pm = dbsj.PluginManager()
        with pytest.raises(AssertionError, match="title"):
            self.suite().test_batches_have_canonical_columns_and_types(pm, pm.pm.get_plugin("baddept"))

    def test_non_bool_workday_is_caught(self) -> None:
        suite = self.suite()
        pm = dbsj.PluginManager()
        with pytest.raises(AssertionError, match="neither bool nor None"):
            suite.test_workday_answers_bool_or_none(pm, pm.pm.get_plugin("baddept"))


@settings(max_examples=40)
@given(usccs())
def test_usccs_are_valid_per_stdnum(code: str) -> None:
    assert stdnum_uscc.is_valid(code) and dbsj.is_valid_uscc(code)


@settings(max_examples=25)
@given(targets())
def test_targets_are_consistent(t: dbsj.Target) -> None:
    assert t.uscc[2:8] == t.region
    assert t.established is None or t.established.year < 2023


@settings(max_examples=25)
@given(st.lists(items(), min_size=1, max_size=5, unique_by=lambda i: i.code).flatmap(
    lambda its: st.tuples(st.just(its), plans(its))))
def test_plans_use_only_the_given_items_and_their_departments(pair: tuple) -> None:
    its, plan = pair
    codes = {i.code for i in its}
    depts = {i.department for i in its}
    assert isinstance(plan, dbsj.Plan)
    for task in plan.tasks:
        assert set(task.items) <= codes
        assert set(task.departments) <= depts
        assert task.end >= task.start
    assert dbsj.Plan.model_validate_json(plan.model_dump_json()) == plan
