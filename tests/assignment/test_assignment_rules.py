"""Inspector assignment: each rule, each exclusion reason, plug-in recusal, shortfall report, bad input."""

from __future__ import annotations

import datetime as dt
import hashlib

import pyarrow as pa
import pytest
from asg_helpers import (
    DUE,
    DUE2,
    check_outcome,
    history,
    insert,
    inspector,
    item,
    plan,
    selections,
    target,
    uscc,
)

import dbsj

SC, WS = "市场监管", "卫生健康"


@pytest.fixture(autouse=True)
def _no_installed_plugins():
    """Only the plug-ins a test registers itself take part."""
    dbsj.reset_plugin_manager(dbsj.PluginManager(load_entry_points=False))


@pytest.fixture
def pools(store):
    insert(store, "items", [item("SC1", SC), item("WS1", WS)])
    insert(store, "targets", [target(n) for n in range(1, 6)])
    return store


JOINT = plan({"id": "T1", "sponsor": SC, "items": ["SC1"]},
             {"id": "T2", "sponsor": WS, "partners": [SC], "items": ["WS1"]})


def run(store, sel, options=None, pl=JOINT, seed="种子-1"):
    options = options or dbsj.AssignmentOptions()
    out = dbsj.assign_visits(store, plan=pl, draw_id="D1", selections=sel, seed=seed, options=options)
    check_outcome(store, pl, sel, out, options)
    return out


def teams(outcome):
    return {v["visit_id"]: [(m["department"], m["staff_id"]) for m in v["team"]] for v in outcome.section["visits"]}


def test_joint_visit_merges_tasks_and_takes_one_inspector_per_department(pools):
    insert(pools, "inspectors", [inspector(f"M{i}") for i in range(3)]
           + [inspector(f"W{i}", WS, scope=("WS1",)) for i in range(3)])
    sel = selections([("T1", uscc(1), DUE), ("T2", uscc(1), DUE), ("T1", uscc(2), DUE)])
    out = run(pools, sel)
    assert out.complete and out.shortfalls == []
    t = teams(out)
    joint = t[f"{uscc(1)}@{DUE.isoformat()}"]
    assert [d for d, _ in joint] == sorted([SC, WS])  # one per department, sorted by department
    single = t[f"{uscc(2)}@{DUE.isoformat()}"]
    assert [d for d, _ in single] == [SC, SC]  # team of two from the only department
    # one row per (task, inspector): the market inspector serves both tasks of the joint visit
    rows = [r for r in out.assignments.to_pylist() if r["uscc"] == uscc(1)]
    assert sorted((r["task_id"], r["department"]) for r in rows) == sorted([("T1", SC), ("T2", SC), ("T2", WS)])
    assert out.section["algorithm"] == "dbsj-assign/2"
    assert out.section["visits"][0]["tasks"] == ["T1", "T2"]


def test_team_larger_than_departments_is_filled_from_the_lead_sponsor(pools):
    insert(pools, "inspectors", [inspector(f"M{i}") for i in range(4)]
           + [inspector(f"W{i}", WS, scope=("WS1",)) for i in range(4)])
    sel = selections([("T2", uscc(1), DUE)])
    out = run(pools, sel, dbsj.AssignmentOptions(team_min=3))
    (team,) = teams(out).values()
    assert sorted(d for d, _ in team) == sorted([SC, WS, WS])  # T2's sponsor is 卫生健康


def test_each_exclusion_reason_is_counted_for_its_inspector(pools):
    u1 = uscc(1)
    insert(pools, "inspectors", [
        inspector("OK1"), inspector("OK2"),
        inspector("LEAVE", status="休假"),
        inspector("EXPIRED", expiry=DUE - dt.timedelta(days=1)),
        inspector("LASTDAY", expiry=DUE),  # valid through the window's last day
        inspector("NOSCOPE", scope=()),
        inspector("OTHERSCOPE", scope=("WS1",)),
        inspector("CONFLICT", conflicts=(u1,)),
        inspector("BEAT", beat="所1"),  # the targets' office
        inspector("LAST"),
        inspector("FAR", region="650202"),  # another prefecture: not local, not a candidate at all
        inspector("OTHERDEPT", WS, scope=("WS1", "SC1")),  # wrong department for a single-department task
    ])
    insert(pools, "history", [history(u1, dt.date(2022, 5, 1), ("LAST",)),
                              history(u1, dt.date(2021, 5, 1), ("OK1",))])  # older inspection: not recused
    out = run(pools, selections([("T1", u1, DUE)]))
    rows = {(r["staff_id"], r["uscc"]): r["reason"] for r in out.exclusion_rows.to_pylist()}
    assert rows == {
        ("LEAVE", None): "not_on_duty",
        ("EXPIRED", u1): "certificate_expired",
        ("NOSCOPE", u1): "out_of_scope",
        ("OTHERSCOPE", u1): "out_of_scope",
        ("CONFLICT", u1): "declared_conflict",
        ("BEAT", u1): "own_beat",
        ("LAST", u1): "last_inspector",
    }
    assert out.exclusions == {"certificate_expired": 1, "declared_conflict": 1, "last_inspector": 1,
                              "not_on_duty": 1, "out_of_scope": 2, "own_beat": 1}
    assert set(out.section["exclusions"]) == set(dbsj.RECUSAL_REASONS)
    (team,) = teams(out).values()
    assert {s for _, s in team} <= {"OK1", "OK2", "LASTDAY"}


