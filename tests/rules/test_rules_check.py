"""dbsj check: every shipped rule has a passing and a failing case; the CLI verdict, JSON and exit codes."""

from __future__ import annotations

import json

import pytest
from rules_fixtures import (  # type: ignore[import-not-found]
    USCC,
    add_assignment,
    add_draw,
    add_history,
    add_targets,
    fill_items,
    task_yaml,
)

import dbsj
from dbsj.cli import main

XJ = ("xinjiang-2023",)

# A plan that satisfies the national pack against the ITEMS list of conftest.
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


def _check(plan_path, store, **kw):
    report = dbsj.check_plan(plan_path, store, **kw)
    return report, {f.rule for f in report.findings}


def test_good_plan_passes_every_rule(write_plan, good_store):
    report, rules = _check(write_plan(GOOD_TASKS), good_store)
    assert report.ok and rules == set(), [f.message for f in report.findings]
    assert report.summary["verdict"] == "pass"
    assert all(v["status"] in ("pass", "n/a") for v in report.summary["rules"].values())


def test_coverage_key_items_flags_an_uncovered_key_item(write_plan, good_store):
    report, rules = _check(write_plan([GOOD_TASKS[0], GOOD_TASKS[2],
                                       task_yaml("T2", sponsor="生态环境", items=("SC-B01",),
                                                 sampling="{strata: [credit_class], by_class: {A: 0.02}}")]), good_store)
    (f,) = report.by_rule("coverage.key-items")
    assert f.severity == "error" and f.evidence["code"] == "HB-01" and "HB-01" in f.message
    assert "coverage.key-items" in f.message and "国发〔2019〕5号" in f.message  # says which rule and its source


def test_coverage_departments_flags_a_department_with_items_but_no_task(write_plan, good_store):
    report, _ = _check(write_plan([task_yaml("T1", items=("SC-A07", "WS-01", "HB-01"),
                                             sampling="{strata: [credit_class], by_class: {A: 0.02}}")]), good_store)
    assert sorted(f.evidence["department"] for f in report.by_rule("coverage.departments")) == ["卫生健康", "生态环境"]
    assert report.by_rule("coverage.key-items") == []


def test_credit_linked_share_below_half_fails_and_at_half_passes(write_plan, good_store):
    linked = "{strata: [credit_class], by_class: {A: 0.02}}"
    tasks = [task_yaml(f"T{i}", sponsor="生态环境" if i == 0 else "市场监管", partners=("卫生健康",),
                       items=("SC-A07", "WS-01", "HB-01"), sampling=linked if i < 3 else '{quota: "≥3%"}')
             for i in range(10)]
    # the national baseline has no credit-linked share: it is the Xinjiang 2023 notice's, which binds its plans only
    report, rules = _check(write_plan(tasks), good_store)
    assert "credit.linked-share" not in rules and report.summary["packs"] == ["national"]
    report, rules = _check(write_plan(tasks, "xj.yaml", rule_packs=XJ), good_store)  # 3 of 10 = 30 %
    assert report.summary["packs"] == ["national", "xinjiang-2023"]
    (f,) = report.by_rule("credit.linked-share")
    assert "新疆维吾尔自治区" in f.source
    assert f.evidence["matching"] == 3 and f.evidence["total"] == 10 and f.evidence["share_pct"] == "30%"
    assert f.evidence["not_matching"] == [f"T{i}" for i in range(3, 10)]
    tasks = tasks[:3] + tasks[7:]  # 3 of 6 = 50 %
    report, rules = _check(write_plan(tasks, "plan2.yaml", rule_packs=XJ), good_store)
    assert "credit.linked-share" not in rules


def test_general_cap(write_plan, good_store):
    over = task_yaml("T4", items=("SC-B01", "WS-02"), sampling='{quota: "不低于30%"}')
    mixed = task_yaml("T5", items=("SC-B01", "SC-A07"), sampling='{quota: "不低于30%"}')
    report, _ = _check(write_plan(GOOD_TASKS + [over, mixed]), good_store)
    (f,) = report.by_rule("ratio.general-cap")
    assert f.evidence["task_id"] == "T4" and f.evidence["ratio_floor"] == 0.3
    range_ = task_yaml("T4", items=("SC-B01",), sampling='{quota: "5%-20%"}')
    report, _ = _check(write_plan(GOOD_TASKS + [range_], "p2.yaml"), good_store)
    assert [f.evidence["ratio_ceiling"] for f in report.by_rule("ratio.general-cap")] == [0.2]


