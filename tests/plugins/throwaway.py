"""Throwaway distributions for plug-in tests: a real ``*.dist-info`` with ``entry_points.txt`` on ``sys.path``.

No mocks of pluggy or importlib.metadata: the manager finds these exactly as it finds installed plug-ins.
"""

from __future__ import annotations

import textwrap
from pathlib import Path


def make_distribution(root: Path, name: str, module_source: str, *, version: str = "0.0.1",
                      entry_name: str | None = None) -> Path:
    """Write module ``<name>.py`` and ``<name>-<version>.dist-info`` (entry point group ``dbsj``) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{name}.py").write_text(textwrap.dedent(module_source), encoding="utf-8")
    info = root / f"{name}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[dbsj]\n{entry_name or name} = {name}\n", encoding="utf-8")
    return root
