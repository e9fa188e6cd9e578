"""The ``dbsj`` command: a thin shell over the Python API (docs/api.md), one module per command group.

Exit codes: 0 done, 1 findings or verification failed, 2 bad input or usage. ``--lang zh|en`` (default zh)
chooses the language of messages; ``--at`` fixes the clock (also ``DBSJ_NOW``).
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from dbsj import clock
from dbsj.errors import DbsjError, set_language

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
    from dbsj.cli import audit, demo, draw, ledger, lifecycle, meta, pool, rules

    for module in (meta, pool, draw, rules, lifecycle, audit, ledger, demo):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        # Outside standalone mode click returns the code of a typer.Exit instead of raising it.
        rc = app(args=argv, standalone_mode=False)
    except DbsjError as exc:
        typer.echo(f"错误 / error: {exc}" if exc.exit_code == 2 else str(exc), err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # click raises it for usage errors in some versions
        return int(exc.code or 0)
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
        raise
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
