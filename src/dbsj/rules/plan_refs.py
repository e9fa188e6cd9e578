"""Checks of what a plan refers to, built into ``check_plan`` beside the packs' rules.

- ``plan.unknown-item`` (error): a task lists an item code that is not on the store's item list — rules that
  read items (coverage, the general cap) would otherwise skip it silently. ``file:line`` when the plan came
  from a file.
- ``plan.no-item-list`` (warning): the store holds no item list, so no item code could be checked and the rules
  over items had nothing to read.
- ``plan.department-near-miss`` (warning): a sponsor or partner that no item, inspector or rule pack names, but
  which is close to a name they use ("应急管理局" for "应急管理"): the suggestion is in the message.
- ``plan.unknown-department`` (warning): a sponsor or partner nobody else names, close to nothing: no item is
  that department's and no inspector can be assigned for it.
- ``plan.deadline-past`` (warning): a task not yet drawn has a batch whose deadline is already past today
  (Beijing time): drawing it now gives inspectors no time for that batch. A draw repeats it in its summary.

Departments are an open vocabulary (docs/rules.md): whatever the item list, the inspector pool, the plan and
the rule packs name. The ten built-in names (``dbsj.DEPARTMENTS``) serve only as suggestions.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from dbsj.models.plans import Plan
from dbsj.models.vocab import DEPARTMENTS

__all__ = ["BUILTIN_RULES", "plan_reference_findings", "suggest_department", "pack_departments"]

SOURCE = "dbsj 计划引用校验（抽查事项清单、执法检查人员名录库） / dbsj plan reference checks"

#: Built-in rule id → severity.
BUILTIN_RULES = {"plan.unknown-item": "error", "plan.no-item-list": "warning",
                 "plan.department-near-miss": "warning", "plan.unknown-department": "warning",
                 "plan.deadline-past": "warning"}

#: Official long forms of the usual short department names (the shorts are what data use).
_LONG_FORMS = {"市场监督管理": "市场监管", "卫生健康委员会": "卫生健康", "卫生和健康": "卫生健康", "卫健": "卫生健康",
               "住房和城乡建设": "住房城乡建设", "文化旅游": "文化和旅游", "文旅": "文化和旅游", "农业和农村": "农业农村"}
_SUFFIXES = ("委员会", "办公室", "部门", "支队", "大队", "局", "厅", "委", "部", "办")
_REGION_PREFIX = re.compile(r"^.{1,12}?(?:省|自治区|市|州|盟|地区|县|区|旗)(?=.)")


def _core(name: str) -> str:
    """The department's core: without a region prefix and an organ suffix (``乌鲁木齐市应急管理局`` → ``应急管理``)."""
    s = name.strip()
    for _ in range(2):
        for suf in _SUFFIXES:
            if s.endswith(suf) and len(s) > len(suf) + 1:
                s = s[: -len(suf)]
                break
    m = _REGION_PREFIX.match(s)
    if m and len(s) - m.end() >= 2:
        s = s[m.end():]
    return _LONG_FORMS.get(s, s)


def suggest_department(name: str, known: set[str] | frozenset[str]) -> str | None:
    """The known department ``name`` most likely means, or ``None`` (``name`` known, or close to nothing)."""
    if name in known:
        return None
    pool = sorted(known | set(DEPARTMENTS))
    core = _core(name)
    if core in pool:
        return core
    close = difflib.get_close_matches(core, pool, n=1, cutoff=0.6)
    if close:
        return close[0]
    inside = [k for k in pool if k in name]
    return max(inside, key=len) if inside else None


def _where_of(path: Path | None, loc: tuple[Any, ...]) -> str | None:
    if path is None:
        return None
    from dbsj._yaml import load_located_yaml
    from dbsj.errors import PlanError

    try:
        doc = load_located_yaml(path, PlanError)
    except Exception:  # noqa: BLE001 - the plan loaded once already; a location is a courtesy
        return str(path)
    if isinstance(doc.data, dict) and set(doc.data) == {"plan"}:
        loc = ("plan", *loc)
    return doc.where(loc)


