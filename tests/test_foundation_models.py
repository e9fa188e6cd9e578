"""Domain models: validation at the boundary, the plan format as real annexes write it, JSON Schema for other systems."""

from __future__ import annotations

import json
import textwrap

import pytest
from stdnum.cn import uscc as stdnum_uscc

import dbsj
from dbsj.cli import main


def _plan_yaml(tmp_path, body: str):
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


GOOD_PLAN = """\
plan:
  id: XJ-2023
  year: 2023
  authority: 新疆维吾尔自治区市场监督管理局
  title: 2023年度部门联合双随机抽查计划
  tasks:
    - id: XJ-2023-001
      name: 餐饮服务单位联合检查
      industry: 餐饮
      sponsor: 市场监管
      partners: [卫生健康]
      items: [SC-A07, WS-01]
      scope: {regions: ["6501"], entity_kinds: [企业]}
      sampling:
        strata: [credit_class, region]
        by_class: {A: "≤5%", B: "5%-20%", C: "21%-60%", D: "61%-100%"}
      frequency: "≥1"
      start: 2023-04-01
      batches:
        - {name: 第一批, deadline: 2023-07-20}
        - {name: 第二批, deadline: 2023-10-15}
    - id: XJ-2023-002
      name: 企业公示信息抽查
      sponsor: 市场监管
      items: [SC-A07]
      sampling: {quota: "不低于3%"}
      start: 2023-03-01
      batches: [{name: 全年, deadline: 2023-11-30}]
"""


def test_plan_reads_annex_style_ratios(tmp_path):
    plan = dbsj.load_plan(_plan_yaml(tmp_path, GOOD_PLAN))
    joint, single = plan.tasks
    assert joint.joint and not single.joint
    assert joint.departments == ("市场监管", "卫生健康")
    assert joint.sampling.by_class[dbsj.CreditClass.A] == dbsj.Quota(max=0.05)
    assert joint.sampling.by_class[dbsj.CreditClass.C] == dbsj.Quota(min=0.21, max=0.6)
    assert joint.frequency == ">=1" and joint.end.isoformat() == "2023-10-15"
    assert joint.sampling.credit_linked and not single.sampling.credit_linked
    assert joint.scope.directed and not single.scope.directed
    assert single.sampling.quota == dbsj.Quota(min=0.03)


def test_plan_digest_is_stable_and_content_sensitive(tmp_path):
    a = dbsj.load_plan(_plan_yaml(tmp_path, GOOD_PLAN))
    b = dbsj.load_plan(_plan_yaml(tmp_path, GOOD_PLAN.replace("不低于3%", "不低于4%")))
    assert a.digest() == a.model_copy().digest()
    assert a.digest() != b.digest()
    assert len(a.digest()) == 64


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("      frequency: \"≥1\"\n", "      frequency: \"≥1\"\n      colour: red\n"),
         (":18: plan.tasks.0.colour: 未知的键", ":18: plan.tasks.0.colour: unknown key")),
        (("by_class: {A: \"≤5%\"", "by_class: {A: \"often\""),
         (":16: 分类比例 plan.tasks.0.sampling.by_class.A: ", ":16: plan.tasks.0.sampling.by_class.A: ")),
        (("deadline: 2023-10-15", "deadline: 2023-02-30"),
         (":21: 截止日期 plan.tasks.0.batches.1.deadline: 应为日期（如 2023-06-01），实际为 '2023-02-30'",
          ":21: plan.tasks.0.batches.1.deadline: should be a date (e.g. 2023-06-01); got '2023-02-30'")),
    ],
)
def test_plan_errors_carry_file_and_line(tmp_path, edit, expected):
    with pytest.raises(dbsj.PlanError) as err:
        dbsj.load_plan(_plan_yaml(tmp_path, GOOD_PLAN.replace(*edit)))
    zh, en = expected
    assert zh in str(err.value) and zh in err.value.render("zh")  # Chinese first: the default rendering
    assert en in err.value.render("en")