def test_ratio_table_must_exist(write_plan, good_store):
    report, _ = _check(write_plan(GOOD_TASKS + [task_yaml("T9", sampling="{table: ratio.atlantis}")]), good_store)
    assert [f.evidence["table"] for f in report.by_rule("ratio.table-known")] == ["ratio.atlantis"]


def test_frequency_same_item_yearly_across_tasks_and_history(write_plan, good_store):
    plan = write_plan(GOOD_TASKS + [task_yaml("T4", items=("SC-A07",), sampling='{quota: "≥3%"}')])
    add_history(good_store, [(USCC[0], "SC-A07", "2023-03-01", "XJ-2023-007"),   # 141 days before: repeat
                             (USCC[1], "SC-A07", "2022-01-02", "XJ-2022-007"),   # over a year: fine
                             (USCC[2], "SC-B01", "2023-02-01", "XJ-2023-000")])           # another item: fine
    add_draw(good_store, "XJ-2023", "T1", [USCC[0], USCC[1], USCC[2]], due="2023-07-20")
    add_draw(good_store, "XJ-2023", "T4", [USCC[1]], due="2023-10-15")          # same target, same item again
    add_draw(good_store, "XJ-2023", "T4", [USCC[2]], due="2023-10-15", status="failed", draw_id="D-x")  # not counted
    report, _ = _check(plan, good_store)
    got = [(f.evidence["uscc"], f.evidence["first_task"], f.evidence["second_task"], f.evidence["days"])
           for f in report.by_rule("frequency.same-item-yearly")]
    assert got == [(USCC[0], "XJ-2023-007", "T1", 141), (USCC[1], "T1", "T4", 87)]


def test_result_recorded_into_history_is_not_a_repeat_of_its_own_selection(write_plan, good_store):
    plan = write_plan(GOOD_TASKS)
    add_draw(good_store, "XJ-2023", "T1", [USCC[0]], due="2023-07-20")
    add_history(good_store, [(USCC[0], "SC-A07", "2023-06-15", "T1")])  # the inspection itself
    report, rules = _check(plan, good_store)
    assert "frequency.same-item-yearly" not in rules


def test_team_min_size(write_plan, good_store):
    plan = write_plan(GOOD_TASKS)
    d = add_draw(good_store, "XJ-2023", "T1", USCC[:2])
    add_assignment(good_store, "XJ-2023", d, "V1", "T1", USCC[0], [("S1", "市场监管"), ("S2", "卫生健康")])
    add_assignment(good_store, "XJ-2023", d, "V2", "T1", USCC[1], [("S3", "市场监管")])
    report, _ = _check(plan, good_store)
    assert [(f.evidence["visit_id"], f.evidence["team_size"]) for f in report.by_rule("team.min-size")] == [("V2", 1)]


def test_eligibility_of_drawn_targets(write_plan, good_store):
    add_targets(good_store, [{"uscc": "91650100MA77GONE1X", "status": "注销"}])
    add_draw(good_store, "XJ-2023", "T1", [USCC[0], "91650100MA77GONE1X", "91650100MA77NONE1X"])
    report, _ = _check(write_plan(GOOD_TASKS), good_store)
    assert [f.evidence["uscc"] for f in report.by_rule("eligibility.registered")] == [
        "91650100MA77GONE1X", "91650100MA77NONE1X"]


def test_publication_deadline_is_a_parameter_not_a_finding(write_plan, good_store):
    report, _ = _check(write_plan(GOOD_TASKS), good_store)
    assert report.summary["rules"]["publication.deadline"]["status"] == "n/a"
    assert dbsj.publication_deadline_days() == 20


def test_event_rules_run_over_recorded_results(write_plan, good_store):
    plan = write_plan(GOOD_TASKS)
    rows = [(1, "T1", USCC[3], "S1", "SC-A07", "未按规定公示应当公示的信息", "责令整改"),
            (2, "T1", USCC[0], "S1", "SC-A07", "未发现问题", "无须处置")]
    good_store.con.executemany(
        "INSERT INTO results (entry_no, plan_id, task_id, uscc, staff_id, item_code, result_code, method, disposition, "
        "inspected_on, recorded_at) VALUES (?, 'XJ-2023', ?, ?, ?, ?, ?, '实地', ?, DATE '2023-07-01', "
        "TIMESTAMPTZ '2023-07-01 10:00:00+08')", [list(r) for r in rows])
    report, rules = _check(plan, good_store)
    assert rules == {"followup.problem-disposition", "followup.d-class-directed"}
    assert report.ok  # info and warning only
    (dispo,) = report.by_rule("followup.problem-disposition")
    assert dispo.evidence["uscc"] == USCC[3] and dispo.evidence["department"] == "市场监管"
    assert dispo.severity == "info"


