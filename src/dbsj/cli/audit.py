"""``dbsj audit``: recompute everything the ledger binds; check anchors kept outside the store (docs/audit.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from dbsj.errors import get_language


def register(app: typer.Typer) -> None:
    @app.command("audit")
    def audit(
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件 / store file (default DBSJ_DB or ./dbsj.duckdb)"),
        anchor: Optional[list[Path]] = typer.Option(
            None, "--anchor", help="锚点: 抽取记录、公开记录、承诺文件、公告 JSON 或 dbsj ledger head --out 的文件，可重复 / "
                                   "an anchor (draw record, public record, commitment, publication JSON, anchor file); repeatable"),
        more: Optional[list[Path]] = typer.Argument(None, help="更多锚点文件 / more anchor files", show_default=False,
                                                   metavar="ANCHOR..."),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """审计存储: 重算账本绑定的一切，按表和键报告不一致（有发现时退出码 1）/ audit the store against its ledger."""
        from dbsj.audit import audit_store
        from dbsj.store import Store

        anchors = list(anchor or []) + list(more or [])
        with Store(db, read_only=True) as store:
            report = audit_store(store, anchors=anchors)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, sort_keys=True))
        else:
            lang = get_language()
            for f in report.findings:
                typer.echo(f.render(lang))
            for n in report.notes:
                typer.echo(("说明 " if lang == "zh" else "note ") + n.render(lang), err=True)
            for s in report.skipped:
                typer.echo(("未检查 " if lang == "zh" else "not checked ") + s, err=True)
            if lang == "zh":
                typer.echo(f"审计{'通过' if report.ok else '发现 ' + str(len(report.findings)) + ' 处不一致'}: 账本 {report.entries} 条，"
                           f"链头 {report.head[:16]}…，锚点 {report.anchors} 个，检查 {', '.join(report.checked)}")
            else:
                typer.echo(f"audit {'passed' if report.ok else 'found ' + str(len(report.findings)) + ' mismatch(es)'}: "
                           f"{report.entries} ledger entries, head {report.head[:16]}…, {report.anchors} anchor(s), "
                           f"checked {', '.join(report.checked)}")
        if not report.ok:
            raise typer.Exit(1)