def test_plan_rejects_duplicate_task_ids_and_sponsor_as_partner(tmp_path):
    with pytest.raises(dbsj.PlanError, match="appears twice"):
        dbsj.load_plan(_plan_yaml(tmp_path, GOOD_PLAN.replace("XJ-2023-002", "XJ-2023-001")))
    with pytest.raises(dbsj.PlanError, match="also listed as a partner"):
        dbsj.load_plan(_plan_yaml(tmp_path, GOOD_PLAN.replace("partners: [卫生健康]", "partners: [市场监管]")))


def test_plan_yaml_syntax_error_has_line(tmp_path):
    with pytest.raises(dbsj.PlanError) as err:
        dbsj.load_plan(_plan_yaml(tmp_path, "plan:\n  id: [unclosed\n"))
    assert "plan.yaml:" in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("不低于30%", {"min": 0.3}), ("原则上不高于10%", {"max": 0.1}), ("5%-20%", {"min": 0.05, "max": 0.2}),
     ("61％～100％", {"min": 0.61, "max": 1.0}), ("1户", {"count": 1}), (">=3%", {"min": 0.03}), ("30%", {"min": 0.3})],
)
def test_parse_quota(text, expected):
    assert dbsj.parse_quota(text) == expected


def test_quota_rejects_nonsense():
    for bad in ("often", {"min": 0.5, "max": 0.2}, {"min": 1.5}, {}):
        with pytest.raises(dbsj.ModelError):
            dbsj.Quota.model_validate(bad)


def test_target_checks_uscc_with_stdnum():
    good = "91110000600037341L"
    assert stdnum_uscc.is_valid(good)
    t = dbsj.Target(uscc=good, name="某某有限公司", entity_kind="企业", status="存续", region="650102")
    assert t.credit_class == dbsj.CreditClass.U
    with pytest.raises(dbsj.ModelError, match="统一社会信用代码校验失败") as err:
        dbsj.Target(uscc=good[:-1] + "M", name="x", entity_kind="企业", status="存续", region="650102")
    assert "invalid USCC" in err.value.render("en")
    with pytest.raises(dbsj.ModelError):
        dbsj.Target(uscc=good, name="x", entity_kind="公司", status="存续", region="650102")


def test_schema_command_prints_json_schema(capsys):
    assert main(["schema", "target"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Target" and "uscc" in schema["properties"]
    assert schema["additionalProperties"] is False


def test_schema_command_unknown_model_is_usage_error(capsys):
    assert main(["schema", "nope"]) == 2
    assert "Target" in capsys.readouterr().err


def test_errors_render_in_both_languages():
    err = dbsj.PlanError("计划有误", "plan is wrong", where="plan.yaml:3", hint_zh="请修正", hint_en="fix it")
    assert str(err) == "plan.yaml:3: 计划有误（请修正）"
    dbsj.set_language("en")
    assert str(err) == "plan.yaml:3: plan is wrong (fix it)"
    assert err.to_dict()["message_zh"].startswith("plan.yaml:3: 计划有误")


@pytest.mark.parametrize("argv", [["schema"], ["no-such-command"], ["plugins", "--bogus"]])
def test_usage_errors_exit_2_with_a_message(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip()


@pytest.mark.parametrize(("region", "prefecture"), [
    ("650102", "650100"),  # 乌鲁木齐市天山区 → 乌鲁木齐市
    ("654003", "654000"),  # 伊犁州奎屯市 → 伊犁州
    ("659001", "659001"),  # 石河子市, under the region directly: stands alone
    ("429004", "429004"),  # 湖北仙桃市, under the province directly
    ("", ""),
])
def test_prefecture_rule_is_one_in_python_and_sql(region, prefecture):
    import duckdb

    assert dbsj.prefecture_of(region) == prefecture
    if region:
        con = duckdb.connect()
        assert con.execute(f"SELECT {dbsj.prefecture_sql('r')} FROM (SELECT ? AS r)", [region]).fetchone()[0] == prefecture
