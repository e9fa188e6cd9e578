"""Kill a real process at a named failpoint, then look at what it left.

Each ``test_failpoints_<step>.py`` module runs its step in a fresh Python process with one failpoint armed
(``DBSJ_FAILPOINTS=<name>``, action ``kill``: SIGKILL, like ``kill -9``), and lists the failpoints it
exercises in ``EXERCISED``; ``test_failpoint_coverage.py`` fails when a declared failpoint is in no list.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

__all__ = ["run_to_failpoint", "run_clean", "final_files"]

# Test modules import this as `harness` (pytest puts tests/integrity on sys.path, as for the other suites).


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DBSJ_FAILPOINTS"}
    env.setdefault("DBSJ_NOW", "2023-06-01T09:00:00")
    env.update(extra or {})
    return env


def run_to_failpoint(code: str, failpoint: str, *, env: dict[str, str] | None = None,
                     timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``failpoint`` armed; assert the process died there (SIGKILL), not elsewhere."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=_env({**(env or {}), "DBSJ_FAILPOINTS": failpoint}), timeout=timeout)
    assert proc.returncode == -9, (f"failpoint {failpoint} was not reached (exit {proc.returncode})\n"
                                   f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-4000:]}")
    return proc


def run_clean(code: str, *, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with no failpoint armed; assert it succeeded."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=_env(env), timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-4000:]}"
    return proc


def final_files(folder: Path) -> list[str]:
    """Names of the files in ``folder`` that are not dbsj temporaries (sorted)."""
    from dbsj.store.outputs import TEMP_MARK

    if not folder.exists():
        return []
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and TEMP_MARK not in p.name)
