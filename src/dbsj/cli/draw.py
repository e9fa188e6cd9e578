"""``dbsj draw``, ``dbsj draw commit``, ``dbsj draw reveal``, ``dbsj verify``, ``dbsj sample``.

A thin shell over :mod:`dbsj.draw` (docs/draws.md). Exit codes: 0 done; 1 verification failed or the
assignment fell short; 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from dbsj.errors import InputError, get_language


_ALG = "dbsj-sha256-bottomk/2"
_ALG_HELP = ("抽取算法: dbsj-sha256-bottomk/2（默认，封存密钥）或 dbsj-sha256-bottomk/1（仅兼容与测试）/ "
             "draw algorithm: /2 (default, sealed) or /1 (compatibility and tests only)")


def _zh() -> bool:
    return get_language() == "zh"


def _store(db: Optional[Path], *, read_only: bool = False):  # noqa: ANN202
    from dbsj.store import Store, default_db_path

    return Store(db or default_db_path(), read_only=read_only)


def _print_run(run: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(run.summary, ensure_ascii=False, sort_keys=True))
        return
    s = run.summary
    for w in s.get("check_warnings") or ():
        typer.echo(("警告：" + w["message_zh"]) if _zh() else ("warning: " + w["message_en"]), err=True)
    if s.get("status") == "committed":
        typer.echo((f"已承诺 {s['run_id']}（随机源: {s['seed_protocol']['kind']}）" if _zh()
                    else f"committed {s['run_id']} (seed protocol: {s['seed_protocol']['kind']})"))
        files = s.get("commitments") or {}
        for tid, did in s["draws"].items():
            typer.echo(f"  {tid}: {did}" + (f" → {files[tid]}" if tid in files else ""))
        proto = s["seed_protocol"]
        if proto["kind"] == "beacon":
            typer.echo((f"  使用信标 {proto['chain']} 第 {proto['round']} 轮（{proto['round_time']} 发布）" if _zh()
                        else f"  beacon {proto['chain']} round {proto['round']} (published {proto['round_time']})"))
        if files:
            typer.echo("  在种子产生之前公布上述 .commit.json 文件" if _zh()
                       else "  publish the .commit.json files above before the seed exists")
        return
    typer.echo((f"抽取完成 {s['run_id']}（种子: {s['seed_kind']}" + ("，承诺前已知" if s["known_before_commitment"] else "") + "）")
               if _zh() else
               (f"drawn {s['run_id']} (seed: {s['seed_kind']}" + (", known before the commitment" if s["known_before_commitment"] else "") + ")"))
    for tid, t in s["tasks"].items():
        line = (f"  {tid}: 合格 {t['eligible']}，抽中 {t['selected']}，检查 {t['visits']} 次" if _zh()
                else f"  {tid}: eligible {t['eligible']}, selected {t['selected']}, visits {t['visits']}")
        if t["short_strata"]:
            line += (f"，不足额分层 {len(t['short_strata'])} 个（全部抽取）" if _zh()
                     else f", {len(t['short_strata'])} short strata (all taken)")
        if t["assignment_shortfalls"]:
            line += (f"，人员缺口 {t['assignment_shortfalls']} 处" if _zh() else f", {t['assignment_shortfalls']} staffing shortfalls")
        typer.echo(line + (f" → {t['record']}" if t["record"] else ""))
    confidential = [tid for tid, t in s["tasks"].items() if t.get("confidential") and t.get("record")]
    if any(t.get("record") for t in s["tasks"].values()):
        typer.echo(("可公布: 各任务的 .public.json 与 .commit.json；" if _zh() else
                    "publish: each task's .public.json and .commit.json; ") +
                   ((f"仅交审计方（涉及信用风险分类等保密字段）: {', '.join(confidential)} 的 .draw.json 与对象集合导出"
                     if _zh() else f"hand to auditors only (confidential fields such as credit class): the .draw.json "
                                   f"and pool export of {', '.join(confidential)}") if confidential else
                    ("各任务均不涉及保密字段，.draw.json 与对象集合导出也可公布" if _zh()
                     else "no task uses a confidential field: the .draw.json and pool exports may be published too")))


def _exit_for(run: Any) -> None:
    if run.summary.get("assignment_complete") is False:
        raise SystemExit(1)


def _load_plan(plan: Path):  # noqa: ANN202
    from dbsj.models import load_plan

    return load_plan(plan)


def register(app: typer.Typer) -> None:
    """Add ``draw`` (with ``commit`` and ``reveal``), ``verify`` and ``sample`` to the ``dbsj`` app."""
    draw = typer.Typer(help="可验证抽取: 先承诺后随机 / verifiable draws: commit, then chance",
                       invoke_without_command=True)
    app.add_typer(draw, name="draw")

    @draw.callback()
    def draw_(
        ctx: typer.Context,
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件 / store file"),
        plan: Optional[Path] = typer.Option(None, "--plan", help="计划 YAML / plan YAML"),
        task: list[str] = typer.Option([], "--task", help="任务编号（可重复，默认全部）/ task id, repeatable (default: all)"),
        seed: Optional[str] = typer.Option(None, "--seed", help="一次性种子（演示/测试，记录注明承诺前已知）/ one-shot seed"),
        dice: Optional[str] = typer.Option(None, "--dice", help="见证下掷出的骰子数字串（一次性）/ witnessed dice digits, one-shot"),
        witness: list[str] = typer.Option([], "--witness", help="见证人（可重复）/ witness, repeatable"),
        out: Optional[Path] = typer.Option(None, "--out", help="记录输出目录 / directory for the records"),
        repeat_window: Optional[int] = typer.Option(None, "--repeat-window",
                                                    help="防重复检查天数（0 关闭；默认取规则 frequency.same-item-yearly）/ anti-repeat days"),
        algorithm: str = typer.Option(_ALG, "--algorithm", help=_ALG_HELP),
        override_check: Optional[str] = typer.Option(None, "--override-check",
                                                     help="计划检查有错误时仍抽取的理由（写入承诺与账本）/ draw despite check errors, for this reason"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """一次性抽取并分配人员，每个任务写出 <任务>.draw.json / draw and assign in one go."""
        if ctx.invoked_subcommand is not None:
            return
        from dbsj.draw import DiceSeed, DrawOptions, draw_plan

        if plan is None or out is None or (seed is None) == (dice is None):
            raise InputError("需要 --plan、--out，以及 --seed 或 --dice 之一（受保护的抽取请用 draw commit / draw reveal）",
                             "need --plan, --out and one of --seed or --dice (for a protected draw use draw commit / draw reveal)")
        the_seed = DiceSeed(dice, tuple(witness)) if dice is not None else seed
        p = _load_plan(plan)
        with _store(db) as store:
            run = draw_plan(store, p, seed=the_seed, task_ids=task or None, out_dir=out,
                            options=DrawOptions(repeat_window_days=repeat_window, algorithm=algorithm),
                            override_check=override_check)
        _print_run(run, as_json)
        _exit_for(run)

    @draw.command("commit")
    def commit(
        plan: Path = typer.Option(..., "--plan", help="计划 YAML / plan YAML"),
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件 / store file"),
        task: list[str] = typer.Option([], "--task", help="任务编号（可重复）/ task id, repeatable"),
        seed_kind: str = typer.Option("beacon", "--seed-kind", help="beacon | shares | dice"),
        chain: str = typer.Option("mainnet", "--beacon-chain", help="drand 链 / drand chain: mainnet | quicknet"),
        round_no: Optional[int] = typer.Option(None, "--beacon-round", help="约定的信标轮次（默认一分钟后的首轮）/ committed round"),
        share_commit: list[str] = typer.Option([], "--share-commit", help="部门=份额SHA-256（可重复）/ DEPT=SHA256, repeatable"),
        out: Optional[Path] = typer.Option(None, "--out", help="公布承诺的目录 / directory to publish <task>.commit.json"),
        repeat_window: Optional[int] = typer.Option(None, "--repeat-window", help="防重复检查天数 / anti-repeat days"),
        algorithm: str = typer.Option(_ALG, "--algorithm", help=_ALG_HELP),
        override_check: Optional[str] = typer.Option(None, "--override-check",
                                                     help="计划检查有错误时仍抽取的理由（写入承诺与账本）/ draw despite check errors, for this reason"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """承诺: 固定合格对象集合、封存密钥与全部参数，记入账本 / commit to the eligible sets, seal and parameters."""
        from dbsj.draw import DrawOptions, commit_draw

        commits = {}
        for pair in share_commit:
            dept, sep, digest = pair.partition("=")
            if not sep:
                raise InputError(f"--share-commit 应为 部门=哈希: {pair!r}", f"--share-commit must be DEPT=SHA256: {pair!r}")
            commits[dept.strip()] = digest.strip().lower()
        p = _load_plan(plan)
        with _store(db) as store:
            run = commit_draw(store, p, task or None, seed_kind=seed_kind, beacon_chain=chain, beacon_round=round_no,
                              share_commitments=commits or None, out_dir=out,
                              options=DrawOptions(repeat_window_days=repeat_window, algorithm=algorithm),
                              override_check=override_check)
        _print_run(run, as_json)

    @draw.command("reveal")
    def reveal(
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件 / store file"),
        run_id: Optional[str] = typer.Option(None, "--run", help="抽取批次（默认唯一待揭示者）/ run id"),
        seed: Optional[str] = typer.Option(None, "--seed", help="承诺后见证掷出的骰子数字串 / witnessed dice digits"),
        witness: list[str] = typer.Option([], "--witness", help="见证人（可重复）/ witness, repeatable"),
        beacon: Optional[Path] = typer.Option(None, "--beacon", help="信标轮次 JSON 文件 / beacon round JSON"),
        shares: Optional[Path] = typer.Option(None, "--shares", help="部门份额 JSON 文件 / departments' shares JSON"),
        out: Path = typer.Option(..., "--out", help="记录输出目录 / directory for the records"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """揭示: 用约定的随机源完成抽取与人员分配 / reveal: apply the committed kind of seed."""
        from dbsj.draw import DiceSeed, reveal_draw
        from dbsj.draw.seeds import load_beacon_file, load_shares_file

        given = [x for x in (seed, beacon, shares) if x is not None]
        if len(given) != 1:
            raise InputError("需要 --seed、--beacon、--shares 之一", "give exactly one of --seed, --beacon, --shares")
        the_seed = (DiceSeed(seed, tuple(witness)) if seed is not None else
                    load_beacon_file(beacon) if beacon is not None else load_shares_file(shares))
        with _store(db) as store:
            run = reveal_draw(store, the_seed, run_id=run_id, out_dir=out)
        _print_run(run, as_json)
        _exit_for(run)

    @app.command("verify")
    def verify(
        record: Path = typer.Argument(..., help="抽取记录 <任务>.draw.json 或 <任务>.public.json / draw record"),
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件 / store file"),
        anchor: list[Path] = typer.Option([], "--anchor",
                                          help="先前公布的 <任务>.commit.json 或 <任务>.public.json（可重复）/ "
                                               "a file published earlier, repeatable"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """复核抽取记录: 记录绑定的每个字段，并由存储重新推导 / check a draw record, and re-derive it from the store."""
        from dbsj.draw import verify_record

        with _store(db, read_only=True) as store:
            report = verify_record(store, record, anchors=anchor)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        elif report.ok:
            typer.echo(f"验证通过: {report.draw_id}（{'、'.join(report.checked)}）" if _zh()
                       else f"verified: {report.draw_id} ({', '.join(report.checked)})")
        else:
            typer.echo(f"验证未通过: {report.draw_id}" if _zh() else f"NOT verified: {report.draw_id}")
            for d in report.differences:
                typer.echo(f"  - {d}")
        if not as_json:
            for w in report.warnings:
                typer.echo(f"  ! {w}")
        if not report.ok:
            raise SystemExit(1)

    @app.command("sample")
    def sample(
        ids: list[str] = typer.Argument(None, help="编号 / ids"),
        algorithm: str = typer.Option("dbsj-sha256-bottomk/1", "--algorithm",
                                      help="dbsj-sha256-bottomk/1 | rivest-consistent-2018"),
        seed: str = typer.Option(..., "--seed", help="种子 / seed"),
        take: Optional[int] = typer.Option(None, "--take", help="抽取数量（默认全部排序）/ how many (default: order all)"),
        ids_file: Optional[Path] = typer.Option(None, "--ids-file", help="每行一个编号的文件 / file with one id per line"),
        as_json: bool = typer.Option(False, "--json", help='JSON: [{"id","ticket"}, …]'),
    ) -> None:
        """对任意编号列表抽样，按抽取顺序输出 / sample any list of ids, in draw order."""
        from dbsj.draw import sample_ids

        all_ids = list(ids or [])
        if ids_file is not None:
            try:
                text = ids_file.read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise InputError(f"无法读取编号文件: {exc}", f"cannot read ids file: {exc}", where=str(ids_file)) from None
            all_ids += [line.rstrip("\r\n") for line in text.splitlines() if line.strip()]
        if not all_ids:
            raise InputError("没有给出编号", "no ids given", hint_zh="在命令后列出编号或用 --ids-file",
                             hint_en="list ids after the command or use --ids-file")
        rows = sample_ids(all_ids, seed=seed, take=take, algorithm=algorithm)
        if as_json:
            typer.echo(json.dumps(rows, ensure_ascii=False))
        else:
            for n, r in enumerate(rows, start=1):
                typer.echo(f"{n}\t{r['id']}\t{r['ticket']}")
