"""A small, fully known store for lifecycle tests: one plan, two tasks, drawn and assigned by hand.

Rows go into the pinned draw tables (``draws``, ``selections``, ``assignments``) exactly as the draw writes them.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import dbsj
from pooldata import uscc as make_uscc

REGIONS = ["650102", "650103", "650202", "654002", "659001", "650104"]
CLASSES = ["A", "B", "C", "D", "D", "B"]


PLAN = {
    "id": "XJ-2023", "year": 2023, "authority": "新疆维吾尔自治区市场监督管理局", "title": "2023年度部门联合抽查计划",
    "tasks": [
        {"id": "T1", "name": "食品经营者联合抽查", "sponsor": "市场监管", "partners": ["卫生健康"],
         "items": ["A07", "B01"], "sampling": {"strata": ["credit_class"], "quota": 0.05},
         "start": "2023-03-01", "batches": [{"name": "第一批", "deadline": "2023-10-15"}]},
        {"id": "T2", "name": "企业公示信息抽查", "sponsor": "市场监管",
         "items": ["A07"], "sampling": {"quota": 0.03},
         "start": "2023-03-01", "batches": [{"name": "全年", "deadline": "2023-11-30"}]},
    ],
}


def seed(store: dbsj.Store, *, drawn_on: dt.date = dt.date(2023, 3, 10)) -> SimpleNamespace:
    plan = dbsj.Plan.model_validate(PLAN)
    store.execute("INSERT INTO plans (plan_id, year, sha256, body, stored_at) VALUES (?, ?, ?, ?, ?)",
                  [plan.id, plan.year, plan.digest(), plan.canonical_json(), dt.datetime(2023, 3, 1, 9)])
    for code, name, dept in (("A07", "公示信息抽查", "市场监管"), ("B01", "餐饮服务卫生抽查", "卫生健康")):
        store.execute("INSERT INTO items (code, name, department, category) VALUES (?, ?, ?, 'general')",
                      [code, name, dept])
    usccs = [make_uscc(i + 1, REGIONS[i][:4] + "00") for i in range(6)]
    for i, u in enumerate(usccs):
        store.execute("INSERT INTO targets (uscc, name, entity_kind, status, region, credit_class) "
                      "VALUES (?, ?, '企业', '存续', ?, ?)", [u, f"测试企业{i + 1}有限公司", REGIONS[i], CLASSES[i]])
    staff = {"S1": "市场监管", "S2": "市场监管", "S3": "卫生健康", "S4": "市场监管"}
    for sid, dept in staff.items():
        store.execute("INSERT INTO inspectors (staff_id, name, department, certificate_no, certificate_expiry) "
                      "VALUES (?, ?, ?, ?, ?)", [sid, f"检查员{sid}", dept, f"CERT-{sid}-0001", dt.date(2026, 12, 31)])
    at = dt.datetime(drawn_on.year, drawn_on.month, drawn_on.day, 10, tzinfo=dbsj.clock.BEIJING)
    # T1: targets 0-3; T2: targets 2, 4, 5. A failed earlier attempt of T1 selected target 5.
    store.execute("INSERT INTO draws (draw_id, plan_id, task_id, attempt, algorithm, status, created_at) "
                  "VALUES ('D-T1-0', 'XJ-2023', 'T1', 0, 'dbsj-sha256-bottomk/1', 'failed', ?)", [at])
    store.execute("INSERT INTO selections (draw_id, plan_id, task_id, stratum, rank, uscc, ticket) "
                  "VALUES ('D-T1-0', 'XJ-2023', 'T1', 'x', 1, ?, 'ff')", [usccs[5]])
    for task, idx in (("T1", [0, 1, 2, 3]), ("T2", [2, 4, 5])):
        draw_id = f"D-{task}-1"
        store.execute("INSERT INTO draws (draw_id, plan_id, task_id, attempt, algorithm, status, seed_kind, created_at) "
                      "VALUES (?, 'XJ-2023', ?, 1, 'dbsj-sha256-bottomk/1', 'drawn', 'dice', ?)", [draw_id, task, at])
        for rank, i in enumerate(idx, start=1):
            store.execute("INSERT INTO selections (draw_id, plan_id, task_id, stratum, rank, uscc, ticket, batch, due) "
                          "VALUES (?, 'XJ-2023', ?, ?, ?, ?, ?, 'b1', ?)",
                          [draw_id, task, f"credit_class={CLASSES[i]}", rank, usccs[i], f"{rank:064x}", dt.date(2023, 10, 15)])
            team = ["S1", "S3"] if task == "T1" else ["S2", "S4"]
            for sid in team:
                store.execute("INSERT INTO assignments (draw_id, plan_id, visit_id, task_id, uscc, staff_id, department, due) "
                              "VALUES (?, 'XJ-2023', ?, ?, ?, ?, ?, ?)",
                              [draw_id, f"V-{i}", task, usccs[i], sid, staff[sid], dt.date(2023, 10, 15)])
    return SimpleNamespace(plan=plan, usccs=usccs, t1=[usccs[i] for i in (0, 1, 2, 3)], t2=[usccs[i] for i in (2, 4, 5)])


def result(task: str, uscc: str, staff: str, items: dict[str, str], on: str = "2023-05-10", **kw) -> dbsj.Result:
    return dbsj.Result(task_id=task, uscc=uscc, staff_id=staff, items=items, inspected_on=dt.date.fromisoformat(on), **kw)


def visit(store: dbsj.Store, task: str, uscc: str, items: dict[str, str], on: str = "2023-05-10",
          **kw) -> list[dbsj.RecordedResult]:
    """Record one visit as 谁检查、谁录入 wants it: each department's items by that department's inspector on
    the team (the first by staff id), one result per department."""
    seats = store.execute("SELECT a.department, min(a.staff_id) FROM assignments a JOIN draws d USING (draw_id) "
                          "WHERE d.status = 'drawn' AND a.task_id = ? AND a.uscc = ? GROUP BY 1", [task, uscc]).fetchall()
    owner = dict(store.execute("SELECT code, department FROM items").fetchall())
    out = []
    for dept, staff in sorted(seats):
        mine = {i: c for i, c in items.items() if owner[i] == dept}
        if mine:
            out.append(dbsj.record_result(store, result(task, uscc, staff, mine, on, **kw)))
    return out


def dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def seed_eligible(store: dbsj.Store, d: SimpleNamespace) -> None:
    """The eligible sets the draws committed to (every target eligible for T1, T2's three plus one)."""
    for draw_id, usccs in (("D-T1-1", d.usccs), ("D-T2-1", d.t2 + [d.usccs[0]])):
        for u in usccs:
            cls = CLASSES[d.usccs.index(u)]
            store.execute("INSERT INTO draw_eligible (draw_id, stratum, uscc) VALUES (?, ?, ?)",
                          [draw_id, f"credit_class={cls}", u])
