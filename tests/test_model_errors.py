"""One error family at the edges: pydantic validation failures reach callers as ``ModelError`` (Chinese first, the
field's path and, for a closed vocabulary, the accepted values), never as pydantic's own ``ValidationError``."""

from __future__ import annotations

import datetime as dt
import json

import pydantic
import pytest

import dbsj
from dbsj.cli import main

RESULT = {"task_id": "T1", "uscc": "91650100MA0000001U", "staff_id": "S1", "items": {"A07": "未发现问题"},
          "inspected_on": "2023-05-10"}

PLAN = {"id": "P", "year": 2023, "authority": "某市市场监督管理局", "title": "t",
        "tasks": [{"id": "T1", "name": "n", "sponsor": "市场监管", "items": ["A07"], "sampling": {"quota": 0.03},
                   "start": "2023-03-01", "batches": [{"name": "b", "deadline": "2023-10-01"}]}]}


def public_models() -> list[type[pydantic.BaseModel]]:
    out = []
    for name in dbsj.__all__:
        obj = getattr(dbsj, name)
        if isinstance(obj, type) and issubclass(obj, pydantic.BaseModel):
            out.append(obj)
    return out


def test_a_bad_enum_value_names_the_field_and_the_accepted_values_in_chinese():
    with pytest.raises(dbsj.ModelError) as info:
        dbsj.Result(**{**RESULT, "items": {"A07": "查无问题"}})
    err = info.value
    assert isinstance(err, dbsj.DbsjError) and isinstance(err, dbsj.InputError)
    codes = [c.value for c in dbsj.ResultCode]
    zh = err.render("zh")
    assert zh == str(err)  # Chinese is the default rendering
    assert zh.startswith("Result 无效: 检查事项 items.A07: 应为 未发现问题 / 未按规定公示应当公示的信息 / ")
    assert zh.endswith(f"{' / '.join(codes)} 之一，实际为 '查无问题'")
    assert "Input should be" not in zh
    en = err.render("en")
    assert en.startswith("invalid Result: items.A07: should be one of '未发现问题', ") and en.endswith("got '查无问题'")
    [e] = err.context["errors"]
    assert (e["path"], e["type"], e["accepted"]) == ("items.A07", "enum", codes)
    assert err.to_dict()["errors"][0]["accepted"] == codes  # JSON-ready for agency systems
    json.dumps(err.to_dict(), ensure_ascii=False)


def test_a_literal_deep_in_a_plan_is_translated_once_with_its_path():
    bad = json.loads(json.dumps(PLAN))
    bad["tasks"][0]["frequency"] = "每年两次"
    bad["tasks"][0]["batches"][0]["deadline"] = "2023-02-30"
    with pytest.raises(dbsj.ModelError) as info:
        dbsj.Plan.model_validate(bad)
    zh = info.value.render("zh")
    assert "抽查频次 tasks.0.frequency: 应为 =1 / >=1 之一，实际为 '每年两次'" in zh
    assert "截止日期 tasks.0.batches.0.deadline: 应为日期（如 2023-06-01），实际为 '2023-02-30'" in zh
    assert "Task 无效" not in zh  # the nested task's errors are lines of the plan's error, not an error inside it
    assert [e["path"] for e in info.value.context["errors"]] == ["tasks.0.frequency", "tasks.0.batches.0.deadline"]
    assert info.value.context["errors"][0]["accepted"] == ["=1", ">=1"]


def test_dbsj_own_bilingual_messages_give_each_language_its_half():
    with pytest.raises(dbsj.ModelError) as info:
        dbsj.Target(uscc="91110000600037341M", name="某某有限公司", entity_kind="企业", status="存续", region="65")
    zh, en = info.value.render("zh"), info.value.render("en")
    assert "统一社会信用代码 uscc: 统一社会信用代码校验失败（实际为 '91110000600037341M'）" in zh
    assert "行政区划代码 region: 行政区划代码应为六位数字" in zh and "invalid USCC" not in zh
    assert "uscc: invalid USCC: '91110000600037341M'" in en and "校验失败" not in en


