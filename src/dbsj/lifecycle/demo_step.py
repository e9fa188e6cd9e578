"""The demo's steps after the draw: a simulated year of results and publications, follow-up, assessment, report.

The demo's clock stands at the draw (the plan year's spring); these steps run the rest of the year: the
clock is moved to the plan year's last day while they run and put back afterwards. Publications go to
``demo/publication/``, the report to ``demo/report.html``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dbsj import clock

__all__: list[str] = []  # internal: steps of dbsj.demo

#: The day the demo's year ends (results, publication and assessment are as of this day).
YEAR_END = dt.date(2023, 12, 29)


@contextlib.contextmanager
def _year_end() -> Iterator[None]:
    saved = clock._fixed
    clock.set_now(dt.datetime(YEAR_END.year, YEAR_END.month, YEAR_END.day, 17, 0, tzinfo=clock.BEIJING))
    try:
        yield
    finally:
        clock.set_now(saved)


def lifecycle_step(ctx: Any) -> dict[str, Any]:
    """Simulated results (some late, some with problems, a few targets not inspected), publication rounds,
    review of the finished tasks, follow-up."""
    from dbsj.lifecycle.followup import run_followup
    from dbsj.lifecycle.simulate import simulate_lifecycle
    from dbsj.lifecycle.states import advance_task, task_status

    out = Path(ctx.workdir) / "publication"
    with _year_end():
        sim = simulate_lifecycle(ctx.store, out, seed=str(ctx.seed), until=YEAR_END)
        for row in task_status(ctx.store):
            if row["state"] == "results_entered":
                advance_task(ctx.store, row["task_id"], "reviewed", actor="演示审核人")
        status = task_status(ctx.store)
        raised = run_followup(ctx.store)
    kinds: dict[str, int] = {}
    for r in raised:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    batches = ctx.store.execute(
        "SELECT notice_title, entries FROM publications ORDER BY authority, year, number").fetchall()
    return {"simulated": sim, "publication_dir": str(out),
            "notices": [{"notice": t, "entries": int(n)} for t, n in batches],
            "tasks": {r["task_id"]: {"name": r["name"], "state": r["state"], "state_zh": r["state_zh"],
                                     "selected": r["selected"], "with_results": r["with_results"],
                                     "published": r["published"]} for r in status},
            "followups": kinds, "as_of": YEAR_END.isoformat()}


def show_lifecycle(ctx: Any, summary: dict[str, Any]) -> None:
    from rich.table import Table

    s = summary["simulated"]
    ctx.console.print(ctx.t(
        f"模拟检查 {s['visits']:,} 户、结果 {s['entries']:,} 条；公告 {s['batches']} 期、公示 {s['published_entries']:,} 条"
        f"（{summary['publication_dir']}）",
        f"simulated {s['visits']:,} visits, {s['entries']:,} result entries; {s['batches']} notices, "
        f"{s['published_entries']:,} entries published ({summary['publication_dir']})"))
    t = Table(title=ctx.t(f"任务状态（截至 {summary['as_of']}）", f"Task states (as of {summary['as_of']})"))
    for h in (ctx.t("任务", "task"), ctx.t("状态", "state"), ctx.t("抽中", "drawn"), ctx.t("已检查", "inspected"),
              ctx.t("已公示条数", "published")):
        t.add_column(h, justify="right")
    for tid, r in summary["tasks"].items():
        t.add_row(f"{tid} {r['name']}", r["state_zh"] if ctx.t("zh", "en") == "zh" else r["state"],
                  f"{r['selected']:,}", f"{r['with_results']:,}", f"{r['published']:,}")
    ctx.console.print(t)
    names = {"disposition": ctx.t("转部门处置", "dispositions"), "overdue": ctx.t("超期未公示预警", "overdue alerts"),
             "directed": ctx.t("D类列入定向抽查", "D-class flagged")}
    ctx.console.print("；".join(f"{names.get(k, k)} {v:,}" for k, v in sorted(summary["followups"].items())) or "—")


def assess_step(ctx: Any) -> dict[str, Any]:
    """督查考评 as of the year's end, and the self-contained HTML report ``demo/report.html``."""
    from dbsj.assess import assess, write_report

    with _year_end():
        data = assess(ctx.store)
        path = write_report(ctx.store, Path(ctx.workdir) / "report.html")
    return {"overall": data["overall"], "departments": data["departments"], "prefectures": data["prefectures"],
            "timeliness": {k: v for k, v in data["timeliness"].items() if k != "by_month"}, "report": str(path)}


def show_assess(ctx: Any, summary: dict[str, Any]) -> None:
    from rich.table import Table

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v * 100:.1f}%"

    t = Table(title=ctx.t("督查考评（按地州）", "Assessment by prefecture"))
    for h in (ctx.t("地州", "prefecture"), ctx.t("抽取", "drawn"), ctx.t("完成率", "completion"),
              ctx.t("按时公示", "on time"), ctx.t("问题检出率", "detection"), ctx.t("信用关联", "credit-linked")):
        t.add_column(h, justify="right")
    for r in [{"name": ctx.t("全区", "region"), **summary["overall"]}, *summary["prefectures"]]:
        t.add_row(r["name"], f"{r['drawn']:,}", pct(r["completion"]), pct(r["on_time"]), pct(r["detection_rate"]),
                  pct(r["credit_linked_share"]))
    ctx.console.print(t)
    ctx.console.print(ctx.t(f"报告: {summary['report']}", f"report: {summary['report']}"))
