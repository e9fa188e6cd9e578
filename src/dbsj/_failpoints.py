"""Named crash points: off unless ``DBSJ_FAILPOINTS`` turns one on, as failpoint libraries do.

A step that must be atomic (commit, reveal, result import, publication) calls :func:`failpoint` at the
places a crash would hurt most. Every point is declared once, at import time, with :func:`declare`, so a
test can enumerate :data:`FAILPOINTS` and kill the process at each one in turn.

``DBSJ_FAILPOINTS`` is a comma-separated list of ``name`` or ``name=action``:

- ``kill`` (the default): the process sends itself SIGKILL — nothing is flushed, nothing cleaned up,
  exactly like ``kill -9`` or a power cut after the last write the OS accepted;
- ``raise``: :class:`FailpointHit` is raised (an unexpected error in the middle of the step).

With the variable unset a failpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

__all__ = ["FAILPOINTS", "FailpointHit", "declare", "failpoint", "ENV"]

#: The environment variable that arms failpoints.
ENV = "DBSJ_FAILPOINTS"

#: Every declared failpoint: name → what has happened when it is reached.
FAILPOINTS: dict[str, str] = {}


class FailpointHit(RuntimeError):
    """Raised at an armed failpoint whose action is ``raise``. Never raised in normal operation."""


def declare(name: str, description: str) -> str:
    """Declare a failpoint (at import time) and return its name."""
    if name in FAILPOINTS and FAILPOINTS[name] != description:
        raise ValueError(f"failpoint {name!r} declared twice with different descriptions")
    FAILPOINTS[name] = description
    return name


def _armed() -> dict[str, str]:
    spec = os.environ.get(ENV, "")
    out: dict[str, str] = {}
    for part in spec.split(","):
        part = part.strip()
        if part:
            name, _, action = part.partition("=")
            out[name.strip()] = action.strip() or "kill"
    return out


def failpoint(name: str) -> None:
    """Crash here if ``name`` is armed in ``DBSJ_FAILPOINTS``; otherwise do nothing."""
    if name not in FAILPOINTS:
        raise ValueError(f"undeclared failpoint {name!r}")
    if ENV not in os.environ:
        return
    action = _armed().get(name)
    if action is None:
        return
    if action == "raise":
        raise FailpointHit(f"failpoint {name} hit")
    os.kill(os.getpid(), signal.SIGKILL)
