"""Helpers for the rules tests: plans written as YAML, stores built by inserting rows."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest

import dbsj

ITEMS = [
    # code, name, department, category
    ("SC-A07", "企业公示信息抽查", "市场监管", "key"),
    ("SC-B01", "食品经营许可检查", "市场监管", "general"),
    ("WS-01", "公共场所卫生检查", "卫生健康", "key"),
    ("WS-02", "生活饮用水卫生检查", "卫生健康", "general"),
    ("HB-01", "排污许可执行检查", "生态环境", "key"),
]


def task_yaml(tid: str, *, sponsor: str = "市场监管", partners: tuple[str, ...] = (), items: tuple[str, ...] = ("SC-A07",),
              sampling: str = '{quota: "不低于3%"}', start: str = "2023-03-01", deadline: str = "2023-11-30") -> str:
    parts = f"[{', '.join(partners)}]"
    return (f"    - id: {tid}\n      name: 任务{tid}\n      sponsor: {sponsor}\n      partners: {parts}\n"
            f"      items: [{', '.join(items)}]\n      sampling: {sampling}\n      start: {start}\n"
            f"      batches: [{{name: 全年, deadline: {deadline}}}]\n")


def plan_text(tasks: list[str], plan_id: str = "XJ-2023", rule_packs: tuple[str, ...] = ()) -> str:
    packs = f"  rule_packs: [{', '.join(rule_packs)}]\n" if rule_packs else ""
    return (f"plan:\n  id: {plan_id}\n  year: 2023\n  authority: 新疆维吾尔自治区市场监督管理局\n"
            f"  title: 2023年度部门联合双随机抽查计划\n{packs}  tasks:\n" + "".join(tasks))


def fill_items(store: dbsj.Store, items: list[tuple[str, str, str, str]] = ITEMS) -> None:
    store.con.executemany("INSERT INTO items (code, name, department, category, active) VALUES (?, ?, ?, ?, TRUE)",
                          [list(i) for i in items])


def add_targets(store: dbsj.Store, rows: list[dict[str, Any]]) -> None:
    for r in rows:
        store.con.execute(
            "INSERT INTO targets (uscc, name, entity_kind, status, region, credit_class, active) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [r["uscc"], r.get("name", "某公司"), r.get("entity_kind", "企业"), r.get("status", "存续"),
             r.get("region", "650102"), r.get("credit_class"), r.get("active", True)])


def add_history(store: dbsj.Store, rows: list[tuple[str, str, str, str | None]]) -> None:
    store.con.executemany("INSERT INTO history (uscc, item_code, inspected_on, task_id, active) VALUES (?, ?, ?, ?, TRUE)",
                          [[u, i, dt.date.fromisoformat(d), t] for u, i, d, t in rows])


def add_draw(store: dbsj.Store, plan_id: str, task_id: str, usccs: list[str], *, due: str | None = "2023-07-20",
             status: str = "drawn", draw_id: str | None = None) -> str:
    draw_id = draw_id or f"D-{task_id}-{status}"
    store.con.execute("INSERT INTO draws (draw_id, plan_id, task_id, attempt, algorithm, status, created_at) "
                      "VALUES (?, ?, ?, 1, 'dbsj-sha256-bottomk/1', ?, TIMESTAMPTZ '2023-05-01 10:00:00+08')",
                      [draw_id, plan_id, task_id, status])
    store.con.executemany("INSERT INTO selections (draw_id, plan_id, task_id, stratum, rank, uscc, ticket, due) "
                          "VALUES (?, ?, ?, '*', ?, ?, 'x', ?)",
                          [[draw_id, plan_id, task_id, i + 1, u, due] for i, u in enumerate(usccs)])
    return draw_id


def add_assignment(store: dbsj.Store, plan_id: str, draw_id: str, visit_id: str, task_id: str, uscc: str,
                   staff: list[tuple[str, str]]) -> None:
    store.con.executemany("INSERT INTO assignments (draw_id, plan_id, visit_id, task_id, uscc, staff_id, department) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          [[draw_id, plan_id, visit_id, task_id, uscc, s, d] for s, d in staff])


USCC = ["91650100MA77TEST1X", "91650100MA77TEST2X", "91650100MA77TEST3X", "91650100MA77TEST4X"]