def test_check_without_a_store_evaluates_the_plan_alone(write_plan):
    report = dbsj.check_plan(write_plan(GOOD_TASKS[:1]))
    assert report.ok and report.summary["data"]["items"] == 0 and report.summary["notes"]


def test_same_inputs_give_identical_json(write_plan, good_store):
    plan = write_plan(GOOD_TASKS + [task_yaml("T4", items=("SC-B01",), sampling='{quota: "≥30%"}')])
    add_draw(good_store, "XJ-2023", "T1", USCC)
    a = json.dumps(dbsj.check_plan(plan, good_store).to_dict(), ensure_ascii=False, sort_keys=True)
    b = json.dumps(dbsj.check_plan(plan, good_store).to_dict(), ensure_ascii=False, sort_keys=True)
    assert a == b


# -- the command line ---------------------------------------------------------------------------------

def _db(tmp_path, fill=True):
    path = tmp_path / "s.duckdb"
    with dbsj.Store(path) as s:
        if fill:
            fill_items(s)
            add_targets(s, [{"uscc": USCC[0], "credit_class": "A"}])
    return path


def test_cli_flags_30_percent_credit_linked_and_an_uncovered_key_item(tmp_path, write_plan, capsys):
    linked = "{strata: [credit_class], table: ratio.daqing}"
    tasks = [task_yaml(f"T{i}", partners=("卫生健康", "生态环境"), items=("SC-A07", "WS-01"),
                       sampling=linked if i < 3 else '{quota: "不低于3%"}') for i in range(10)]
    db = _db(tmp_path)
    code = main(["check", "--db", str(db), "--plan", str(write_plan(tasks, rule_packs=XJ)), "--json"])
    assert code == 1
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"findings", "summary"}
    rules = {f["rule"] for f in out["findings"]}
    assert {"credit.linked-share", "coverage.key-items"} <= rules
    for f in out["findings"]:
        assert {"rule", "severity", "message", "evidence"} <= set(f)
    key = [f for f in out["findings"] if f["rule"] == "coverage.key-items"]
    assert [f["evidence"]["code"] for f in key] == ["HB-01"]
    assert out["summary"]["verdict"] == "fail" and out["summary"]["errors"] >= 2


def test_cli_text_output_in_english(tmp_path, write_plan, capsys):
    db = _db(tmp_path)
    code = main(["--lang", "en", "check", "--db", str(db), "--plan", str(write_plan(GOOD_TASKS[:1]))])
    out = capsys.readouterr().out
    assert code == 1
    assert "key item HB-01" in out and "verdict: FAIL" in out and "[rule coverage.key-items; source:" in out


def test_cli_passing_plan_exits_0(tmp_path, write_plan, capsys):
    db = _db(tmp_path)
    assert main(["check", "--db", str(db), "--plan", str(write_plan(GOOD_TASKS))]) == 0
    assert "结论: 通过" in capsys.readouterr().out


