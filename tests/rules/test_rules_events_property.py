"""Event rules: conditions mapped onto durable_rules match exactly what a plain Python evaluation matches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dbsj import EventEngine

WORDS = ["甲", "乙", "丙"]

conditions = st.one_of(
    st.builds(lambda v: ("a", {"eq": v}), st.integers(0, 3)),
    st.builds(lambda v: ("a", {"ne": v}), st.integers(0, 3)),
    st.builds(lambda v: ("a", {"gt": v}), st.integers(0, 3)),
    st.builds(lambda v: ("a", {"lte": v}), st.integers(0, 3)),
    st.builds(lambda v: ("b", {"in": v}), st.lists(st.sampled_from(WORDS), min_size=1, max_size=2, unique=True)),
    st.builds(lambda v: ("b", v), st.sampled_from(WORDS)),
    st.builds(lambda v: ("c", {"exists": v}), st.booleans()),
)


def _holds(cond, event: dict) -> bool:  # noqa: ANN001
    field, c = cond
    v = event.get(field)
    if not isinstance(c, dict):
        return v == c
    if "exists" in c:
        return (v is not None) == c["exists"]
    op, x = next(iter(c.items()))
    if op == "eq":
        return v == x
    if op == "ne":
        return v != x
    if op == "in":
        return v in x
    if v is None:
        return False
    return v > x if op == "gt" else v <= x


@st.composite
def scenario(draw):  # noqa: ANN001, ANN201
    rules = []
    for i in range(draw(st.integers(1, 3))):
        patterns = []
        for j in range(draw(st.integers(1, 2))):
            conds = draw(st.lists(conditions, min_size=1, max_size=2, unique_by=lambda c: c[0]).filter(
                lambda cs: any(c[1] != {"exists": False} for c in cs)))
            patterns.append((f"p{j}", conds))
        rules.append((f"rule.r{i}", draw(st.sampled_from(["any", "all"])) if len(patterns) > 1 else "all", patterns))
    events = draw(st.lists(st.fixed_dictionaries(
        {"a": st.integers(0, 3), "b": st.sampled_from(WORDS)}, optional={"c": st.just("x")}), min_size=1, max_size=8))
    return rules, events


@settings(max_examples=40)
@given(scenario())
def test_single_event_matches_agree_with_python(scn):
    rules, events = scn
    # 'any' rules and one-pattern 'all' rules fire per event; compare those exactly
    defs = [{"id": rid, "kind": "event", "name": rid,
             "when": {mode: [{"as": alias, "match": dict(conds)} for alias, conds in pats]},
             "emit": {"n": "{" + pats[0][0] + ".a}"}}
            for rid, mode, pats in rules if mode == "any" or len(pats) == 1]
    if not defs:
        return
    with EventEngine(defs) as engine:
        for k, event in enumerate(events):
            got = sorted(e.rule for e in engine.post({**event, "k": k}))
            # a rule fires once for an event matching its pattern ('all' of one) or any of its alternatives
            want = sorted(d["id"] for d in defs
                          if any(all(_holds((f, c), event) for f, c in p["match"].items())
                                 for p in next(iter(d["when"].values()))))
            assert got == want, (event, defs)


def test_a_pattern_of_absences_only_is_rejected():
    import pytest

    from dbsj import RuleError

    with pytest.raises(RuleError, match="exists: false"):
        EventEngine([{"id": "rule.none", "kind": "event", "name": "n",
                      "when": {"all": [{"as": "p", "match": {"c": {"exists": False}}}]}, "emit": {"x": 1}}])
