"""Packs by authority: the national pack holds what national documents require; a region's requirements are
its own pack, which a plan names (``rule_packs:``) so that ``dbsj check`` needs no ``--rules``; only named
and extended packs apply, and a broken pack never blocks another."""

from __future__ import annotations

import json

import pytest
from rules_fixtures import USCC, add_targets, fill_items, task_yaml  # type: ignore[import-not-found]

import dbsj
from dbsj import RuleError
from dbsj.cli import main

LINKED = "{strata: [credit_class], by_class: {A: 0.02}}"
# 3 of 10 tasks credit-linked: faithful to an Anhui or Jiangxi county annex, short of Xinjiang's 50 %
TASKS = [task_yaml(f"T{i}", sponsor="生态环境" if i == 0 else "市场监管", partners=("卫生健康",),
                   items=("SC-A07", "WS-01", "HB-01", "SC-B01"), sampling=LINKED if i < 3 else '{quota: "≤3%"}')
         for i in range(10)]


def _db(tmp_path):
    db = tmp_path / "s.duckdb"
    with dbsj.Store(db) as s:
        fill_items(s)
        add_targets(s, [{"uscc": u, "credit_class": c} for u, c in zip(USCC, "ABCD")])
    return db


def test_every_national_rule_cites_a_national_source_and_the_xinjiang_share_is_its_own_pack():
    national = dbsj.load_rules()
    assert [p.id for p in national.packs] == ["national"]
    assert "credit.linked-share" not in {r.id for r in national.enabled()}
    for lr in national.enabled():
        assert lr.rule.source and "新疆" not in lr.rule.source, lr.id
    xj = dbsj.load_rules(packs=["xinjiang-2023"])
    assert [p.id for p in xj.packs] == ["national", "xinjiang-2023"]
    assert xj.get("credit.linked-share").pack == "xinjiang-2023"


