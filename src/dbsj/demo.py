"""``dbsj demo``: a synthetic Xinjiang built into a fresh store in ``./demo/``, step by step, and summarised.

The demo is an **ordered list of named steps** (:data:`STEPS`). Each step is a :class:`DemoStep`: a name,
a bilingual title, ``run(ctx) -> dict`` (a JSON-ready summary; it may leave values on ``ctx.state`` for
later steps) and optionally ``show(ctx, summary)`` to print rich tables. A feature extends the demo
by writing its step function and adding **one line** to :data:`STEPS` after the step whose output it
needs, e.g.::

    DemoStep("draw", "抽取", "draw", run=_draw_step, show=_show_draw),   # after "pools"

``run_demo`` runs every step in order, prints each (unless ``json=True``) and returns
``{"workdir", "db", "targets", "seed", "now", "order": [step names], "steps": {name: summary},
"seconds": {name: s}}``.

Every run starts fresh: the demo folder (marked by a ``.dbsj-demo`` file) is emptied first; a non-empty
folder without the mark is refused. The demo never touches ``./dbsj.duckdb``; it runs on the 2023
plan-year clock unless ``DBSJ_NOW`` is set.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from dbsj import clock
from dbsj.errors import InputError, get_language

__all__ = ["run_demo", "DemoStep", "DemoContext"]

DEMO_SEED = "dbsj-xinjiang-2023"
DEMO_TARGETS = 2_500_000
DEMO_NOW = "2023-06-01T09:00:00"
DEMO_PLUGIN = "xinjiang"


@attrs.define
class DemoContext:
    """What steps share: the work folder, the open store, the demo's parameters and a scratch ``state``."""

    workdir: Path
    db: Path
    store: Any
    targets: int
    seed: str
    console: Any | None
    state: dict[str, Any] = attrs.field(factory=dict)

    def t(self, zh: str, en: str) -> str:
        """Text in the chosen language (``--lang``)."""
        return en if get_language() == "en" else zh


@attrs.frozen
class DemoStep:
    name: str
    title_zh: str
    title_en: str
    run: Callable[[DemoContext], dict[str, Any]]
    show: Callable[[DemoContext, dict[str, Any]], None] | None = None


# -- step: pools ---------------------------------------------------------------------------------------

def _pools_step(ctx: DemoContext) -> dict[str, Any]:
    from dbsj.intake import pull_pool

    options = {"targets": str(ctx.targets), "seed": ctx.seed, "year": "2023"}
    out: dict[str, Any] = {}
    for kind in ("items", "targets", "inspectors"):
        started = time.perf_counter()
        report = pull_pool(ctx.store, kind, DEMO_PLUGIN, options, snapshot=True,
                           quarantine_dir=ctx.workdir / "quarantine")
        out[kind] = {"read": report.read, "accepted": report.accepted, "quarantined": report.quarantined,
                     "normalised": report.normalised, "quarantine_file": report.quarantine_file,
                     "seconds": round(time.perf_counter() - started, 2)}
    return out


def _show_pools(ctx: DemoContext, summary: dict[str, Any]) -> None:
    from rich.table import Table

    names = {"items": ctx.t("抽查事项", "items"), "targets": ctx.t("检查对象", "targets"),
             "inspectors": ctx.t("执法检查人员", "inspectors")}
    table = Table(title=ctx.t(f"导入（插件 {DEMO_PLUGIN}）", f"Import (plug-in {DEMO_PLUGIN})"))
    for h in (ctx.t("名录库", "pool"), ctx.t("读取", "read"), ctx.t("接收", "accepted"),
              ctx.t("隔离", "quarantined"), ctx.t("秒", "seconds")):
        table.add_column(h, justify="right")
    for kind, r in summary.items():
        table.add_row(names[kind], f"{r['read']:,}", f"{r['accepted']:,}", f"{r['quarantined']:,}", f"{r['seconds']}")
    ctx.console.print(table)


# -- step: summary -------------------------------------------------------------------------------------

_CLASSES = ("A", "B", "C", "D", "U")


def _prefecture_names() -> dict[str, str]:
    from dbsj.models import XINJIANG_PREFECTURES

    return {**XINJIANG_PREFECTURES, "659000": "自治区直辖县级市"}