@pytest.mark.parametrize("model", public_models(), ids=lambda m: m.__name__)
def test_no_public_model_lets_a_pydantic_error_escape(model):
    """Every constructor of every public model: an unknown key is a ModelError, never pydantic's error."""
    for build in (lambda: model(__not_a_field__=1), lambda: model.model_validate({"__not_a_field__": 1}),
                  lambda: model.model_validate_json('{"__not_a_field__": 1}'),
                  lambda: model.model_validate_strings({"__not_a_field__": "1"})):
        with pytest.raises(dbsj.ModelError) as info:
            build()
        assert not isinstance(info.value, pydantic.ValidationError)
        assert info.value.context["model"] == model.__name__
        assert "__not_a_field__" in info.value.render("zh")


def test_public_models_cover_results_plans_pools_and_rules():
    names = {m.__name__ for m in public_models()}
    assert {"Result", "Plan", "Task", "Quota", "Item", "Target", "Inspector", "HistoryEntry", "EventRule",
            "DecisionTable", "PackManifest"} <= names


def test_a_model_error_is_a_value_error_so_validators_can_raise_it():
    assert issubclass(dbsj.ModelError, ValueError)
    with pytest.raises(ValueError):
        dbsj.Quota.model_validate("often")


def test_load_plan_with_unsafe_ids_is_a_plan_error_in_chinese_first(tmp_path):
    p = tmp_path / "plan.yaml"
    p.write_text('id: "P\\u202e1"\nyear: 2023\nauthority: 某市\ntitle: t\ntasks:\n'
                 '  - {id: "T\\x001", name: n, sponsor: 市场监管, items: [A07], sampling: {quota: 0.03},\n'
                 '     frequency: "=2", start: 2023-03-01, batches: [{name: b, deadline: 2023-10-01}]}\n', encoding="utf-8")
    with pytest.raises(dbsj.PlanError) as info:
        dbsj.load_plan(p)
    assert not isinstance(info.value, pydantic.ValidationError)
    zh = info.value.render("zh")
    assert f"{p}:1: 编号 id: 含有控制或不可见字符" in zh and f"{p}:6: 编号 tasks.0.id: 含有控制或不可见字符" in zh
    assert f"{p}:7: 抽查频次 tasks.0.frequency: 应为 =1 / >=1 之一，实际为 '=2'" in zh
    en = info.value.render("en")
    assert "tasks.0.id: contains control or invisible characters (U+0000)" in en
    assert "tasks.0.frequency: should be one of '=1', '>=1'; got '=2'" in en


def test_record_result_and_record_results_take_a_mapping_and_refuse_a_bad_one_as_model_error(tmp_path):
    with dbsj.Store(tmp_path / "s.duckdb") as store:
        with pytest.raises(dbsj.ModelError) as info:
            dbsj.record_result(store, {**RESULT, "method": "电话"})
        assert "检查方式 method: 应为 实地 / 书面 / " in info.value.render("zh")
        with pytest.raises(dbsj.ModelError) as info:
            dbsj.record_results(store, [dbsj.Result.model_validate(RESULT), {**RESULT, "inspected_on": "昨天"}])
        assert info.value.where == "results[1]" and "检查日期 inspected_on: 应为日期" in info.value.render("zh")
        with pytest.raises(dbsj.ModelError):
            dbsj.record_result(store, ["not", "a", "result"])
        assert store.count("results") == 0 and store.count("ledger") == 0
        # a valid mapping goes on to the store's checks (here: no such task)
        with pytest.raises(dbsj.ResultError, match="T1"):
            dbsj.record_result(store, RESULT)


def test_an_event_rule_given_as_data_is_a_rule_error_in_chinese_first():
    rule = {"id": "local.x", "kind": "event", "name": "x", "when": {"all": [{"as": "r", "match": {"type": "result"}}]},
            "emit": {"type": "notify", "task_id": "{r.task_id}"}, "severity": "fatal"}
    with pytest.raises(dbsj.RuleError) as info:
        dbsj.EventEngine([rule])
    zh = info.value.render("zh")
    assert info.value.where == "event rule #1" and "事件规则无效" in zh and "Input should be" not in zh
    with pytest.raises(dbsj.ModelError):
        dbsj.EventRule.model_validate(rule)


def test_cli_schema_and_models_still_describe_the_same_fields(capsys):
    # The translation wraps constructors only: JSON Schema and valid construction are pydantic's own.
    assert main(["schema", "result"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert set(schema["properties"]) == set(dbsj.Result.model_fields)
    r = dbsj.Result(**RESULT)
    assert r.inspected_on == dt.date(2023, 5, 10) and r.items == {"A07": dbsj.ResultCode.NO_PROBLEM}
    assert dbsj.Result.model_validate_json(r.model_dump_json()) == r
