"""The demo's "check the 2023 plan" step: the example plan and its draws against the effective rules."""

from __future__ import annotations

from typing import Any

__all__: list[str] = []

_LISTED = 8


def check_step(ctx: Any) -> dict[str, Any]:
    from dbsj.draw.demo_step import example_plan_path
    from dbsj.errors import get_language
    from dbsj.rules.check import check_plan

    report = check_plan(example_plan_path(), ctx.store)
    s = report.summary
    zh = get_language() == "zh"
    return {
        "plan": s["plan"], "verdict": s["verdict"], "packs": s["packs"], "rules_evaluated": s["rules_evaluated"],
        "errors": s["errors"], "warnings": s["warnings"], "info": s["info"],
        "rules": {rid: {"status": v["status"], "violations": v["violations"], "severity": v["severity"]}
                  for rid, v in s["rules"].items()},
        "findings": [{"rule": f.rule, "severity": f.severity, "message": f.message_zh if zh else f.message_en}
                     for f in report.findings[:_LISTED]],
    }


def show_check(ctx: Any, summary: dict[str, Any]) -> None:
    from rich.table import Table

    t = Table(title=ctx.t(f"计划 {summary['plan']} 的规则检查（规则包 {' → '.join(summary['packs'])}）",
                          f"Rule check of plan {summary['plan']} (packs {' → '.join(summary['packs'])})"))
    for h in (ctx.t("规则", "rule"), ctx.t("级别", "severity"), ctx.t("结果", "result"), ctx.t("问题数", "violations")):
        t.add_column(h, justify="right" if h in ("问题数", "violations") else "left")
    labels = {"pass": ctx.t("通过", "pass"), "fail": ctx.t("未通过", "fail"), "n/a": ctx.t("参数", "parameter"),
              "disabled": ctx.t("停用", "disabled")}
    for rid, v in summary["rules"].items():
        t.add_row(rid, v["severity"], labels.get(v["status"], v["status"]), str(v["violations"]))
    ctx.console.print(t)
    for f in summary["findings"]:
        ctx.console.print(f"[{f['severity']}] {f['message']}", markup=False)
    verdict = ctx.t("通过" if summary["verdict"] == "pass" else "不通过", summary["verdict"].upper())
    ctx.console.print(ctx.t(f"结论: {verdict}（错误 {summary['errors']}，警告 {summary['warnings']}，提示 {summary['info']}）",
                            f"verdict: {verdict} ({summary['errors']} errors, {summary['warnings']} warnings, "
                            f"{summary['info']} info)"))
