"""The durable_rules adapter: synchronous, isolated per engine, deterministic, no leaked exceptions."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

import dbsj
from dbsj import EventEngine, RuleError


def _result_rule(rule_id: str = "followup.problem", **emit: object) -> dict:
    return {
        "id": rule_id, "kind": "event", "name": "发现问题转处置",
        "when": {"all": [{"as": "r", "match": {"type": "result", "problem": True}}]},
        "emit": emit or {"type": "disposition", "task": "{r.task}", "to": "{r.department}",
                         "text": "任务 {r.task} 发现问题，转 {r.department}"},
    }


JOIN_RULE = {
    "id": "followup.d-class", "kind": "event", "name": "D 类有问题",
    "when": {"all": [
        {"as": "t", "match": {"type": "target", "credit_class": "D"}},
        {"as": "r", "match": {"type": "result", "problem": True, "uscc": {"eq": {"ref": "t.uscc"}}}},
    ]},
    "emit": {"type": "flag", "uscc": "{r.uscc}", "task": "{r.task}"},
}


def test_matching_event_emits_rendered_fields_in_order():
    with EventEngine([_result_rule()]) as eng:
        out = eng.post({"type": "result", "problem": True, "task": "T1", "department": "市场监管"})
        assert [e.event for e in out] == [{"type": "disposition", "task": "T1", "to": "市场监管",
                                          "text": "任务 T1 发现问题，转 市场监管"}]
        assert out[0].rule == "followup.problem"
        assert out[0].matched == {"r": {"type": "result", "problem": True, "task": "T1", "department": "市场监管"}}


def test_unmatched_event_returns_nothing_and_raises_nothing():
    with EventEngine([_result_rule()]) as eng:
        assert eng.post({"type": "result", "problem": False, "task": "T1"}) == []
        assert eng.post({"unrelated": 1}) == []
        assert eng.emissions == ()


def test_engine_with_no_enabled_rules_accepts_events():
    rule = {**_result_rule(), "enabled": False}
    with EventEngine([rule]) as eng:
        assert eng.rules == ()
        assert eng.post({"type": "result", "problem": True}) == []


def test_two_engines_with_the_same_rule_ids_do_not_interfere():
    a = EventEngine([_result_rule(kind_of="a", task="{r.task}")])
    b = EventEngine([_result_rule(kind_of="b", task="{r.task}")])
    try:
        assert [e.event for e in a.post({"type": "result", "problem": True, "task": "A1"})] == [
            {"kind_of": "a", "task": "A1"}]
        assert b.emissions == ()
        # a join half-built in one engine is invisible to the other
        j1, j2 = EventEngine([JOIN_RULE]), EventEngine([JOIN_RULE])
        j1.assert_fact({"type": "target", "credit_class": "D", "uscc": "X"})
        assert j2.post({"type": "result", "problem": True, "uscc": "X", "task": "T"}) == []
        assert [e.event["uscc"] for e in j1.post({"type": "result", "problem": True, "uscc": "X", "task": "T"})] == ["X"]
        j1.close()
        j2.close()
    finally:
        a.close()
        b.close()


def test_join_on_a_fact_fires_for_each_matching_event_and_only_those():
    with EventEngine([JOIN_RULE]) as eng:
        assert eng.assert_fact({"type": "target", "credit_class": "D", "uscc": "U1"}) == []
        assert eng.post({"type": "result", "problem": True, "uscc": "U2", "task": "T1"}) == []
        got = eng.post({"type": "result", "problem": True, "uscc": "U1", "task": "T1"})
        got += eng.post({"type": "result", "problem": True, "uscc": "U1", "task": "T2"})
        assert [e.event for e in got] == [{"type": "flag", "uscc": "U1", "task": "T1"},
                                          {"type": "flag", "uscc": "U1", "task": "T2"}]
        eng.retract_fact({"type": "target", "credit_class": "D", "uscc": "U1"})
        assert eng.post({"type": "result", "problem": True, "uscc": "U1", "task": "T3"}) == []


def test_every_rule_sees_every_event():
    """durable_rules consumes an event per ruleset; two rules matching the same event must both fire."""
    with EventEngine([_result_rule("followup.a", who="a"), _result_rule("followup.b", who="b"), JOIN_RULE]) as eng:
        eng.assert_fact({"type": "target", "credit_class": "D", "uscc": "U1"})
        out = eng.post({"type": "result", "problem": True, "uscc": "U1", "task": "T1"})
        assert [e.rule for e in out] == ["followup.a", "followup.b", "followup.d-class"]


def test_join_events_in_either_order():
    rule = {**JOIN_RULE, "id": "followup.seq"}
    with EventEngine([rule]) as eng:
        assert eng.post({"type": "result", "problem": True, "uscc": "U9", "task": "T"}) == []
        assert [e.event["uscc"] for e in eng.post({"type": "target", "credit_class": "D", "uscc": "U9"})] == ["U9"]


def test_operators_map_to_conditions():
    rule = {"id": "alert.overdue", "kind": "event", "name": "逾期",
            "when": {"any": [
                {"as": "late", "match": {"type": "publication", "days_late": {"gt": 0, "lte": 30}}},
                {"as": "gone", "match": {"type": "publication", "code": ["注销", "被吊销"]}},
                {"as": "odd", "match": {"type": "note", "reviewer": {"exists": False}}},
            ]},
            "emit": {"alert": True}}
    with EventEngine([rule]) as eng:
        assert len(eng.post({"type": "publication", "days_late": 3})) == 1
        assert eng.post({"type": "publication", "days_late": 0}) == []
        assert eng.post({"type": "publication", "days_late": 31}) == []
        assert len(eng.post({"type": "publication", "code": "被吊销"})) == 1
        assert eng.post({"type": "publication", "code": "未发现问题"}) == []
        assert len(eng.post({"type": "note"})) == 1
        assert eng.post({"type": "note", "reviewer": "x"}) == []


def test_template_that_is_one_reference_keeps_the_value_type_and_dates_become_iso():
    rule = _result_rule(n="{r.n}", when="{r.on}")
    with EventEngine([rule]) as eng:
        (e,) = eng.post({"type": "result", "problem": True, "n": 7, "on": dt.date(2023, 7, 1)})
        assert e.event == {"n": 7, "when": "2023-07-01"}


def test_many_events_all_processed_before_return():
    with EventEngine([_result_rule(task="{r.task}")]) as eng:
        events = [{"type": "result", "problem": i % 3 == 0, "task": f"T{i:04d}", "sid": f"s{i % 7}"}
                  for i in range(600)]
        out = eng.post_many(events)
        assert [e.event["task"] for e in out] == [f"T{i:04d}" for i in range(600) if i % 3 == 0]


def test_same_inputs_same_outputs_across_engines():
    events = [{"type": "target", "credit_class": "D", "uscc": f"U{i % 5}"} if i % 4 == 0 else
              {"type": "result", "problem": True, "uscc": f"U{i % 5}", "task": f"T{i}"} for i in range(80)]

    def run() -> list[dict]:
        with EventEngine([JOIN_RULE, _result_rule(task="{r.task}")]) as eng:
            return [e.to_dict() for e in eng.post_many(events)]

    first = run()
    assert first and first == run()


def test_event_values_that_are_not_json_are_rejected_before_matching():
    with EventEngine([_result_rule()]) as eng:
        with pytest.raises(RuleError, match="JSON"):
            eng.post({"type": "result", "problem": True, "task": object()})
        assert eng.emissions == ()


def test_error_in_action_names_the_rule(monkeypatch: pytest.MonkeyPatch):
    from dbsj.rules import events

    def broken(template, matched):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(events, "_render", broken)
    with EventEngine([_result_rule()]) as eng:
        with pytest.raises(RuleError, match="followup.problem"):
            eng.post({"type": "result", "problem": True, "task": "T1"})
        # the engine stays usable afterwards
        monkeypatch.undo()
        assert len(eng.post({"type": "result", "problem": True, "task": "T2"})) == 1


def test_no_threads_are_started_and_closed_engine_refuses_work():
    before = threading.active_count()
    engines = [EventEngine([_result_rule(), JOIN_RULE]) for _ in range(20)]
    for eng in engines:
        eng.post({"type": "result", "problem": True, "task": "T"})
    assert threading.active_count() == before
    for eng in engines:
        eng.close()
        eng.close()  # idempotent
    with pytest.raises(RuleError):
        engines[0].post({"type": "result"})


def test_invalid_rules_are_rejected_with_the_place():
    bad_ref = {**JOIN_RULE, "when": {"all": [{"as": "r", "match": {"uscc": {"eq": {"ref": "t.uscc"}}}}]}}
    with pytest.raises(RuleError, match="event rule #1"):
        EventEngine([bad_ref])
    with pytest.raises(RuleError, match="when"):
        EventEngine([{**_result_rule(), "when": {"all": [], "any": []}}])
    with pytest.raises(RuleError, match="duplicate"):
        dbsj.set_language("en")
        EventEngine([_result_rule(), _result_rule()])


def test_unknown_key_in_rule_is_an_error():
    with pytest.raises(RuleError):
        EventEngine([{**_result_rule(), "then": {"x": 1}}])