def plan_reference_findings(con: Any, plan: Plan, *, path: Path | None, pack_departments: set[str],
                            has_items_table: bool) -> list[tuple[str, str, str, dict[str, Any], str | None]]:
    """``(rule, message_zh, message_en, evidence, where)`` for every problem the built-in checks find."""
    out: list[tuple[str, str, str, dict[str, Any], str | None]] = []
    items: dict[str, str] = {}
    if has_items_table:
        items = {c: d for c, d in con.execute("SELECT code, department FROM items WHERE active").fetchall()}
    inspectors: set[str] = set()
    try:
        inspectors = {d for (d,) in con.execute("SELECT DISTINCT department FROM inspectors WHERE active").fetchall()}
    except Exception:  # noqa: BLE001 - a store without an inspector table (an in-memory check)
        inspectors = set()
    if not items:
        out.append(("plan.no-item-list", "存储中没有抽查事项清单：无法核对计划引用的事项编码，依赖事项的规则（覆盖、比例上限）无从判断",
                    "the store holds no item list: the plan's item codes cannot be checked and the rules over items "
                    "(coverage, ratio caps) had nothing to read", {}, None))
    else:
        for ti, task in enumerate(plan.tasks):
            for ii, code in enumerate(task.items):
                if code not in items:
                    near = difflib.get_close_matches(code, sorted(items), n=1, cutoff=0.7)
                    out.append(("plan.unknown-item",
                                f"任务 {task.id} 的事项 {code} 不在抽查事项清单中" + (f"（是否为 {near[0]}？）" if near else ""),
                                f"task {task.id} lists item {code}, which is not on the item list"
                                + (f" (did you mean {near[0]}?)" if near else ""),
                                {"task_id": task.id, "item_code": code, "suggestion": near[0] if near else None},
                                _where_of(path, ("tasks", ti, "items", ii))))
    from dbsj import clock

    today = clock.today()
    try:
        drawn = {t for (t,) in con.execute("SELECT DISTINCT task_id FROM draws WHERE plan_id = ? AND status = 'drawn'",
                                           [plan.id]).fetchall()}
    except Exception:  # noqa: BLE001 - no draws table
        drawn = set()
    for ti, task in enumerate(plan.tasks):
        if task.id in drawn:
            continue
        for bi, batch in enumerate(task.batches):
            if batch.deadline < today:
                out.append(("plan.deadline-past",
                            f"任务 {task.id} 尚未抽取，其批次「{batch.name}」的截止日 {batch.deadline} 已过（今天 {today}）",
                            f"task {task.id} is not drawn yet and its batch {batch.name!r} was due {batch.deadline} "
                            f"(today is {today})",
                            {"task_id": task.id, "batch": batch.name, "deadline": batch.deadline.isoformat(),
                             "today": today.isoformat()}, _where_of(path, ("tasks", ti, "batches", bi, "deadline"))))
    named = set(items.values()) | inspectors | pack_departments
    for ti, task in enumerate(plan.tasks):
        roles = [("sponsor", task.sponsor, ("tasks", ti, "sponsor"))]
        roles += [("partner", d, ("tasks", ti, "partners", pi)) for pi, d in enumerate(task.partners)]
        for role, dept, loc in roles:
            if dept in named:
                continue
            guess = suggest_department(dept, named)
            ev = {"task_id": task.id, "department": dept, "role": role, "suggestion": guess}
            what_zh = "牵头部门" if role == "sponsor" else "配合部门"
            if guess is not None:
                out.append(("plan.department-near-miss",
                            f"任务 {task.id} 的{what_zh}「{dept}」不是事项清单、人员名录库或规则包使用的部门名，是否为「{guess}」？",
                            f"task {task.id}: {role} {dept!r} is not a department name the item list, the inspector "
                            f"pool or the rule packs use; did you mean {guess!r}?", ev, _where_of(path, loc)))
            else:
                out.append(("plan.unknown-department",
                            f"任务 {task.id} 的{what_zh}「{dept}」在事项清单与人员名录库中都没有：无事项可查，也无人员可派",
                            f"task {task.id}: {role} {dept!r} has no item on the list and no inspector in the pool",
                            ev, _where_of(path, loc)))
    return out


def pack_departments(rules: Any) -> set[str]:
    """Every department a loaded rule names (any ``department`` or ``sponsor`` value in its conditions)."""
    found: set[str] = set()
    for lr in rules:
        dump = lr.rule.model_dump(mode="json", by_alias=True)
        for k, v in dump.items():
            if k in ("where", "require", "conditions", "when", "department", "departments"):
                _collect_departments(v, found)
    return found


def _collect_departments(node: Any, found: set[str], key: str | None = None) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _collect_departments(v, found, k if k not in ("eq", "in", "in_", "ne") else key)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _collect_departments(v, found, key)
    elif isinstance(node, str) and key in ("department", "sponsor", "item_department", "departments"):
        found.add(node)
