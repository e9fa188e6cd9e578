"""The embedded store: one DuckDB file holding pools, plans, draws, results and the ledger.

DuckDB allows one writing process per file. Opening a file another process holds raises
:class:`~dbsj.errors.StoreError` saying so; so does every other failure of the file (see
:mod:`dbsj.store.health`). Only DuckDB's built-in extensions are used (offline, design §9).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from dbsj import clock
from dbsj.errors import StoreError
from dbsj.store.health import check_store_file, store_error
from dbsj.store.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["Store", "default_db_path", "last_opened_store"]


def default_db_path() -> Path:
    """``DBSJ_DB`` if set, else ``./dbsj.duckdb``."""
    return Path(os.environ.get("DBSJ_DB", "dbsj.duckdb"))


#: Stores opened in this process, newest last: the CLI names the file when a DuckDB error escapes a command.
_OPENED: deque[Path] = deque(maxlen=8)


def last_opened_store() -> Path | None:
    """The path of the store this process opened most recently (``None`` if none)."""
    return _OPENED[-1] if _OPENED else None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


class Store:
    """An open store. Use as a context manager, or call :meth:`close`.

    ``Store(path)`` creates the file and schema when missing and migrates an older one.
    ``Store(":memory:")`` gives a throwaway store (tests, examples).

    Every failure of the file — locked, damaged, truncated, not a DuckDB database, a damaged WAL, no
    permission, a full disk, the file deleted or replaced while open — is a :class:`StoreError` naming the
    file, what is wrong (``context["reason"]``) and what to do. A store opened for writing is checkpointed
    by :meth:`close`, so a write that did not reach the file is reported there, never taken for success.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        target = str(path) if str(path) == ":memory:" else str(self.path)
        self._memory = target == ":memory:"
        self._closed = False
        self._tx_depth = 0
        self.read_only = read_only
        if not self._memory:
            _OPENED.append(self.path)
            if read_only and not self.path.exists():
                raise StoreError(f"存储文件不存在: {self.path}", f"store file not found: {self.path}",
                                 reason="missing", store=str(self.path),
                                 hint_zh="检查 --db 路径；先用 dbsj pool import 或 dbsj demo 建库",
                                 hint_en="check the --db path; create a store with dbsj pool import or dbsj demo")
            check_store_file(self.path)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise store_error(exc, self.path, during="open") from None
        try:
            # Offline by design: never let DuckDB fetch an extension.
            self.con = duckdb.connect(target, read_only=read_only,
                                      config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        except (duckdb.Error, OSError) as exc:
            raise store_error(exc, self.path, during="open") from None
        self._identity = None if self._memory else _identity(self.path)
        try:
            self.con.execute("SET TimeZone = 'Asia/Shanghai'")
            if not read_only:
                self._migrate()
                from dbsj.store.outputs import roll_forward
                from dbsj.store.steps import recover_steps

                roll_forward(self)
                recover_steps(self)
            else:
                self._check_version()
        except BaseException as exc:
            self._abandon()
            if isinstance(exc, (duckdb.Error, OSError)):
                raise store_error(exc, self.path, during="open") from None
            raise

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
        try:
            self.con.execute("BEGIN TRANSACTION")
        except duckdb.Error as exc:
            raise store_error(exc, self.path) from None
        self._tx_depth = 1
        try:
            yield self
        except BaseException:
            self._tx_depth = 0
            self._rollback_quietly()
            raise
        self._tx_depth = 0
        try:
            self.con.execute("COMMIT")
        except duckdb.Error as exc:
            # A failed commit (disk full, damaged block) leaves nothing of the step behind.
            self._rollback_quietly()
            raise store_error(exc, self.path, during="commit") from None

    def _rollback_quietly(self) -> None:
        # After a fatal DuckDB error the connection refuses even ROLLBACK; the error that got us here matters.
        try:
            self.con.execute("ROLLBACK")
        except duckdb.Error:
            pass

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
        """Checkpoint (a store opened for writing) and close; :class:`StoreError` if the changes could not be
        written to the file, or the file was deleted or replaced while open."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self.read_only and not self._memory:
                if self._tx_depth:
                    self._tx_depth = 0
                    self._rollback_quietly()
                try:
                    self.con.execute("CHECKPOINT")
                except duckdb.Error as exc:
                    raise store_error(exc, self.path, during="checkpoint") from None
                self._check_still_there()
        finally:
            try:
                self.con.close()
            except duckdb.Error:
                pass

    def _abandon(self) -> None:
        """Close without a checkpoint: the step already failed and its error is the one to report."""
        self._closed = True
        try:
            self.con.close()
        except duckdb.Error:
            pass

    def _check_still_there(self) -> None:
        """The file this store wrote to must still be the file at its path: an unlinked or replaced file keeps
        taking writes through the open handle, and everything would vanish at close."""
        if self._identity is None or _identity(self.path) == self._identity:
            return
        rescued = _rescue_open_file(self.path, self._identity)
        gone = not self.path.exists()
        zh_what = "在使用中被删除" if gone else "在使用中被另一个文件替换"
        en_what = "was deleted while in use" if gone else "was replaced by another file while in use"
        if rescued:
            keep_zh, keep_en = f"本次运行的全部数据已另存为 {rescued}", f"all data of this run were saved as {rescued}"
            hint_zh, hint_en = (f"核对后将 {rescued} 改名为 {self.path} 使用", f"check {rescued} and rename it to {self.path} to use it")
        else:
            keep_zh, keep_en = "本次运行的更改写入了已删除的文件，已丢失", "this run's changes went to the deleted file and are lost"
            hint_zh, hint_en = "从备份恢复后重新执行", "restore from a backup and run the steps again"
        raise StoreError(f"存储文件 {self.path} {zh_what}：{keep_zh}", f"store {self.path} {en_what}: {keep_en}",
                         hint_zh=hint_zh, hint_en=hint_en, reason="vanished",
                         store=str(self.path), rescued=str(rescued) if rescued else None)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abandon()


def _rescue_open_file(path: Path, identity: tuple[int, int]) -> Path | None:
    """Copy the (checkpointed) file this process still holds open at ``path`` to ``<path>.rescued-<time>``."""
    import shutil

    wanted = os.path.abspath(path)
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        return None
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target in (wanted, wanted + " (deleted)") and _identity(fd) == identity:
            out = path.with_name(f"{path.name}.rescued-{clock.now().strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
            try:
                shutil.copyfile(fd, out)
            except OSError:
                return None
            return out
    return None