def test_cli_bad_plan_or_missing_store_exits_2(tmp_path, write_plan, capsys):
    db = _db(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("plan:\n  id: [unclosed\n", encoding="utf-8")
    assert main(["check", "--db", str(db), "--plan", str(bad)]) == 2
    assert "bad.yaml:3: YAML" in capsys.readouterr().err
    assert main(["check", "--db", str(tmp_path / "none.duckdb"), "--plan", str(write_plan(GOOD_TASKS))]) == 2


def test_cli_local_pack_changes_the_verdict(tmp_path, write_plan, write_pack, capsys):
    db = _db(tmp_path)
    pack = write_pack("prov", {"pack.yaml": "id: prov\nname: 省\nextends: [xinjiang-2023]\n",
                               "c.yaml": "rules:\n  - {id: credit.linked-share, override: true, min: 0.9}\n"})
    plan = write_plan(GOOD_TASKS)
    assert main(["check", "--db", str(db), "--plan", str(plan), "--rules", str(pack), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in out["findings"]] == ["credit.linked-share"]
    assert out["summary"]["packs"] == ["national", "xinjiang-2023", "prov"]


def test_overdue_publication_is_flagged_by_the_event_rules(write_plan, good_store):
    plan = write_plan(GOOD_TASKS)
    good_store.con.execute(
        "INSERT INTO results (entry_no, plan_id, task_id, uscc, staff_id, item_code, result_code, method, disposition, "
        "inspected_on, recorded_at) VALUES (1, 'XJ-2023', 'T1', ?, 'S1', 'SC-A07', '未发现问题', '实地', '无须处置', "
        "DATE '2023-03-01', TIMESTAMPTZ '2023-03-01 10:00:00+08')", [USCC[0]])
    report, rules = _check(plan, good_store)  # the clock is 2023-06-01: 20 working days are long past
    (alert,) = report.by_rule("followup.publication-overdue")
    assert alert.severity == "warning" and alert.evidence["uscc"] == USCC[0] and alert.evidence["department"] == "市场监管"
    assert alert.evidence["due"] == "2023-03-29"


def test_demo_step_checks_the_example_plan_and_prints_the_verdict(store, tmp_path):
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from dbsj.rules.demo_step import check_step, show_check

    fill_items(store)
    console = Console(file=io.StringIO(), width=200)
    ctx = SimpleNamespace(store=store, workdir=tmp_path, console=console, state={},
                          t=lambda zh, en: zh)
    summary = check_step(ctx)
    json.dumps(summary, ensure_ascii=False)  # JSON-ready for dbsj demo --json
    assert summary["verdict"] == ("pass" if summary["errors"] == 0 else "fail")
    assert set(summary["rules"]) >= {"coverage.key-items", "credit.linked-share", "team.min-size"}
    show_check(ctx, summary)
    out = console.file.getvalue()
    assert "结论: " + ("通过" if summary["verdict"] == "pass" else "不通过") in out


def test_anti_repeat_window_per_credit_class_from_a_local_pack(write_plan, write_pack, good_store):
    pack = write_pack("prov", {"pack.yaml": "id: prov\nname: 省\nextends: [national]\n", "f.yaml": (
        "rules:\n  - {id: frequency.same-item-yearly, override: true, by_class: {D: 90}}\n")})
    plan = write_plan(GOOD_TASKS)
    # USCC[0] is class A, USCC[3] class D; both inspected for SC-A07 141 days before the draw's due date
    add_history(good_store, [(USCC[0], "SC-A07", "2023-03-01", "OLD"), (USCC[3], "SC-A07", "2023-03-01", "OLD")])
    add_draw(good_store, "XJ-2023", "T1", [USCC[0], USCC[3]], due="2023-07-20")
    report = dbsj.check_plan(plan, good_store, rules=dbsj.load_rules([pack]))
    assert [(f.evidence["uscc"], f.evidence["window_days"]) for f in report.by_rule("frequency.same-item-yearly")] == [
        (USCC[0], 365)]
    national = dbsj.check_plan(plan, good_store)
    assert len(national.by_rule("frequency.same-item-yearly")) == 2


def test_scope_respected_by_drawn_targets(write_plan, good_store):
    scoped = task_yaml("T4", items=("SC-A07",), sampling='{quota: "≥3%"}').replace(
        "      sampling:", "      scope: {regions: ['6501'], credit_classes: [C, D]}\n      sampling:")
    plan = write_plan(GOOD_TASKS + [scoped])
    add_targets(good_store, [{"uscc": "91650200MA77OUT01X", "region": "650203", "credit_class": "D"}])
    # USCC[2] is C in 650102 (in scope); USCC[0] is A (class out of scope); the last is in 6502 (region out)
    add_draw(good_store, "XJ-2023", "T4", [USCC[2], USCC[0], "91650200MA77OUT01X"])
    add_draw(good_store, "XJ-2023", "T1", [USCC[0]])  # T1 has no scope: anything in the pool is in scope
    report, _ = _check(plan, good_store)
    assert sorted((f.evidence["task_id"], f.evidence["uscc"]) for f in report.by_rule("scope.respected")) == [
        ("T4", USCC[0]), ("T4", "91650200MA77OUT01X")]
    assert "credit_class" not in report.by_rule("scope.respected")[0].evidence  # the class is never shown


def test_findings_are_listed_up_to_a_limit_and_counted_in_full(write_plan, good_store):
    many = [f"91650100MA7{i:06d}X" for i in range(30)]
    add_draw(good_store, "XJ-2023", "T1", many)  # none of them in the pool
    report = dbsj.check_plan(write_plan(GOOD_TASKS), good_store, max_findings_per_rule=5)
    assert len(report.by_rule("eligibility.registered")) == 5
    assert report.summary["rules"]["eligibility.registered"]["violations"] == 30
    assert report.summary["errors"] >= 30
