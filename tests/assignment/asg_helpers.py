"""Builders for assignment tests: pools inserted into a real in-memory store, plans, selections, and an
independent checker of every assignment rule (written from the rules, not from the implementation)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from typing import Any

import pyarrow as pa

import dbsj
from pooldata import insert, uscc  # noqa: F401  (re-exported for the tests here)

DUE = dt.date(2023, 7, 20)
DUE2 = dt.date(2023, 10, 15)


def item(code: str, department: str) -> dict[str, Any]:
    return {"code": code, "name": code, "department": department, "category": "general"}


def target(n: int, region: str = "650102", office: str | None = "所1") -> dict[str, Any]:
    return {"uscc": uscc(n, region[:4] + "00"), "name": f"企业{n}", "entity_kind": "企业", "status": "存续",
            "region": region, "office": office}


def inspector(staff_id: str, department: str = "市场监管", region: str = "650102", *, beat: str | None = "所9",
              expiry: dt.date = dt.date(2025, 12, 31), scope: tuple[str, ...] = ("SC1",), status: str = "在岗",
              conflicts: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"staff_id": staff_id, "name": staff_id, "department": department, "region": region, "beat": beat,
            "certificate_no": "Z" + staff_id, "certificate_expiry": expiry, "item_scope": scope, "status": status,
            "conflicts": conflicts}


def history(u: str, on: dt.date, staff: tuple[str, ...], item_code: str = "SC1") -> dict[str, Any]:
    return {"uscc": u, "item_code": item_code, "inspected_on": on, "task_id": "old", "staff_ids": staff}


def plan(*tasks: dict[str, Any]) -> dbsj.Plan:
    full = []
    for t in tasks:
        full.append({"name": t["id"], "sampling": {"quota": 0.1}, "start": "2023-03-01",
                     "batches": [{"name": "一", "deadline": DUE.isoformat()}, {"name": "二", "deadline": DUE2.isoformat()}],
                     **t})
    return dbsj.Plan.model_validate({"id": "P2023", "year": 2023, "authority": "测试局", "title": "测试计划",
                                     "tasks": full})


def selections(rows: list[tuple[str, str, dt.date]]) -> pa.Table:
    return pa.table({"task_id": pa.array([r[0] for r in rows], pa.string()),
                     "uscc": pa.array([r[1] for r in rows], pa.string()),
                     "due": pa.array([r[2] for r in rows], pa.date32())})


def prefecture(region: str | None) -> str | None:
    if region is None:
        return None
    return region if region.startswith("6590") else region[:4] + "00"


# -- an independent reading of the rules ----------------------------------------------------------------


def pool_rows(store: dbsj.Store, table: str) -> list[dict[str, Any]]:
    cur = store.execute(f"SELECT * FROM {table} WHERE active")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def expected_visits(pl: dbsj.Plan, sel: pa.Table, store: dbsj.Store, team_min: int) -> dict[str, dict[str, Any]]:
    """visit id -> {uscc, due, tasks, needs: {department: places}, items: {department: set}}."""
    owner = {r["code"]: r["department"] for r in pool_rows(store, "items")}
    visits: dict[str, dict[str, Any]] = {}
    for task_id, u, due in zip(*(sel.column(c).to_pylist() for c in ("task_id", "uscc", "due"))):
        v = visits.setdefault(f"{u}@{due.isoformat()}", {"uscc": u, "due": due, "tasks": [], "items": {}})
        v["tasks"].append(task_id)
    for v in visits.values():
        v["tasks"].sort()
        depts: list[str] = []
        for tid in v["tasks"]:
            t = pl.task(tid)
            for d in t.departments:
                if d not in depts:
                    depts.append(d)
                v["items"].setdefault(d, set())
            for code in t.items:
                d = owner[code] if owner[code] in t.departments else t.sponsor
                v["items"][d].add(code)
        lead = pl.task(v["tasks"][0]).sponsor
        needs = {d: 1 for d in depts}
        needs[lead] += max(team_min - len(depts), 0)
        v["needs"] = needs
    return visits


def all_pools(store: dbsj.Store) -> dict[str, list[dict[str, Any]]]:
    return {k: pool_rows(store, k) for k in ("targets", "inspectors", "history")}


def eligible(store: dbsj.Store, visit: dict[str, Any], department: str, options: dbsj.AssignmentOptions,
             plugin_excluded: set[tuple[str, str]] = frozenset(), pools: dict[str, Any] | None = None) -> list[str]:
    """Staff ids allowed on ``visit`` for ``department`` by every rule, checked one pair at a time."""
    pools = pools or all_pools(store)
    tgt = next(t for t in pools["targets"] if t["uscc"] == visit["uscc"])
    hist = [h for h in pools["history"] if h["uscc"] == visit["uscc"]]
    last: set[str] = set()
    if hist and options.last_inspector_recusal:
        latest = max(h["inspected_on"] for h in hist)
        for h in hist:
            if h["inspected_on"] == latest:
                last.update(h["staff_ids"] or [])
    out = []
    for i in pools["inspectors"]:
        ok = (i["department"] == department
              and prefecture(i["region"]) == prefecture(tgt["region"])
              and (i["status"] or "在岗") == "在岗"
              and i["certificate_expiry"] >= visit["due"]
              and visit["items"][department] <= set(i["item_scope"] or [])
              and visit["uscc"] not in (i["conflicts"] or [])
              and not (options.cross_beat and i["beat"] is not None and i["beat"] == tgt["office"])
              and i["staff_id"] not in last
              and (visit["uscc"], i["staff_id"]) not in plugin_excluded)
        if ok:
            out.append(i["staff_id"])
    return sorted(out)


def check_outcome(store: dbsj.Store, pl: dbsj.Plan, sel: pa.Table, outcome: dbsj.AssignmentOutcome,
                  options: dbsj.AssignmentOptions, plugin_excluded: set[tuple[str, str]] = frozenset()) -> None:
    """Assert every rule on every assigned visit, and that only visits listed as short lack a team."""
    visits = expected_visits(pl, sel, store, options.team_min)
    pools = all_pools(store)
    rows = outcome.assignments.to_pylist()
    by_visit: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_visit.setdefault(r["visit_id"], []).append(r)
    short_visits = {v for s in outcome.shortfalls for v in s["visits"]}
    load: Counter[str] = Counter()
    for vid, v in visits.items():
        if vid in short_visits:
            assert vid not in by_visit, f"short visit {vid} has rows"
            continue
        assert vid in by_visit, f"visit {vid} has no team and is not reported short"
        team: dict[str, str] = {}
        for r in by_visit[vid]:
            assert r["uscc"] == v["uscc"] and r["due"] == v["due"]
            assert r["task_id"] in v["tasks"]
            t = pl.task(r["task_id"])
            assert r["department"] in t.departments
            assert team.setdefault(r["staff_id"], r["department"]) == r["department"]
        per_dept = Counter(team.values())
        assert dict(per_dept) == v["needs"], (vid, dict(per_dept), v["needs"])
        assert len(team) >= options.team_min
        for staff, dept in team.items():
            assert staff in eligible(store, v, dept, options, plugin_excluded, pools), (vid, staff, dept)
            load[staff] += 1
        # every task of the visit gets a row for each member of its departments
        for tid in v["tasks"]:
            deps = set(pl.task(tid).departments)
            got = {r["staff_id"] for r in by_visit[vid] if r["task_id"] == tid}
            assert got == {s for s, d in team.items() if d in deps}
    if options.workload_cap is not None:
        assert all(c <= options.workload_cap for c in load.values()), load
    # section agrees with the table
    sec_teams = {v["visit_id"]: sorted((m["department"], m["staff_id"]) for m in v["team"])
                 for v in outcome.section["visits"]}
    for vid in visits:
        want = sorted({(r["department"], r["staff_id"]) for r in by_visit.get(vid, [])})
        assert sec_teams[vid] == want


def brute_force_feasible(store: dbsj.Store, pl: dbsj.Plan, sel: pa.Table, options: dbsj.AssignmentOptions,
                         cap: int | None) -> bool:
    """Does any assignment meet every rule and the cap? Exhaustive search over teams, visit by visit."""
    visits = list(expected_visits(pl, sel, store, options.team_min).values())
    pools = all_pools(store)
    choices = []
    for v in visits:
        per_dept = []
        for d, k in sorted(v["needs"].items()):
            per_dept.append(list(itertools.combinations(eligible(store, v, d, options, pools=pools), k)))
        choices.append([sum(combo, ()) for combo in itertools.product(*per_dept)])

    def go(idx: int, load: Counter[str]) -> bool:
        if idx == len(choices):
            return True
        for team in choices[idx]:
            if cap is not None and any(load[s] >= cap for s in team):
                continue
            load.update(team)
            if go(idx + 1, load):
                return True
            load.subtract(team)
        return False

    return go(0, Counter())
