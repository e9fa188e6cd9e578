"""``dbsj check`` and ``dbsj rules``: check a plan against the effective rules; list and print the rules.

A thin shell over :func:`dbsj.check_plan` and :func:`dbsj.load_rules`. Exit codes: 0 no error finding,
1 at least one finding of severity ``error``, 2 bad input (a malformed plan or rule pack, a missing store).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from dbsj.errors import get_language

_SEV_ZH = {"error": "错误", "warning": "警告", "info": "提示"}


def _print_check(report, as_json: bool) -> None:  # noqa: ANN001
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, sort_keys=False))
        return
    zh = get_language() == "zh"
    s = report.summary
    for f in report.findings:
        label = _SEV_ZH.get(f.severity, f.severity) if zh else f.severity
        typer.echo(f"[{label}] {f.rule}: {f.message}")
    shown = len(report.findings)
    total = s["errors"] + s["warnings"] + s["info"]
    if total > shown:
        typer.echo(f"（另有 {total - shown} 条未列出，见 --json 的 summary）" if zh
                   else f"({total - shown} more not listed; see summary in --json)")
    verdict = ("通过" if s["verdict"] == "pass" else "不通过") if zh else s["verdict"].upper()
    packs = " → ".join(s["packs"])
    typer.echo(f"结论: {verdict} — 计划 {s['plan']}，{s['tasks']} 个任务，规则包 {packs}，评估规则 {s['rules_evaluated']} 条；"
               f"错误 {s['errors']}，警告 {s['warnings']}，提示 {s['info']}" if zh else
               f"verdict: {verdict} — plan {s['plan']}, {s['tasks']} tasks, packs {packs}, {s['rules_evaluated']} rules "
               f"evaluated; {s['errors']} errors, {s['warnings']} warnings, {s['info']} info")
    for note in s.get("notes", []):
        typer.echo(("注意: " if zh else "note: ") + note, err=True)


def register(app: typer.Typer) -> None:
    """Add ``check`` and the ``rules`` group to the ``dbsj`` app."""

    @app.command("check")
    def check(
        plan: Path = typer.Option(..., "--plan", help="计划文件 plan.yaml / plan file"),
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件（默认 DBSJ_DB 或 ./dbsj.duckdb）/ store file"),
        rules: list[Path] = typer.Option([], "--rules", help="附加规则包目录，可重复 / extra rule pack folder (repeatable)"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """按生效规则检查计划（及库中已有的抽取与结果）/ check a plan (and its draws and results) against the rules."""
        from dbsj.models import load_plan
        from dbsj.rules import check_plan
        from dbsj.store import Store, default_db_path

        the_plan = load_plan(plan)  # the packs it names load with the national one (docs/rules.md)
        with Store(db or default_db_path(), read_only=True) as store:
            report = check_plan(the_plan, store, rule_dirs=rules or None, plan_path=plan)
        _print_check(report, as_json)
        if not report.ok:
            raise typer.Exit(1)

    group = typer.Typer(help="规则包: 列出、打印、决策表 / rule packs: list, show, decide", no_args_is_help=True)
    app.add_typer(group, name="rules")

    @group.command("list")
    def list_(
        rules: list[Path] = typer.Option([], "--rules", help="附加规则包目录，可重复 / extra rule pack folder"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """列出生效规则（id、类型、来源）/ list the effective rules with ids and sources."""
        from dbsj.rules import load_rules

        ruleset = load_rules(rules)
        if as_json:
            typer.echo(json.dumps(ruleset.to_dict(), ensure_ascii=False))
            return
        zh = get_language() == "zh"
        typer.echo(("规则包: " if zh else "packs: ") + " → ".join(p.id for p in ruleset.packs))
        for r in ruleset:
            name = r.rule.name if zh else (r.rule.name_en or r.rule.name)
            flag = "" if r.rule.enabled else (" [停用]" if zh else " [disabled]")
            over = f" (覆盖 {', '.join(r.overrides)})" if zh and r.overrides else (
                f" (overrides {', '.join(r.overrides)})" if r.overrides else "")
            typer.echo(f"{r.id:<30} {r.kind:<9} {r.rule.severity:<7} {name}{flag}  [{r.pack} {r.where}]{over}")

    @group.command("show")
    def show(
        rules: list[Path] = typer.Option([], "--rules", help="附加规则包目录，可重复 / extra rule pack folder"),
    ) -> None:
        """以 YAML 打印生效规则集（含每条规则的出处）/ print the effective rule set as YAML, with each rule's origin."""
        from dbsj.rules import load_rules

        typer.echo(load_rules(rules).to_yaml(), nl=False)

    @group.command("decide")
    def decide(
        table: str = typer.Argument(..., help="决策表 id，如 ratio.daqing / decision table id"),
        inputs: list[str] = typer.Argument(None, help="输入 name=value，如 credit_class=D / inputs"),
        rules: list[Path] = typer.Option([], "--rules", help="附加规则包目录，可重复 / extra rule pack folder"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """对一组输入求决策表结果，并显示命中轨迹 / evaluate a decision table and show which row fired."""
        from dbsj.errors import InputError
        from dbsj.rules import load_rules

        values: dict[str, str] = {}
        for pair in inputs or []:
            key, sep, value = pair.partition("=")
            if not sep:
                raise InputError(f"输入应为 name=value 形式: {pair!r}", f"an input must look like name=value: {pair!r}")
            values[key.strip()] = value.strip()
        decision = load_rules(rules).decide(table, **values)
        if as_json:
            typer.echo(json.dumps(decision.to_dict(), ensure_ascii=False))
            return
        zh = get_language() == "zh"
        for row, matched in decision.trace:
            typer.echo(f"  {'第' if zh else 'row '}{row}{'行' if zh else ''}: {'命中' if zh and matched else ('未命中' if zh else ('match' if matched else 'no match'))}")
        if decision.row is None:
            typer.echo("没有命中的行" if zh else "no row fired")
            raise typer.Exit(1)
        ratio = decision.ratio.model_dump(exclude_none=True) if decision.ratio is not None else None
        typer.echo((f"命中第 {decision.row} 行: 比例 {ratio}，频次 {decision.frequency or '—'}" if zh else
                    f"row {decision.row} fired: ratio {ratio}, frequency {decision.frequency or '-'}"))
