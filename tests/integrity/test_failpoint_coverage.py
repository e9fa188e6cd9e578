"""Every failpoint declared in dbsj is exercised by a kill test (tests/integrity/test_failpoints_*.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import dbsj  # noqa: F401 - importing the library declares every failpoint
from dbsj._failpoints import FAILPOINTS


def test_every_declared_failpoint_has_a_kill_test():
    exercised: set[str] = set()
    for path in sorted(Path(__file__).parent.glob("test_failpoints_*.py")):
        spec = importlib.util.spec_from_file_location(f"_failpoint_cover_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        exercised |= set(module.EXERCISED)
    declared = {n for n in FAILPOINTS if not n.startswith("test.")}
    assert declared <= exercised, f"failpoints without a kill test: {sorted(declared - exercised)}"
    assert exercised <= declared, f"kill tests name undeclared failpoints: {sorted(exercised - declared)}"
