"""``dbsj ledger verify``: check the hash chain of a store's ledger; ``dbsj ledger head``: print or keep its head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from dbsj.errors import InputError, VerificationError, get_language


def register(app: typer.Typer) -> None:
    ledger_app = typer.Typer(help="账本 / the hash-chained ledger", no_args_is_help=True)
    app.add_typer(ledger_app, name="ledger")

    @ledger_app.command("verify")
    def verify(
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件 / store file (default DBSJ_DB or ./dbsj.duckdb)"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """校验账本哈希链 / verify the ledger's hash chain (exit 1 at the first break)."""
        from dbsj.store import Ledger, Store

        with Store(db, read_only=True) as store:
            ledger = Ledger(store)
            try:
                count = ledger.verify()
            except VerificationError as exc:
                if as_json:
                    typer.echo(json.dumps({"ok": False, **exc.to_dict()}, ensure_ascii=False))
                else:
                    typer.echo(str(exc), err=True)
                raise typer.Exit(1) from None
            head = ledger.head()
        if as_json:
            typer.echo(json.dumps({"ok": True, "entries": count, "head": head}, ensure_ascii=False))
        elif get_language() == "zh":
            typer.echo(f"账本完整: {count} 条，链头 {head}")
        else:
            typer.echo(f"ledger intact: {count} entries, head {head}")

    @ledger_app.command("head")
    def head(
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件 / store file (default DBSJ_DB or ./dbsj.duckdb)"),
        out: Optional[Path] = typer.Option(None, "--out", help="把链头写成锚点文件（不覆盖）/ keep the head as an anchor file"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """打印账本链头，或保存为锚点（dbsj audit --anchor）/ print the ledger head, or keep it as an anchor."""
        from dbsj.store import Ledger, Store

        with Store(db, read_only=True) as store:
            anchor = Ledger(store).anchor()
        if out is not None:
            text = json.dumps(anchor, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
            try:
                with out.open("x", encoding="utf-8") as fh:
                    fh.write(text)
            except FileExistsError:
                raise InputError(f"锚点文件已存在，拒绝覆盖: {out}", f"anchor file already exists, not overwritten: {out}",
                                 where=str(out), hint_zh="换一个文件名", hint_en="choose another file name") from None
            except OSError as exc:
                raise InputError(f"无法写入锚点文件 {out}: {exc.strerror or exc}",
                                 f"cannot write the anchor file {out}: {exc.strerror or exc}", where=str(out)) from None
        if as_json:
            typer.echo(json.dumps(anchor, ensure_ascii=False, sort_keys=True))
        elif get_language() == "zh":
            typer.echo(f"账本链头: 第 {anchor['seq']} 条 {anchor['head']}" + (f"（已保存到 {out}）" if out else ""))
        else:
            typer.echo(f"ledger head: entry #{anchor['seq']} {anchor['head']}" + (f" (kept in {out})" if out else ""))
