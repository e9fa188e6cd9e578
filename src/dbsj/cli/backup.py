"""``dbsj backup`` and ``dbsj restore``: a checked copy of the store, and a checked way back (docs/architecture.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from dbsj.errors import get_language


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the ``dbsj`` app."""

    @app.command("backup")
    def backup(
        out: Path = typer.Option(..., "--out", help="备份文件（不得已存在）/ backup file (must not exist)"),
        db: Optional[Path] = typer.Option(None, "--db", help="存储文件（默认 DBSJ_DB 或 ./dbsj.duckdb）/ store file"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """备份存储: 检查点后完整读取并校验账本，写出带校验和与账本链头的备份 / back up the store (checkpointed, fully read, checksummed)."""
        from dbsj.store.backup import backup_store
        from dbsj.store.store import default_db_path

        source = db or default_db_path()
        m = backup_store(source, out)
        if as_json:
            typer.echo(json.dumps({"out": str(out), **m.to_dict()}, ensure_ascii=False))
        elif get_language() == "zh":
            typer.echo(f"已备份 {source} 到 {out}: {m.store_bytes} 字节，SHA-256 {m.store_sha256}；"
                       f"账本 {m.ledger_entries} 条，链头 {m.ledger_head}")
        else:
            typer.echo(f"backed up {source} to {out}: {m.store_bytes} bytes, SHA-256 {m.store_sha256}; "
                       f"ledger {m.ledger_entries} entries, head {m.ledger_head}")

    @app.command("restore")
    def restore(
        backup_file: Path = typer.Argument(..., help="dbsj backup 生成的备份文件 / a file made by dbsj backup"),
        db: Optional[Path] = typer.Option(None, "--db", help="要恢复的存储文件（默认 DBSJ_DB 或 ./dbsj.duckdb）/ store to restore"),
        force: bool = typer.Option(False, "--force",
                                   help="替换已存在的存储（原文件改名保留）/ replace an existing store (the old file is kept, renamed)"),
        as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
    ) -> None:
        """从备份恢复存储: 先校验校验和、账本与行数，再替换 / restore the store from a backup, checked before anything is replaced."""
        from dbsj.store.backup import restore_store
        from dbsj.store.store import default_db_path

        r = restore_store(backup_file, db or default_db_path(), force=force)
        if as_json:
            typer.echo(json.dumps(r.to_dict(), ensure_ascii=False))
            return
        zh = get_language() == "zh"
        typer.echo(f"已从 {r.backup} 恢复 {r.db}（备份时间 {r.manifest.created_at}）；账本 {r.ledger_entries} 条，链头 {r.ledger_head}"
                   if zh else
                   f"restored {r.db} from {r.backup} (taken {r.manifest.created_at}); ledger {r.ledger_entries} entries, "
                   f"head {r.ledger_head}")
        if r.replaced:
            typer.echo(f"原存储文件已保留为 {r.replaced}" if zh else f"the previous store file is kept as {r.replaced}", err=True)
