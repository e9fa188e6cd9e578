"""The ``dbsj`` command: a thin shell over the Python API (docs/api.md), one module per command group.

Exit codes: 0 done, 1 findings or verification failed, 2 bad input or usage. ``--lang zh|en`` (default zh)
chooses the language of messages; ``--at`` fixes the clock (also ``DBSJ_NOW``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from dbsj import clock
from dbsj.errors import DbsjError, InputError, set_language

__all__ = ["app", "main"]

app = typer.Typer(
    name="dbsj",
    help="双随机、一公开 部门联合抽查: 一单两库、抽查计划、可验证抽取、结果公示与督查考评。"
         " / Joint random inspections: item list and pools, plans, verifiable draws, publication, assessment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global(
    lang: str = typer.Option("zh", "--lang", help="消息语言 zh|en / message language"),
    at: Optional[str] = typer.Option(None, "--at", help="固定当前时间（北京时间，ISO 格式）/ fix the clock (Beijing time, ISO)"),
) -> None:
    set_language(lang)
    if at:
        clock.set_now(at)


def _register() -> None:
    from dbsj.cli import audit, backup, demo, draw, ledger, lifecycle, meta, pool, rules

    for module in (meta, pool, draw, rules, lifecycle, audit, ledger, backup, demo):
        module.register(app)


_register()


def _report(exc: DbsjError) -> int:
    typer.echo(f"错误 / error: {exc}" if exc.exit_code == 2 else str(exc), err=True)
    return exc.exit_code


def _as_dbsj_error(exc: BaseException) -> DbsjError | None:
    """What a user is told when an exception that is not a :class:`DbsjError` escapes a command.

    Every DuckDB error is about the store (opening it or using it) and every ``OSError`` names a file:
    both become one clear message, never a traceback. ``None`` for anything else (a bug).
    """
    import duckdb

    from dbsj.store.health import store_error
    from dbsj.store.store import last_opened_store

    if isinstance(exc, duckdb.Error):
        return store_error(exc, last_opened_store())
    if isinstance(exc, OSError):
        store = last_opened_store()
        named = [Path(f) for f in (exc.filename, getattr(exc, "filename2", None)) if f]
        if store is not None and any(_same_store(f, store) for f in named):
            return store_error(exc, store)
        where = named[0] if named else None
        what = exc.strerror or str(exc)
        return InputError(f"文件操作失败: {what}", f"file operation failed: {what}",
                          where=str(where) if where else None,
                          hint_zh="检查路径、权限和磁盘空间", hint_en="check the path, permissions and free disk space")
    if isinstance(exc, MemoryError):
        return InputError("内存不足，无法完成该步骤；未保存任何更改", "out of memory: the step could not finish and saved nothing",
                          hint_zh="关闭其他程序或拆分输入文件", hint_en="close other programs or split the input file")
    if isinstance(exc, RecursionError):
        return InputError("输入嵌套过深，无法处理", "the input is nested too deeply to process",
                          hint_zh="检查输入文件的结构", hint_en="check the structure of the input file")
    return None


def _same_store(name: Path, store: Path) -> bool:
    text = str(name)
    return text in (str(store), f"{store}.wal") or Path(text).name in (store.name, f"{store.name}.wal")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code.

    Never a traceback: :class:`DbsjError` prints its message; DuckDB errors and ``OSError`` about the
    store become a :class:`~dbsj.errors.StoreError` (exit 2); an unexpected exception prints one line
    saying it is a fault in dbsj (``DBSJ_DEBUG=1`` shows the traceback).
    """
    try:
        # Outside standalone mode click returns the code of a typer.Exit instead of raising it.
        rc = app(args=argv, standalone_mode=False)
    except DbsjError as exc:
        return _report(exc)
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # click raises it for usage errors in some versions
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except (KeyboardInterrupt, BrokenPipeError):
        return 130
    except typer.Abort:
        return 130
    except Exception as exc:
        # Usage errors (unknown command, missing or bad option) are click exceptions; recent typer releases
        # vendor click privately, so recognise them by their interface rather than by import.
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return 2
        mapped = _as_dbsj_error(exc)
        if mapped is not None:
            return _report(mapped)
        if os.environ.get("DBSJ_DEBUG"):
            raise
        typer.echo(f"内部错误 / internal error: {type(exc).__name__}: {exc}（这是 dbsj 的缺陷，请报告；"
                   f"设置 DBSJ_DEBUG=1 可显示调用栈 / a fault in dbsj, please report it; DBSJ_DEBUG=1 shows the traceback）",
                   err=True)
        return 2
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