def test_a_plan_names_its_packs_and_check_needs_no_rules_option(tmp_path, write_plan, capsys):
    db = _db(tmp_path)
    capsys.readouterr()
    assert main(["check", "--db", str(db), "--plan", str(write_plan(TASKS)), "--json"]) == 0  # national alone
    assert json.loads(capsys.readouterr().out)["summary"]["packs"] == ["national"]
    named = write_plan(TASKS, "xj.yaml", rule_packs=("xinjiang-2023",))
    assert main(["check", "--db", str(db), "--plan", str(named), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["summary"]["packs"] == ["national", "xinjiang-2023"]
    assert [f["rule"] for f in out["findings"] if f["severity"] == "error"] == ["credit.linked-share"]


def test_an_unknown_pack_name_is_a_clear_error_with_the_packs_available(tmp_path, write_plan, capsys):
    db = _db(tmp_path)
    plan = write_plan(TASKS, rule_packs=("xinjiang-2032",))
    capsys.readouterr()
    assert main(["--lang", "en", "check", "--db", str(db), "--plan", str(plan)]) == 2
    err = capsys.readouterr().err
    assert "xinjiang-2032" in err and "did you mean xinjiang-2023" in err and "available:" in err
    assert "Traceback" not in err


def test_a_broken_pack_never_blocks_another(tmp_path, write_plan, write_pack, capsys):
    good = write_pack("counties/a", {"pack.yaml": "id: county-a\nname: 甲县\nsource: 甲县通知\nextends: [national]\n",
                                     "r.yaml": "rules:\n  - {id: county-a.share, kind: share, name: 挂钩, of: tasks, "
                                               "where: {credit_linked: true}, min: 0.9, source: 甲县通知}\n"})
    write_pack("counties/b", {"pack.yaml": "id: county-b\nname: 乙县\nextends: [national]\n",
                              "r.yaml": "rules:\n  - id: county-b.x\n    kind: sharez\n"})
    folder = good.parent
    db = _db(tmp_path)
    # the plan names county-a: county-b's typo beside it does not matter
    plan = write_plan(TASKS, rule_packs=("county-a",))
    report = dbsj.check_plan(plan, dbsj.Store(db, read_only=True), rule_dirs=[folder])
    assert report.summary["packs"] == ["national", "county-a"] and report.by_rule("county-a.share")
    # naming the pack itself (not the folder) works too, with the broken sibling beside it
    assert [p.id for p in dbsj.load_rules([good]).packs] == ["national", "county-a"]
    # the plan that names the broken pack gets its file and line
    with pytest.raises(RuleError) as info:
        dbsj.check_plan(write_plan(TASKS, "b.yaml", rule_packs=("county-b",)), None, rule_dirs=[folder])
    assert "r.yaml:3" in info.value.render("en") and "sharez" in info.value.render("en")


def test_naming_no_pack_keeps_the_plan_hash(write_plan):
    plain = dbsj.load_plan(write_plan(TASKS))
    assert "rule_packs" not in plain.canonical_json()  # plans from before the field hash as they did
    named = dbsj.load_plan(write_plan(TASKS, "n.yaml", rule_packs=("xinjiang-2023",)))
    assert '"rule_packs":["xinjiang-2023"]' in named.canonical_json() and named.digest() != plain.digest()


def test_the_draw_answers_to_the_plans_packs(tmp_path, write_plan):
    db = _db(tmp_path)
    plan = dbsj.load_plan(write_plan(TASKS, rule_packs=("xinjiang-2023",)))
    with dbsj.Store(db) as store:
        with pytest.raises(dbsj.PlanError, match="credit.linked-share"):
            dbsj.commit_draw(store, plan, ["T0"], seed_kind="dice")
        assert store.count("draws") == 0


GRAIN_ITEMS = [("LS-01", "粮食收储库点储存安全检查", "粮食行政管理", "key"),
               ("LS-02", "粮食经营台账检查", "粮食行政管理", "general"),
               ("JY-01", "校外培训机构检查", "教育", "key")]


def _grain_plan(tmp_path, level: str | None, key_quota: str, general_quota: str = "≤10%", name: str = "g.yaml"):
    lvl = f"  level: {level}\n" if level else ""
    text = ("plan:\n  id: WW-2023\n  year: 2023\n  authority: 某市市场监督管理局\n  title: 2023年度一业一查抽查计划\n"
            f"{lvl}  rule_packs: [grain-key-floors]\n  tasks:\n"
            + task_yaml("G1", sponsor="粮食行政管理", items=("LS-01",), sampling=f'{{quota: "{key_quota}"}}')
            + task_yaml("G2", sponsor="粮食行政管理", items=("LS-02",), sampling=f'{{quota: "{general_quota}"}}')
            + task_yaml("E1", sponsor="教育", items=("JY-01",), sampling='{quota: "不低于5%"}'))
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def grain_store(store):
    fill_items(store, GRAIN_ITEMS)
    return store


@pytest.mark.parametrize("level, quota, flagged", [
    ("县级", "不低于50%", None), ("县级", "不低于20%", "grain.key-floor-county"), ("县级", "不低于30%", "grain.key-floor-county"),
    ("市级", "不低于30%", None), ("市级", "不低于20%", "grain.key-floor-city"), ("市级", "≤10%", "grain.key-floor-city"),
])
def test_a_local_pack_sets_key_grain_floors_by_level(tmp_path, grain_store, level, quota, flagged):
    report = dbsj.check_plan(_grain_plan(tmp_path, level, quota), grain_store)
    errors = {f.rule for f in report.findings if f.severity == "error"}
    assert errors == ({flagged} if flagged else set()), [f.message for f in report.findings]
    if flagged:
        [f] = report.by_rule(flagged)
        assert f.evidence["item_code"] == "LS-01" and "不设上限" in f.source and flagged in f.message_zh


def test_without_a_level_the_level_floors_do_not_apply_and_a_general_item_over_its_cap_is_flagged(tmp_path, grain_store):
    report = dbsj.check_plan(_grain_plan(tmp_path, None, "不低于20%", general_quota="不低于20%"), grain_store)
    assert {f.rule for f in report.findings if f.severity == "error"} == {"ratio.general-cap"}
    [f] = report.by_rule("ratio.general-cap")
    assert f.evidence["task_id"] == "G2" and "一般检查事项抽查比例原则上不高于10%" in f.message_zh


def test_a_level_outside_the_three_is_refused_with_the_accepted_values(tmp_path):
    path = _grain_plan(tmp_path, "乡级", "不低于50%")
    with pytest.raises(dbsj.PlanError) as info:
        dbsj.load_plan(path)
    text = info.value.render("zh")
    assert "g.yaml:6" in text and "省级" in text and "县级" in text