def _summary_step(ctx: DemoContext) -> dict[str, Any]:
    con = ctx.store
    rows = con.execute(
        "SELECT substr(region, 1, 4) || '00' AS pref, coalesce(credit_class, 'U') AS cls, count(*) "
        "FROM targets WHERE active GROUP BY ALL ORDER BY 1, 2").fetchall()
    names = _prefecture_names()
    by_pref: dict[str, dict[str, Any]] = {}
    for pref, cls, n in rows:
        entry = by_pref.setdefault(pref, {"name": names.get(pref, pref), **{c: 0 for c in _CLASSES}, "total": 0})
        entry[cls] = entry.get(cls, 0) + n
        entry["total"] += n
    today = clock.today()
    inspectors = {
        dept: {"total": total, "expired": expired, "experts": experts, "on_duty": on_duty}
        for dept, total, expired, experts, on_duty in con.execute(
            "SELECT department, count(*), count(*) FILTER (certificate_expiry < ?), count(*) FILTER (expert), "
            "count(*) FILTER (status = '在岗') FROM inspectors WHERE active GROUP BY 1 ORDER BY 2 DESC, 1",
            [today]).fetchall()
    }
    items = {
        dept: {"key": key, "general": general}
        for dept, key, general in con.execute(
            "SELECT department, count(*) FILTER (category = 'key'), count(*) FILTER (category = 'general') "
            "FROM items WHERE active GROUP BY 1 ORDER BY count(*) DESC, 1").fetchall()
    }
    statuses = dict(con.execute("SELECT status, count(*) FROM targets WHERE active GROUP BY 1 ORDER BY 2 DESC, 1"
                                ).fetchall())
    return {"targets_by_prefecture": by_pref, "target_statuses": statuses, "inspectors_by_department": inspectors,
            "items_by_department": items, "today": today.isoformat()}


def _show_summary(ctx: DemoContext, summary: dict[str, Any]) -> None:
    from rich.table import Table

    t = Table(title=ctx.t("检查对象名录库：地州 × 信用风险分类", "Targets: prefecture × credit risk class"))
    t.add_column(ctx.t("地州", "prefecture"))
    for c in _CLASSES:
        t.add_column(c if c != "U" else ctx.t("未分类", "U"), justify="right")
    t.add_column(ctx.t("合计", "total"), justify="right")
    totals = {c: 0 for c in (*_CLASSES, "total")}
    for pref, e in sorted(summary["targets_by_prefecture"].items(), key=lambda kv: -kv[1]["total"]):
        t.add_row(f"{e['name']} {pref}", *(f"{e[c]:,}" for c in _CLASSES), f"{e['total']:,}")
        for c in totals:
            totals[c] += e[c]
    t.add_row(ctx.t("全区", "region"), *(f"{totals[c]:,}" for c in _CLASSES), f"{totals['total']:,}", style="bold")
    ctx.console.print(t)

    t = Table(title=ctx.t(f"执法检查人员名录库：按部门（证件截至 {summary['today']} 已过期者单列）",
                          f"Inspectors by department (certificates expired by {summary['today']} counted apart)"))
    for h in (ctx.t("部门", "department"), ctx.t("人数", "total"), ctx.t("在岗", "on duty"),
              ctx.t("证件过期", "expired"), ctx.t("专家", "experts")):
        t.add_column(h, justify="right" if h not in ("部门", "department") else "left")
    for dept, e in summary["inspectors_by_department"].items():
        t.add_row(dept, f"{e['total']:,}", f"{e['on_duty']:,}", f"{e['expired']:,}", f"{e['experts']:,}")
    ctx.console.print(t)

    t = Table(title=ctx.t("抽查事项清单：按部门 × 重点/一般", "Items by department × key/general"))
    for h in (ctx.t("部门", "department"), ctx.t("重点", "key"), ctx.t("一般", "general")):
        t.add_column(h, justify="right" if h not in ("部门", "department") else "left")
    for dept, e in summary["items_by_department"].items():
        t.add_row(dept, str(e["key"]), str(e["general"]))
    ctx.console.print(t)


from dbsj.draw.demo_step import draw_step as _draw_step, show_draw as _show_draw  # noqa: E402
from dbsj.rules.demo_step import check_step as _check_step, show_check as _show_check  # noqa: E402
from dbsj.lifecycle.demo_step import (  # noqa: E402
    assess_step as _assess_step, lifecycle_step as _lifecycle_step, show_assess as _show_assess,
    show_lifecycle as _show_lifecycle,
)

#: The demo, in order. Add a feature's step with one line, after the step whose output it needs.
STEPS: list[DemoStep] = [
    DemoStep("pools", "一单两库：从插件导入", "item list and pools from the plug-in", _pools_step, _show_pools),
    DemoStep("summary", "名录库概况", "pool summary", _summary_step, _show_summary),
    DemoStep("draw", "抽取与人员分配（并复核）", "draw and assign (and verify)", _draw_step, _show_draw),
    DemoStep("check", "检查 2023 年度计划（规则包）", "check the 2023 plan (rule packs)", _check_step, _show_check),
    DemoStep("lifecycle", "结果录入、公示与后续处置（模拟全年）", "results, publication, follow-up (simulated year)",
             _lifecycle_step, _show_lifecycle),
    DemoStep("assess", "督查考评与报告 demo/report.html", "assessment and demo/report.html", _assess_step, _show_assess),
]


