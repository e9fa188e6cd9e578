"""Fixtures for the rules tests (helpers live in rules_fixtures.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from rules_fixtures import plan_text  # type: ignore[import-not-found]


@pytest.fixture
def write_plan(tmp_path: Path):
    def write(tasks: list[str], name: str = "plan.yaml", rule_packs: tuple[str, ...] = ()) -> Path:
        path = tmp_path / name
        path.write_text(plan_text(tasks, rule_packs=rule_packs), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_pack(tmp_path: Path):
    """Write a pack folder: ``write_pack("prov", {"pack.yaml": "...", "r.yaml": "..."})``."""

    def write(folder: str, files: dict[str, str]) -> Path:
        d = tmp_path / "packs" / folder
        d.mkdir(parents=True, exist_ok=True)
        for name, body in files.items():
            (d / name).write_text(textwrap.dedent(body), encoding="utf-8")
        return d

    return write
