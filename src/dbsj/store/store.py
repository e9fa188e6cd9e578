"""The embedded store: one DuckDB file holding pools, plans, draws, results and the ledger.

DuckDB allows one writing process per file. Opening a file another process holds raises
:class:`~dbsj.errors.StoreError` saying so. Only DuckDB's built-in extensions are used (offline, design §9).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from dbsj import clock
from dbsj.errors import StoreError
from dbsj.store.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["Store", "default_db_path"]


def default_db_path() -> Path:
    """``DBSJ_DB`` if set, else ``./dbsj.duckdb``."""
    return Path(os.environ.get("DBSJ_DB", "dbsj.duckdb"))


class Store:
    """An open store. Use as a context manager, or call :meth:`close`.

    ``Store(path)`` creates the file and schema when missing and migrates an older one.
    ``Store(":memory:")`` gives a throwaway store (tests, examples).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        target = str(path) if str(path) == ":memory:" else str(self.path)
        if read_only and target != ":memory:" and not self.path.exists():
            raise StoreError(f"存储文件不存在: {self.path}", f"store file not found: {self.path}",
                             hint_zh="先用 dbsj pool import 或 dbsj demo 建库", hint_en="create it with dbsj pool import or dbsj demo")
        if target != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Offline by design: never let DuckDB fetch an extension.
            self.con = duckdb.connect(target, read_only=read_only,
                                      config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"存储文件 {self.path} 正被另一个进程写入（DuckDB 只允许一个写进程）",
                    f"store {self.path} is locked by another process (DuckDB allows one writing process)",
                    hint_zh="等待该进程结束，或使用 --db 指定另一个文件",
                    hint_en="wait for that process to finish, or use --db for another file",
                ) from None
            raise StoreError(f"无法打开存储文件 {self.path}: {exc}", f"cannot open store {self.path}: {exc}") from None
        self.con.execute("SET TimeZone = 'Asia/Shanghai'")
        self._tx_depth = 0
        self.read_only = read_only
        if not read_only:
            self._migrate()
            from dbsj.store.outputs import roll_forward
            from dbsj.store.steps import recover_steps

            roll_forward(self)
            recover_steps(self)
        else:
            self._check_version()

    # -- schema -----------------------------------------------------------------------------------
    def _current_version(self) -> int:
        exists = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'").fetchone()[0]
        if not exists:
            return 0
        row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _check_version(self) -> int:
        version = self._current_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"存储文件 {self.path} 的结构版本为 {version}，高于本程序支持的 {SCHEMA_VERSION}",
                f"store {self.path} has schema version {version}, newer than this dbsj supports ({SCHEMA_VERSION})",
                hint_zh="请升级 dbsj", hint_en="upgrade dbsj")
        return version

    def _migrate(self) -> None:
        version = self._check_version()
        if version == SCHEMA_VERSION:
            return
        self.con.execute("BEGIN")
        try:
            self.con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            for number, _desc, ddl in MIGRATIONS:
                if number > version:
                    self.con.execute(ddl)
            self.con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        return self._current_version()

    # -- transactions -----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator["Store"]:
        """One atomic step: everything written inside commits together or not at all.

        Nested use joins the outer transaction (the outermost one commits). An exception rolls back
        everything since the outermost ``transaction()`` began and propagates.
        """
        if self._tx_depth:
            self._tx_depth += 1
            try:
                yield self
            finally:
                self._tx_depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._tx_depth = 1
        try:
            yield self
        except BaseException:
            self._tx_depth = 0
            self.con.execute("ROLLBACK")
            raise
        self._tx_depth = 0
        self.con.execute("COMMIT")

    @property
    def in_transaction(self) -> bool:
        return self._tx_depth > 0

    # -- convenience ------------------------------------------------------------------------------
    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def scalar(self, sql: str, params: Any = None) -> Any:
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    def count(self, table: str, where: str = "TRUE") -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table} WHERE {where}"))

    def now(self):  # noqa: ANN201 - datetime
        return clock.now()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