def test_recusal_switches_turn_rules_off(pools):
    u1 = uscc(1)
    insert(pools, "inspectors", [inspector("BEAT", beat="所1"), inspector("LAST")])
    insert(pools, "history", [history(u1, dt.date(2022, 5, 1), ("LAST",))])
    sel = selections([("T1", u1, DUE)])
    strict = run(pools, sel)
    assert not strict.complete
    relaxed = run(pools, sel, dbsj.AssignmentOptions(cross_beat=False, last_inspector_recusal=False))
    assert relaxed.complete and relaxed.exclusions == {}
    assert sorted(s for _, s in teams(relaxed)[f"{u1}@{DUE.isoformat()}"]) == ["BEAT", "LAST"]


def test_prefecture_locality_and_county_level_cities_standing_alone(store):
    insert(store, "items", [item("SC1", SC)])
    insert(store, "targets", [target(1, region="659001"), target(2, region="654002")])
    insert(store, "inspectors", [
        inspector("SHZ1", region="659001"), inspector("SHZ2", region="659001"),  # 石河子市, stands alone
        inspector("YL1", region="654021"), inspector("YL2", region="654003"),  # 伊犁州: 654000
        inspector("OTHER6590", region="659002"),  # another 6590xx city: not local to 659001
    ])
    pl = plan({"id": "T1", "sponsor": SC, "items": ["SC1"]})
    sel = selections([("T1", uscc(1, "659000"), DUE), ("T1", uscc(2, "654000"), DUE)])
    out = run(store, sel, pl=pl)
    t = teams(out)
    assert sorted(s for _, s in t[f"{uscc(1, '659000')}@{DUE.isoformat()}"]) == ["SHZ1", "SHZ2"]
    assert sorted(s for _, s in t[f"{uscc(2, '654000')}@{DUE.isoformat()}"]) == ["YL1", "YL2"]


def test_certificate_must_hold_through_each_window(pools):
    insert(pools, "inspectors", [inspector("A"), inspector("B"), inspector("SHORT", expiry=dt.date(2023, 8, 31))])
    sel = selections([("T1", uscc(1), DUE), ("T1", uscc(2), DUE2)])
    out = run(pools, sel)
    assert out.exclusions == {"certificate_expired": 1}
    assert out.exclusion_rows.to_pylist() == [{"staff_id": "SHORT", "uscc": uscc(2), "reason": "certificate_expired"}]


def test_even_workload_and_fixed_cap(pools):
    insert(pools, "inspectors", [inspector(f"M{i}") for i in range(4)])
    sel = selections([("T1", uscc(n), DUE) for n in range(1, 5)])
    out = run(pools, sel)  # 8 places, 4 inspectors: each takes exactly 2
    loads = {}
    for r in out.assignments.to_pylist():
        loads[r["staff_id"]] = loads.get(r["staff_id"], 0) + 1
    assert sorted(loads.values()) == [2, 2, 2, 2]
    assert out.section["parameters"]["caps"] == {f"650100|{SC}": 2}
    capped = run(pools, sel, dbsj.AssignmentOptions(workload_cap=1))
    assert not capped.complete
    (short,) = capped.shortfalls
    assert short["why"] == {"workload_cap": 4} and short["short"] == 4 and len(short["visits"]) == 2


def test_automatic_cap_rises_only_as_far_as_needed(pools):
    # ANY is the only possible second member of three visits: the even cap (6 places / 4 people = 2) must rise to 3
    u = [uscc(n) for n in (1, 2, 3)]
    insert(pools, "inspectors", [inspector("ANY")] + [
        inspector(f"P{k}", conflicts=tuple(x for x in u if x != u[k])) for k in range(3)])
    sel = selections([("T1", x, DUE) for x in u])
    out = run(pools, sel)
    assert out.complete
    assert out.section["parameters"]["caps"] == {f"650100|{SC}": 3}


