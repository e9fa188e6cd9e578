"""Built-in plan-reference checks: unknown item codes are errors with file:line (never a silently skipped rule),
a missing item list is said, departments are an open vocabulary whose near-misses are warnings with a suggestion."""

from __future__ import annotations

import pytest
from rules_fixtures import USCC, add_targets, fill_items, task_yaml  # type: ignore[import-not-found]

import dbsj
from dbsj.cli import main
from dbsj.rules.plan_refs import suggest_department

GOOD_TASKS = [
    task_yaml("T1", partners=("卫生健康",), items=("SC-A07", "WS-01"),
              sampling="{strata: [credit_class], table: ratio.henan-2021}"),
    task_yaml("T2", sponsor="生态环境", items=("HB-01",), sampling="{strata: [credit_class], by_class: {A: 0.02, D: 0.3}}"),
    task_yaml("T3", items=("SC-B01",), sampling='{quota: "≤10%"}'),
]


@pytest.fixture
def good_store(store):
    fill_items(store)
    add_targets(store, [{"uscc": u, "credit_class": c} for u, c in zip(USCC, "ABCD")])
    return store


def _line_of(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_an_unknown_item_code_is_an_error_with_file_line_and_a_suggestion(write_plan, good_store):
    tasks = list(GOOD_TASKS)
    tasks[2] = task_yaml("T3", items=("SC-B01", "SC-B0l"), sampling='{quota: "≤10%"}')
    path = write_plan(tasks)
    report = dbsj.check_plan(path, good_store)
    [f] = report.by_rule("plan.unknown-item")
    assert f.severity == "error" and not report.ok and report.summary["verdict"] == "fail"
    assert f"plan.yaml:{_line_of(path, 'SC-B0l')}" in f.message_zh and "SC-B0l" in f.message_en
    assert f.evidence["suggestion"] == "SC-B01" and "SC-B01" in f.message_zh
    assert report.summary["rules"]["plan.unknown-item"] == {"kind": "builtin", "severity": "error", "status": "fail",
                                                            "violations": 1}


def test_a_plan_checked_without_an_item_list_is_told_so(write_plan, store):
    report = dbsj.check_plan(write_plan(GOOD_TASKS), store)
    [f] = report.by_rule("plan.no-item-list")
    assert f.severity == "warning" and "事项清单" in f.message_zh
    assert report.by_rule("plan.unknown-item") == []


@pytest.mark.parametrize("typo, meant", [("应急管理局", "应急管理"), ("生态环境局", "生态环境"),
                                         ("乌鲁木齐市生态环境局", "生态环境"), ("市场监督管理局", "市场监管")])
def test_a_department_near_miss_is_a_warning_with_the_suggestion(write_plan, good_store, typo, meant):
    tasks = list(GOOD_TASKS)
    tasks[1] = task_yaml("T2", sponsor=typo, items=("HB-01",), sampling="{strata: [credit_class], by_class: {A: 0.02}}")
    path = write_plan(tasks)
    report = dbsj.check_plan(path, good_store)
    [f] = report.by_rule("plan.department-near-miss")
    assert f.severity == "warning" and f.evidence["suggestion"] == meant and meant in f.message_zh
    assert f"plan.yaml:{_line_of(path, 'sponsor: ' + typo)}" in f.message_en


def test_a_department_nobody_names_is_a_warning_and_a_pack_may_name_new_ones(write_plan, good_store, write_pack):
    tasks = [*GOOD_TASKS, task_yaml("T4", sponsor="粮食行政管理", items=("SC-B01",), sampling='{quota: "≤10%"}')]
    report = dbsj.check_plan(write_plan(tasks), good_store)
    [f] = report.by_rule("plan.unknown-department")
    assert f.evidence["department"] == "粮食行政管理" and report.ok  # a warning: the plan is not refused for it
    pack = write_pack("county", {
        "pack.yaml": "id: county\nname: 县级规则\nsource: 某县 2023 年度抽查计划\nextends: [national]\n",
        "r.yaml": "rules:\n  - id: county.grain-joint\n    kind: check\n    name: 粮食任务须联合\n    of: tasks\n"
                  "    where: {sponsor: 粮食行政管理}\n    require: {n_items: {gte: 1}}\n"})
    report = dbsj.check_plan(write_plan(tasks), good_store, rule_dirs=[pack])
    assert report.by_rule("plan.unknown-department") == []  # the pack names it


@pytest.mark.parametrize("name, known, want", [
    ("应急管理局", {"应急管理"}, "应急管理"), ("卫健委", set(), "卫生健康"), ("卫生健康委员会", set(), "卫生健康"),
    ("住房和城乡建设局", set(), "住房城乡建设"), ("应急管埋", {"应急管理"}, "应急管理"),
    ("市场监管", {"市场监管"}, None), ("教育局", set(), None), ("教育局", {"教育"}, "教育"),
])
def test_suggest_department(name, known, want):
    assert suggest_department(name, known) == want


def test_the_cli_prints_the_near_miss(write_plan, tmp_path, capsys):
    tasks = list(GOOD_TASKS)
    tasks[1] = task_yaml("T2", sponsor="应急管理局", items=("HB-01",), sampling="{strata: [credit_class], by_class: {A: 0.02}}")
    path = write_plan(tasks)
    db = tmp_path / "s.duckdb"
    with dbsj.Store(db) as s:
        fill_items(s)
    capsys.readouterr()
    main(["check", "--plan", str(path), "--db", str(db)])
    out = capsys.readouterr().out
    assert "plan.department-near-miss" in out and "「应急管理」" in out
