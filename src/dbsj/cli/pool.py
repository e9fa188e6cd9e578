"""CLI command group: pool (filled by its feature)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the ``dbsj`` app."""