def test_shortfall_report_names_prefecture_department_count_and_why(pools):
    insert(pools, "inspectors", [inspector(f"M{i}") for i in range(2)]
           + [inspector(f"W{i}", WS, scope=("WS1",), expiry=dt.date(2023, 1, 1)) for i in range(3)]
           + [inspector("W9", WS, scope=("WS1",), status="借调")])
    sel = selections([("T2", uscc(1), DUE), ("T2", uscc(2), DUE), ("T1", uscc(3), DUE)])
    out = run(pools, sel)
    assert not out.complete
    (short,) = out.shortfalls
    assert short["prefecture"] == "650100" and short["department"] == WS
    assert short["short"] == 2
    assert short["visits"] == sorted(f"{uscc(n)}@{DUE.isoformat()}" for n in (1, 2))
    assert short["why"] == {"no_eligible_inspector": 2}
    assert short["excluded"] == {"certificate_expired": 6}
    assert short["inspectors_on_duty"] == 3 and short["inspectors_off_duty"] == 1
    assert "650100" in short["message_zh"] and "卫生健康" in short["message_zh"] and "执法证" in short["message_zh"]
    assert "certificate" in short["message_en"]
    # short visits get no rows; the complete one keeps its team
    assert set(out.assignments.column("uscc").to_pylist()) == {uscc(3)}
    assert out.section["shortfalls"] == out.shortfalls


def test_too_few_eligible_is_told_apart(pools):
    insert(pools, "inspectors", [inspector("ONLY")])
    out = run(pools, selections([("T1", uscc(1), DUE)]))
    assert out.shortfalls[0]["why"] == {"too_few_eligible": 1}


def test_no_local_inspectors_at_all(pools):
    insert(pools, "inspectors", [inspector("FAR1", region="653101"), inspector("FAR2", region="653101")])
    out = run(pools, selections([("T1", uscc(1), DUE)]))
    (short,) = out.shortfalls
    assert short["why"] == {"no_eligible_inspector": 2} and short["inspectors_on_duty"] == 0


class FamilyTies:
    """A department plug-in that knows of family ties the declared conflicts miss."""

    def __init__(self, pairs, stray=False):
        self.pairs = pairs
        self.stray = stray
        self.calls = []

    @dbsj.hookimpl
    def dbsj_recusal(self, candidates, context):
        self.calls.append((candidates.num_rows, dict(context)))
        offered = set(zip(candidates.column("uscc").to_pylist(), candidates.column("staff_id").to_pylist()))
        keep = [(u, s) for u, s in self.pairs if (u, s) in offered]
        if self.stray:
            keep.append(("91650100MA9999999X", "NOBODY"))
        return pa.table({"uscc": [u for u, _ in keep], "staff_id": [s for _, s in keep],
                         "reason": ["亲属关系"] * len(keep)})


def test_plugin_recusal_through_a_registered_plugin(pools):
    insert(pools, "inspectors", [inspector("A"), inspector("B"), inspector("C"), inspector("EXP", expiry=dt.date(2023, 1, 1))])
    plugin = FamilyTies([(uscc(1), "A"), (uscc(1), "EXP")])
    pm = dbsj.PluginManager(load_entry_points=False)
    pm.register(plugin, "family")
    dbsj.reset_plugin_manager(pm)
    sel = selections([("T1", uscc(1), DUE), ("T1", uscc(2), DUE2)])
    out = dbsj.assign_visits(pools, plan=JOINT, draw_id="D1", selections=sel, seed="s")
    check_outcome(pools, JOINT, sel, out, dbsj.AssignmentOptions(), plugin_excluded={(uscc(1), "A")})
    # the plug-in saw every candidate pair (before built-in checks), once per window, with its context
    assert [c[0] for c in plugin.calls] == [4, 4]
    assert plugin.calls[0][1]["inspection_date"] == DUE and plugin.calls[0][1]["task_ids"] == ["T1"]
    assert plugin.calls[0][1]["plan_id"] == "P2023"
    # a built-in reason comes first; the plug-in's reason is counted under its name
    assert out.exclusions == {"certificate_expired": 2, "family:亲属关系": 1}
    assert {"staff_id": "A", "uscc": uscc(1), "reason": "family:亲属关系"} in out.exclusion_rows.to_pylist()
    assert sorted(s for _, s in teams(out)[f"{uscc(1)}@{DUE.isoformat()}"]) == ["B", "C"]


