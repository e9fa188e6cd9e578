"""``dbsj pool``: import, pull and export the item list and the pools (a thin shell over :mod:`dbsj.intake`).

Exit codes: 0 done; 1 done, but rows were quarantined (findings: see the quarantine file); 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from dbsj.errors import InputError, get_language

KINDS = "items|targets|inspectors|history"


def _store(db: Optional[Path], *, read_only: bool = False):  # noqa: ANN202
    from dbsj.store import Store, default_db_path

    return Store(db or default_db_path(), read_only=read_only)


def _options(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option 应为 key=value 形式: {p!r}", f"--option must look like key=value: {p!r}")
        out[key.strip()] = value
    return out


def _print_report(report, as_json: bool) -> None:  # noqa: ANN001
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        zh = get_language() == "zh"
        r = report
        line = (f"{r.kind}: 读取 {r.read}，接受 {r.accepted}，隔离 {r.quarantined}，规范化 {r.normalised}；"
                f"新增 {r.inserted}，更新 {r.updated}，未变 {r.unchanged}，停用 {r.deactivated}（编码 {r.encoding or '-'}）"
                if zh else
                f"{r.kind}: read {r.read}, accepted {r.accepted}, quarantined {r.quarantined}, normalised {r.normalised}; "
                f"inserted {r.inserted}, updated {r.updated}, unchanged {r.unchanged}, deactivated {r.deactivated} "
                f"(encoding {r.encoding or '-'})")
        typer.echo(line)
        if r.unknown_columns:
            cols = "、".join(r.unknown_columns) if zh else ", ".join(r.unknown_columns)
            typer.echo(f"未识别的列（已忽略）: {cols}" if zh else f"unrecognised columns (ignored): {cols}", err=True)
        if r.quarantine_file:
            typer.echo(f"隔离文件（修改后可重新导入）: {r.quarantine_file}" if zh
                       else f"quarantine file (fix and re-import): {r.quarantine_file}", err=True)
    if report.quarantined:
        raise typer.Exit(1)  # findings


def register(app: typer.Typer) -> None:
    """Add the ``pool`` command group to the ``dbsj`` app."""
    pool = typer.Typer(help="一单两库: 导入、拉取、导出 / item list and pools: import, pull, export",
                       no_args_is_help=True)
    app.add_typer(pool, name="pool")

    @pool.command("import")
    def import_(
        kind: str = typer.Argument(..., help=f"名录库 / pool: {KINDS}"),
        file: Path = typer.Argument(..., help="CSV（UTF-8、GBK 自动识别）或 XLSX / CSV (encoding detected) or XLSX"),
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件（默认 DBSJ_DB 或 ./dbsj.duckdb）/ store file"),
        snapshot: bool = typer.Option(False, "--snapshot", help="文件即全量: 停用文件中没有的行 / file is the whole pool"),
        quarantine_dir: Optional[Path] = typer.Option(None, "--quarantine-dir",
                                                      help="隔离文件目录（默认与文件同目录）/ where the quarantine CSV goes"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """导入名录库文件（按自然键更新，记录变更）/ import a pool file (upsert by natural key, changes recorded)."""
        from dbsj.intake import import_pool

        with _store(db) as store:
            report = import_pool(store, kind, file, snapshot=snapshot, quarantine_dir=quarantine_dir,
                                 progress=sys.stderr.isatty() and not as_json)
        _print_report(report, as_json)

    @pool.command("pull")
    def pull(
        kind: str = typer.Argument(..., help="名录库 / pool: items|targets|inspectors"),
        plugin: str = typer.Option(..., "--plugin", help="插件名 / plug-in name"),
        option: list[str] = typer.Option([], "--option", help="插件选项 key=value（可重复）/ plug-in option, repeatable"),
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件 / store file"),
        snapshot: bool = typer.Option(False, "--snapshot", help="插件数据即全量 / the plug-in's data is the whole pool"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """从插件拉取名录库 / pull a pool from a plug-in."""
        from dbsj.intake import pull_pool

        with _store(db) as store:
            report = pull_pool(store, kind, plugin, _options(option), snapshot=snapshot)
        _print_report(report, as_json)

    @pool.command("export")
    def export(
        kind: Optional[str] = typer.Argument(None, help=f"名录库 / pool: {KINDS}"),
        out: Path = typer.Option(..., "--out", help="输出 CSV / output CSV"),
        headers: str = typer.Option("en", "--headers", help="表头 en（规范英文名）或 zh（中文）/ header language"),
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件 / store file"),
        record: Optional[Path] = typer.Option(None, "--record",
                                              help="导出该抽取记录所用的合格对象集合（id,stratum）/ the eligible pool a draw record used"),
        inspectors: bool = typer.Option(False, "--inspectors",
                                        help="与 --record 一起: 导出该批次人员分配的输入快照（JSON，仅供审计）"
                                             " / with --record: the run's assignment inputs (JSON, auditors only)"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """导出名录库为规范 CSV（UTF-8 BOM，可重新导入）/ export a pool as canonical CSV (re-importable)."""
        from dbsj.intake import export_pool

        if inspectors:
            from dbsj.draw.assignment_inputs import export_inspectors

            if record is None or kind is not None:
                raise InputError("--inspectors 需要 --record，且不能同时给出名录库类型",
                                 "--inspectors needs --record and no pool kind")
            with _store(db, read_only=True) as store:
                done = export_inspectors(store, record, out)
            if as_json:
                typer.echo(json.dumps({"record": str(record), **done}, ensure_ascii=False))
            else:
                n = done["rows"]["inspectors"]
                typer.echo(f"已导出批次 {done['run_id']} 的人员分配输入快照（{n} 名人员，仅供审计）到 {out}"
                           if get_language() == "zh" else
                           f"exported the assignment inputs of run {done['run_id']} ({n} inspectors; auditors only) "
                           f"to {out}")
            return
        if record is not None:
            from dbsj.draw import export_draw_pool

            if kind is not None:
                raise InputError("--record 与名录库类型只能二选一", "give either a pool kind or --record, not both")
            with _store(db, read_only=True) as store:
                rows = export_draw_pool(store, record, out)
            if as_json:
                typer.echo(json.dumps({"record": str(record), "rows": rows, "out": str(out)}, ensure_ascii=False))
            else:
                typer.echo(f"已导出抽取所用的合格对象 {rows} 行到 {out}" if get_language() == "zh"
                           else f"exported the draw's eligible pool, {rows} rows, to {out}")
            return
        if kind is None:
            raise InputError("请指定名录库类型（items、targets、inspectors、history）",
                             "name the pool to export (items, targets, inspectors, history)")
        with _store(db, read_only=True) as store:
            rows = export_pool(store, kind, out, headers=headers)
        if as_json:
            typer.echo(json.dumps({"kind": kind, "rows": rows, "out": str(out)}, ensure_ascii=False))
        else:
            typer.echo(f"已导出 {rows} 行到 {out}" if get_language() == "zh" else f"exported {rows} rows to {out}")
