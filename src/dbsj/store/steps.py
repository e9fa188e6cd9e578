"""Steps in progress: a durable mark that a multi-transaction step has begun, so a crash is never silent.

A step that spans more than one transaction (a draw's commit or reveal, a publication) first calls
:func:`begin_step`, which commits a ``steps_in_progress`` row and a ``<kind>.begun`` ledger entry on their
own. Its final transaction calls :func:`end_step` beside its real work, so the mark disappears exactly when
the step's outcome commits. If the process dies in between, the mark survives: the next time the store is
opened for writing, :func:`recover_steps` appends ``<kind>.died`` to the ledger (with the reason) and calls
the handler the owning layer registered for that kind with :func:`on_died` — e.g. the draw marks the
attempt failed, so a dead reveal can never be completed later with another seed.

Handlers are registered at import time by the layer that owns the step; a mark whose kind has no handler in
this process is left for a process that has one (nothing is lost, and the owning layer refuses to continue
a step whose mark is still there).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbsj.store.store import Store

__all__ = ["begin_step", "end_step", "recover_steps", "on_died", "open_steps"]

#: kind → handler(store, subject, detail) run inside the recovery transaction.
_HANDLERS: dict[str, Callable[["Store", str, dict[str, Any]], None]] = {}


def on_died(kind: str, handler: Callable[["Store", str, dict[str, Any]], None]) -> None:
    """Register what to do, inside the recovery transaction, when a step of ``kind`` died."""
    _HANDLERS[kind] = handler


def begin_step(store: Store, kind: str, subject: str, detail: dict[str, Any] | None = None) -> int:
    """Mark a step begun, durably (its own committed transaction); returns the step id."""
    from dbsj.store.ledger import Ledger

    detail = detail or {}
    with store.transaction():
        entry = Ledger(store).append(f"{kind}.begun", subject, detail)
        store.execute("INSERT INTO steps_in_progress VALUES (?, ?, ?, ?, ?)",
                      [entry.seq, kind, subject, json.dumps(detail, ensure_ascii=False, sort_keys=True),
                       entry.recorded_at])
    return entry.seq


def end_step(store: Store, step_id: int) -> None:
    """Clear the mark; call inside the transaction that commits the step's outcome."""
    store.execute("DELETE FROM steps_in_progress WHERE step_id = ?", [step_id])


def open_steps(store: Store, kind: str | None = None) -> list[tuple[int, str, str, dict[str, Any]]]:
    """``(step_id, kind, subject, detail)`` of marks still present (steps in progress or dead)."""
    sql = "SELECT step_id, kind, subject, detail FROM steps_in_progress"
    rows = store.execute(sql + (" WHERE kind = ?" if kind else "") + " ORDER BY step_id",
                         [kind] if kind else None).fetchall()
    return [(int(s), k, sub, json.loads(d)) for s, k, sub, d in rows]


def recover_steps(store: Store) -> list[tuple[str, str]]:
    """Close the marks of steps that died (called when a store is opened for writing; DuckDB admits one
    writing process, so no other process can be running them). Returns ``(kind, subject)`` of each."""
    from dbsj.store.ledger import Ledger

    done: list[tuple[str, str]] = []
    for step_id, kind, subject, detail in open_steps(store):
        handler = _HANDLERS.get(kind)
        if handler is None:
            continue
        with store.transaction():
            Ledger(store).append(f"{kind}.died", subject, {
                "step": step_id, "reason": "the process ended before the step committed (crash, kill or power loss)",
                "reason_zh": "该步骤提交前进程已终止（崩溃、被终止或断电）", **{"begun": detail}})
            handler(store, subject, detail)
            end_step(store, step_id)
        done.append((kind, subject))
    return done