def test_plugin_returning_a_pair_it_was_not_offered_is_named(pools):
    insert(pools, "inspectors", [inspector("A"), inspector("B")])
    pm = dbsj.PluginManager(load_entry_points=False)
    pm.register(FamilyTies([], stray=True), "sloppy")
    dbsj.reset_plugin_manager(pm)
    with pytest.raises(dbsj.PluginError) as err:
        dbsj.assign_visits(pools, plan=JOINT, draw_id="D1", selections=selections([("T1", uscc(1), DUE)]), seed="s")
    assert err.value.plugin == "sloppy" and "NOBODY" in str(err.value)


def test_ticket_encoding_and_sql_tickets_agree_with_python():
    # dbsj-assign/2: a 32-byte key per visit, then one block per candidate; the ticket is 8 bytes (16 hex digits)
    key = hashlib.sha256(("13:dbsj-assign/2" "1:s" "12:V@2023-07-20" "1:U").encode("utf-8")).digest()
    enc = dbsj.assignment_ticket("s", "V@2023-07-20", "U", "甲")
    assert enc == hashlib.sha256(key + "甲".encode("utf-8")).hexdigest()[:16]
    from dbsj.verifier import assignment_ticket_value, assignment_visit_key
    assert assignment_visit_key("s", "V@2023-07-20", "U") == key
    assert assignment_ticket_value(key, "甲") == int(enc, 16)
    # dbsj-assign/1 (records from before the snapshot): SHA-256 over the five fields
    legacy = dbsj.assignment_ticket("s", "V@2023-07-20", "U", "甲", algorithm="dbsj-assign/1")
    raw = "13:dbsj-assign/1" "1:s" "12:V@2023-07-20" "1:U" "3:甲"
    assert legacy == hashlib.sha256(raw.encode("utf-8")).hexdigest()
    # separators inside values cannot make two different tuples encode alike
    assert dbsj.assignment_ticket("a1:b", "v", "u", "s") != dbsj.assignment_ticket("a", "1:bv", "u", "s")


def test_greedy_takes_the_smallest_tickets(pools):
    """With room for everyone, each visit's team is exactly its two smallest-ticket candidates (Python hashlib)."""
    staff = [f"人员{i}" for i in range(6)]
    insert(pools, "inspectors", [inspector(s) for s in staff])
    sel = selections([("T1", uscc(n), DUE) for n in (1, 2)])
    seed = "beacon round 123 · 随机"
    out = run(pools, sel, dbsj.AssignmentOptions(workload_cap=2), seed=seed)
    for n in (1, 2):
        vid = f"{uscc(n)}@{DUE.isoformat()}"
        want = sorted(staff, key=lambda s: (dbsj.assignment_ticket(seed, vid, uscc(n), s), s))[:2]
        assert sorted(s for _, s in teams(out)[vid]) == sorted(want)


@pytest.mark.parametrize("bad, message", [
    (pa.table({"task_id": ["T1"], "uscc": ["x"]}), "due"),
    (selections([("T1", uscc(1), DUE), ("T1", uscc(1), DUE)]), "duplicate"),
    (selections([("T1", "91650100MA9999999X", DUE)]), "not in the target pool"),
    (selections([("T9", uscc(1), DUE)]), "no task T9"),
])
def test_bad_selections_are_refused_with_a_clear_error(pools, bad, message):
    insert(pools, "inspectors", [inspector("A"), inspector("B")])
    dbsj.set_language("en")
    with pytest.raises(dbsj.InputError) as err:
        dbsj.assign_visits(pools, plan=JOINT, draw_id="D1", selections=bad, seed="s")
    assert message in str(err.value)


def test_items_missing_from_the_item_list_are_a_plan_error(store):
    insert(store, "targets", [target(1)])
    with pytest.raises(dbsj.PlanError) as err:
        dbsj.assign_visits(store, plan=JOINT, draw_id="D1", selections=selections([("T1", uscc(1), DUE)]), seed="s")
    assert "SC1" in str(err.value)


def test_leaves_no_temporary_tables_behind(pools):
    insert(pools, "inspectors", [inspector("A"), inspector("B")])
    run(pools, selections([("T1", uscc(1), DUE)]))
    left = pools.execute("SELECT table_name FROM information_schema.tables WHERE table_name LIKE '_dbsj_asg_%'").fetchall()
    assert left == []
    # and nothing was written to the store's own tables
    assert pools.count("assignments") == 0 and pools.count("assignment_exclusions") == 0


def test_empty_selections_give_an_empty_outcome(pools):
    out = run(pools, selections([]))
    assert out.assignments.num_rows == 0 and out.section["visits"] == [] and out.complete
