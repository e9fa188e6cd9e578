"""The demo's "draw and assign" step: the 2023 plan drawn on the synthetic province, then verified twice.

A fixed witnessed dice seed (the demo is reproducible; the record says the seed was known before the
commitment), records under ``demo/records/``, every record checked with ``dbsj verify`` and — from the pool
export and the public commitment and record as anchors — with the standard-library verifier.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

__all__ = ["DEMO_DICE", "DEMO_WITNESSES", "example_plan_path", "draw_step", "show_draw"]

#: The demo's witnessed dice string (20 ten-sided dice) and its witnesses (fictional).
DEMO_DICE = "31415926535897932384"
DEMO_WITNESSES = ("监督员甲", "企业代表乙")


def example_plan_path(name: str = "xinjiang-2023") -> Path:
    """``examples/<name>/plan.yaml``: from the wheel's package data, else from the source tree."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "data" / "examples" / name / "plan.yaml", here.parent.parent / "examples" / name / "plan.yaml"):
        if candidate.is_file():
            return candidate
    from dbsj.errors import PlanError

    raise PlanError(f"找不到示例计划 {name}", f"example plan {name} not found", hint_zh="请重新安装 dbsj",
                    hint_en="reinstall dbsj")


def draw_step(ctx: Any) -> dict[str, Any]:
    from dbsj.draw import DiceSeed, draw_plan, export_draw_pool
    from dbsj.draw.verify import verify_records
    from dbsj.models import load_plan
    from dbsj.verifier import verify_files

    plan = load_plan(example_plan_path())
    out = Path(ctx.workdir) / "records"
    started = time.perf_counter()
    run = draw_plan(ctx.store, plan, seed=DiceSeed(DEMO_DICE, DEMO_WITNESSES), out_dir=out)
    draw_s = time.perf_counter() - started
    started = time.perf_counter()
    tasks: dict[str, Any] = {}
    reports = dict(zip(run.records, verify_records(ctx.store, list(run.records.values()))))
    for tid, path in run.records.items():
        report = reports[tid]
        pool = out / "pools" / f"{path.name.removesuffix('.draw.json')}.pool.csv"
        pool.parent.mkdir(parents=True, exist_ok=True)
        export_draw_pool(ctx.store, path, pool)
        stem = path.name.removesuffix(".draw.json")
        anchors = [str(path.with_name(f"{stem}.commit.json")), str(path.with_name(f"{stem}.public.json"))]
        standalone = verify_files(str(path), str(pool), None, anchors)
        t = run.summary["tasks"][tid]
        tasks[tid] = {"name": plan.task(tid).name, "eligible": t["eligible"], "selected": t["selected"],
                      "visits": t["visits"], "short_strata": len(t["short_strata"]),
                      "assignment_shortfalls": t["assignment_shortfalls"], "verified": report.ok,
                      "verified_standalone": not standalone, "record": str(path), "pool": str(pool)}
    ctx.state["draw_run"] = run
    return {"plan": plan.id, "run_id": run.run_id, "seed": {"kind": "dice", "digits": DEMO_DICE,
                                                             "witnesses": list(DEMO_WITNESSES)},
            "tasks": tasks, "ledger_head": run.summary["ledger_head"],
            "seconds": {"draw_and_assign": round(draw_s, 2), "verify": round(time.perf_counter() - started, 2)}}


def show_draw(ctx: Any, summary: dict[str, Any]) -> None:
    from rich.table import Table

    t = Table(title=ctx.t(f"抽取与人员分配（{summary['run_id']}，见证骰子种子 {summary['seed']['digits']}）",
                          f"Draw and assignment ({summary['run_id']}, witnessed dice {summary['seed']['digits']})"))
    for h in (ctx.t("任务", "task"), ctx.t("合格对象", "eligible"), ctx.t("抽中", "selected"), ctx.t("检查", "visits"),
              ctx.t("人员缺口", "shortfalls"), ctx.t("复核", "verify"), ctx.t("独立复核", "standalone")):
        t.add_column(h, justify="right")
    ok, bad = ctx.t("通过", "ok"), ctx.t("未通过", "FAILED")
    for tid, r in summary["tasks"].items():
        t.add_row(f"{tid} {r['name']}", f"{r['eligible']:,}", f"{r['selected']:,}", f"{r['visits']:,}",
                  f"{r['assignment_shortfalls']}", ok if r["verified"] else bad, ok if r["verified_standalone"] else bad)
    ctx.console.print(t)
    ctx.console.print(ctx.t(f"记录: {Path(next(iter(summary['tasks'].values()))['record']).parent}；账本头 {summary['ledger_head'][:16]}…",
                            f"records: {Path(next(iter(summary['tasks'].values()))['record']).parent}; "
                            f"ledger head {summary['ledger_head'][:16]}…"))