#: Written into the demo folder: only a folder carrying it is ever emptied by a later run.
MARKER = ".dbsj-demo"


def _fresh_workdir(workdir: Path) -> None:
    """Start from an empty demo folder: a previous demo's store, records and reports go; other folders are refused."""
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).exists():
            raise InputError(f"{workdir} 不是演示目录（缺少 {MARKER}），演示不会清空它",
                             f"{workdir} is not a demo folder (no {MARKER}); the demo will not empty it",
                             hint_zh="用 --workdir 指定一个新目录", hint_en="choose a new folder with --workdir")
        for entry in sorted(workdir.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("dbsj demo folder: emptied by every `dbsj demo` run\n", encoding="utf-8")


def _fresh_db(workdir: Path, db: Path | None) -> Path:
    path = Path(db) if db is not None else workdir / "dbsj.duckdb"
    if path.resolve() == Path("dbsj.duckdb").resolve():
        raise InputError("演示不会使用或覆盖 ./dbsj.duckdb", "the demo never uses or overwrites ./dbsj.duckdb",
                         hint_zh="省略 --db（默认 demo/dbsj.duckdb）或换一个路径",
                         hint_en="omit --db (default demo/dbsj.duckdb) or choose another path")
    for p in (path, path.with_name(path.name + ".wal")):
        if p.exists():
            p.unlink()
    return path


#: The smallest synthetic province on which every task of the example plan has eligible targets.
DEMO_MIN_TARGETS = 1000


def run_demo(workdir: str | os.PathLike[str] = Path("demo"), targets: int = DEMO_TARGETS, seed: str = DEMO_SEED,
             json: bool = False, *, db: str | os.PathLike[str] | None = None,
             steps: list[DemoStep] | None = None) -> dict[str, Any]:
    """Run the demo into a fresh store in ``workdir`` and return every step's summary.

    :param workdir: the demo's folder (store, quarantine files, later records and reports).
    :param targets: how many synthetic market entities (default 2 500 000, a realistic province).
    :param seed: the synthetic data's seed (same seed, same province, byte for byte).
    :param json: print nothing; the caller prints the returned dict.
    :param db: the store file (default ``workdir/dbsj.duckdb``); ``./dbsj.duckdb`` is refused.
    """
    from dbsj.store import Store

    if targets < DEMO_MIN_TARGETS:
        # Below this, some tasks of the example plan (e.g. dangerous-goods carriers) have no eligible target
        # at all, and a draw refuses an empty task rather than silently skipping it.
        raise InputError(f"--targets 至少为 {DEMO_MIN_TARGETS}（示例计划的每个任务都需要有符合条件的检查对象）",
                         f"--targets must be at least {DEMO_MIN_TARGETS} (every task of the example plan needs eligible targets)")
    workdir = Path(workdir)
    if db is not None:
        _fresh_db(workdir, Path(db))  # refuse ./dbsj.duckdb before anything is removed
    _fresh_workdir(workdir)
    path = _fresh_db(workdir, Path(db) if db is not None else None)
    fixed_here = not os.environ.get("DBSJ_NOW") and clock._fixed is None
    if fixed_here:
        clock.set_now(DEMO_NOW)
    console = None
    if not json:
        from rich.console import Console

        console = Console()
    result: dict[str, Any] = {"workdir": str(workdir), "db": str(path), "targets": targets, "seed": seed,
                              "now": clock.now().isoformat(), "order": [], "steps": {}, "seconds": {}}
    try:
        with Store(path) as store:
            ctx = DemoContext(workdir=workdir, db=path, store=store, targets=targets, seed=seed, console=console)
            for step in steps if steps is not None else STEPS:
                started = time.perf_counter()
                if console is not None:
                    with console.status(ctx.t(step.title_zh, step.title_en) + " …"):
                        summary = step.run(ctx)
                else:
                    summary = step.run(ctx)
                result["order"].append(step.name)
                result["steps"][step.name] = summary
                result["seconds"][step.name] = round(time.perf_counter() - started, 2)
                if console is not None:
                    console.rule(f"{ctx.t(step.title_zh, step.title_en)}  ({result['seconds'][step.name]} s)")
                    if step.show is not None:
                        step.show(ctx, summary)
    finally:
        if fixed_here:
            clock.set_now(None)
    return result
