"""``dbsj ledger verify``: check the hash chain of a store's ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from dbsj.errors import VerificationError, get_language


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
