"""The SQL checker agrees with a straightforward Python evaluation of the same rules on small generated plans."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

import dbsj

DEPTS = ["市场监管", "卫生健康", "生态环境", "应急管理"]
USCCS = [f"91650100MA77P{i:03d}X" for i in range(6)]
RULES = dbsj.load_rules(packs=["xinjiang-2023"])  # the national baseline and the region's credit-linked share
STORE = dbsj.Store(":memory:")


@st.composite
def scenarios(draw):  # noqa: ANN001, ANN201
    n_items = draw(st.integers(1, 6))
    items = [(f"I{i}", draw(st.sampled_from(DEPTS)), draw(st.sampled_from(["key", "general"]))) for i in range(n_items)]
    codes = [c for c, _, _ in items] + ["UNKNOWN"]
    tasks = []
    for t in range(draw(st.integers(1, 5))):
        sponsor = draw(st.sampled_from(DEPTS))
        partners = draw(st.lists(st.sampled_from([d for d in DEPTS if d != sponsor]), max_size=2, unique=True))
        task_items = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=3, unique=True))
        lo = draw(st.sampled_from([None, 0.03, 0.05, 0.1, 0.2, 0.3]))
        hi = draw(st.sampled_from([None, 0.1, 0.2, 0.5]))
        if lo is None and hi is None or (lo is not None and hi is not None and lo > hi):
            lo, hi = 0.03, None
        quota = {k: v for k, v in (("min", lo), ("max", hi)) if v is not None}
        linked = draw(st.booleans())
        sampling = ({"strata": ["credit_class"], "by_class": {"A": quota}} if linked else {"quota": quota})
        tasks.append({"id": f"T{t}", "name": f"任务{t}", "sponsor": sponsor, "partners": partners, "items": task_items,
                      "sampling": sampling, "start": "2023-03-01",
                      "batches": [{"name": "全年", "deadline": draw(st.sampled_from(["2023-06-30", "2023-11-30"]))}]})
    plan = dbsj.Plan.model_validate({"id": "P", "year": 2023, "authority": "某局", "title": "t", "tasks": tasks})
    selections = draw(st.lists(st.tuples(st.sampled_from([t["id"] for t in tasks]), st.sampled_from(USCCS)),
                               max_size=6, unique=True))
    history = draw(st.lists(st.tuples(st.sampled_from(USCCS), st.sampled_from(codes[:-1]),
                                      st.dates(dt.date(2022, 1, 1), dt.date(2023, 12, 31)),
                                      st.sampled_from(["OLD1", "OLD2", *[t["id"] for t in tasks]])),
                            max_size=6, unique_by=lambda h: (h[0], h[1], h[2], h[3])))
    teams = draw(st.lists(st.integers(1, 3), max_size=3))
    return items, plan, selections, history, teams


class _Con:
    """executemany that accepts an empty list (DuckDB refuses one)."""

    def __init__(self, con) -> None:  # noqa: ANN001
        self.con = con

    def execute(self, sql: str, params=None):  # noqa: ANN001, ANN201
        return self.con.execute(sql, params or [])

    def executemany(self, sql: str, rows: list) -> None:
        if rows:
            self.con.executemany(sql, rows)


def _load(items, plan, selections, history, teams) -> None:  # noqa: ANN001
    con = _Con(STORE.con)
    for table in ("items", "targets", "history", "draws", "selections", "assignments"):
        con.execute(f"DELETE FROM {table}")
    con.executemany("INSERT INTO items (code, name, department, category, active) VALUES (?, ?, ?, ?, TRUE)",
                    [[c, c, d, k] for c, d, k in items])
    con.executemany("INSERT INTO targets (uscc, name, entity_kind, status, region, active) "
                    "VALUES (?, 'x', '企业', '存续', '650102', TRUE)", [[u] for u in USCCS])
    con.executemany("INSERT INTO history (uscc, item_code, inspected_on, task_id, active) VALUES (?, ?, ?, ?, TRUE)",
                    [list(h) for h in history])
    for t in plan.tasks:
        con.execute("INSERT INTO draws (draw_id, plan_id, task_id, attempt, algorithm, status, created_at) "
                    "VALUES (?, 'P', ?, 1, 'a', 'drawn', now())", [f"D{t.id}", t.id])
    con.executemany("INSERT INTO selections (draw_id, plan_id, task_id, stratum, rank, uscc, ticket, due) "
                    "VALUES (?, 'P', ?, '*', 1, ?, 'x', ?)",
                    [[f"D{t}", t, u, plan.task(t).end] for t, u in selections])
    for v, size in enumerate(teams):
        con.executemany("INSERT INTO assignments (draw_id, plan_id, visit_id, task_id, uscc, staff_id, department) "
                        "VALUES (?, 'P', ?, ?, ?, ?, '市场监管')",
                        [[f"D{plan.tasks[0].id}", f"V{v}", plan.tasks[0].id, USCCS[0], f"S{s}"] for s in range(size)])


def _reference(items, plan, selections, history, teams) -> dict[str, set]:  # noqa: ANN001
    cat = {c: k for c, _, k in items}
    planned = {c for t in plan.tasks for c in t.items}
    out: dict[str, set] = {}
    out["coverage.key-items"] = {c for c, _, k in items if k == "key" and c not in planned}
    out["coverage.departments"] = {d for _, d, _ in items} - {d for t in plan.tasks for d in t.departments}
    linked = sum(t.sampling.credit_linked for t in plan.tasks)
    out["credit.linked-share"] = {"share"} if linked / len(plan.tasks) < 0.5 else set()
    cap = set()
    for t in plan.tasks:
        if all(cat.get(c) == "general" for c in t.items):
            quotas = [t.sampling.quota] if t.sampling.quota else []
            quotas += list(t.sampling.by_class.values())
            for q in quotas:
                if (q.min or 0) > 0.1 or (q.max or 0) > 0.1:
                    cap.add(t.id)
    out["ratio.general-cap"] = cap
    task_ids = {t.id for t in plan.tasks}
    events = [(u, c, plan.task(t).end, t) for t, u in selections for c in dict.fromkeys(plan.task(t).items)]
    sel_keys = {(u, c, t) for u, c, _, t in events}
    events += [(u, c, d, t) for u, c, d, t in history if (u, c, t) not in sel_keys]
    repeats = set()
    for (u, c), group in itertools.groupby(sorted(events, key=lambda e: (e[0], e[1], e[2], e[3])), key=lambda e: e[:2]):
        group = list(group)
        for a, b in zip(group, group[1:]):
            if (b[2] - a[2]).days < 365 and (a[3] in task_ids or b[3] in task_ids):
                repeats.add((u, c, a[3], b[3]))
    out["frequency.same-item-yearly"] = repeats
    out["team.min-size"] = {f"V{v}" for v, size in enumerate(teams) if size < 2}
    return out


def _observed(report) -> dict[str, set]:  # noqa: ANN001
    by = report.by_rule
    return {
        "coverage.key-items": {f.evidence["code"] for f in by("coverage.key-items")},
        "coverage.departments": {f.evidence["department"] for f in by("coverage.departments")},
        "credit.linked-share": {"share"} if by("credit.linked-share") else set(),
        "ratio.general-cap": {f.evidence["task_id"] for f in by("ratio.general-cap")},
        "frequency.same-item-yearly": {(f.evidence["uscc"], f.evidence["item_code"], f.evidence["first_task"],
                                        f.evidence["second_task"]) for f in by("frequency.same-item-yearly")},
        "team.min-size": {f.evidence["visit_id"] for f in by("team.min-size")},
    }


@settings(max_examples=25)
@given(scenarios())
def test_sql_checker_matches_reference_evaluation(scenario):
    _load(*scenario)
    report = dbsj.check_plan(scenario[1], STORE, rules=RULES)
    assert _observed(report) == _reference(*scenario)
    assert report.ok == (not any(_reference(*scenario).values()) and not report.by_rule("eligibility.registered")
                         and not report.by_rule("ratio.table-known"))
