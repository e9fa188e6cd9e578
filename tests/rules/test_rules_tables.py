"""Decision tables: hit policies, the trace, and the SQL CASE agreeing with the Python evaluation."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dbsj
from dbsj import DecisionTable
from dbsj.rules.sql import table_case_sql


def _table(policy: str, rows: list[dict], inputs=("credit_class", "item_category"), **kw) -> DecisionTable:
    return DecisionTable.model_validate({"id": "ratio.t", "kind": "table", "name": "t", "hit_policy": policy,
                                         "inputs": list(inputs), "rows": rows, **kw})


def test_first_and_priority_policies_pick_different_rows():
    rows = [{"when": {"item_category": "key"}, "ratio": 0.2, "priority": 1},
            {"when": {"credit_class": "D"}, "ratio": 0.6, "priority": 5},
            {"ratio": 0.03, "priority": 0}]
    first = _table("first", rows)
    prio = _table("priority", rows)
    rules = dbsj.load_rules()
    from dbsj.rules.tables import evaluate

    assert evaluate(first, {"credit_class": "D", "item_category": "key"}).row == 1
    d = evaluate(prio, {"credit_class": "D", "item_category": "key"})
    assert d.row == 2 and d.ratio.min == 0.6
    assert d.trace[0] == (2, True)  # priority order: highest first
    assert evaluate(first, {"credit_class": "A", "item_category": "general"}).row == 3
    assert rules.decide("ratio.daqing", credit_class="U").row is None  # unclassified: no row fires


def test_priority_needs_distinct_priorities_and_rows_need_outputs():
    with pytest.raises(ValueError, match="distinct"):
        _table("priority", [{"ratio": 0.1, "priority": 1}, {"ratio": 0.2, "priority": 1}])
    with pytest.raises(ValueError, match="needs an output"):
        _table("first", [{"when": {"credit_class": "A"}}])
    with pytest.raises(ValueError, match="not among the inputs"):
        _table("first", [{"when": {"region": "6501"}, "ratio": 0.1}])


def test_decision_to_dict_is_json_ready():
    d = dbsj.load_rules().decide("ratio.daqing", credit_class="B")
    assert d.to_dict() == {"table": "ratio.daqing", "inputs": {"credit_class": "B"}, "row": 2,
                           "ratio": {"min": 0.05, "max": 0.2}, "frequency": None,
                           "trace": [{"row": 1, "matched": False}, {"row": 2, "matched": True},
                                     {"row": 3, "matched": False}, {"row": 4, "matched": False}]}


_CON = duckdb.connect()
CLASSES = ["A", "B", "C", "D", "U"]
CATS = ["key", "general"]


@st.composite
def tables(draw):  # noqa: ANN001, ANN201
    rows = []
    n = draw(st.integers(1, 5))
    prios = draw(st.permutations(list(range(n))))
    for i in range(n):
        when = {}
        if draw(st.booleans()):
            classes = draw(st.lists(st.sampled_from(CLASSES), min_size=1, max_size=3, unique=True))
            when["credit_class"] = classes[0] if len(classes) == 1 else {"in": classes}
        if draw(st.booleans()):
            when["item_category"] = draw(st.sampled_from(CATS))
        rows.append({"when": when, "ratio": round(0.05 * (i + 1), 2), "priority": prios[i]})
    return _table(draw(st.sampled_from(["first", "priority"])), rows)


@settings(max_examples=60)
@given(tables())
def test_sql_case_agrees_with_python_evaluation(table):
    from dbsj.rules.tables import evaluate

    con = _CON
    con.execute("CREATE OR REPLACE TABLE x AS SELECT * FROM (VALUES " +
                ", ".join(f"('{c}', '{k}')" for c in CLASSES for k in CATS) + ") v(credit_class, item_category)")
    case, params = table_case_sql(table, {"credit_class": "credit_class", "item_category": "item_category"})
    got = {(c, k): r for c, k, r in con.execute(f"SELECT credit_class, item_category, {case} FROM x", params).fetchall()}
    want = {(c, k): evaluate(table, {"credit_class": c, "item_category": k}).row for c in CLASSES for k in CATS}
    assert got == want
