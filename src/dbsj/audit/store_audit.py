"""``dbsj.audit_store``: recompute everything the ledger binds and report each mismatch by table and key."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from dbsj.audit.chain import audit_chain, audit_references
from dbsj.audit.context import AuditContext
from dbsj.audit.lifecycle import (
    audit_calendars,
    audit_followups,
    audit_plans,
    audit_publications,
    audit_results,
    audit_task_events,
)
from dbsj.audit.pools import audit_imports, audit_pools
from dbsj.audit.report import AuditReport
from dbsj.errors import DbsjError, InputError
from dbsj.store.findings import AuditFinding
from dbsj.store.ledger import LedgerAnchor, anchors_from_json, load_anchors
from dbsj.store.store import Store

__all__ = ["audit_store", "layer_audit"]

#: Where the layers that own tables outside this package put their audit functions (looked up by name, so
#: an installation without them still audits everything else, and says what it skipped).
_LAYER_MODULES = ("dbsj.draw", "dbsj.draw.audit", "dbsj.draw.verify", "dbsj.draw.engine", "dbsj.draw.assignment",
                  "dbsj.draw.assignment_inputs")


def layer_audit(name: str) -> Callable[[Store], list[AuditFinding]] | None:
    """The audit function ``name`` (``audit_draws``, ``audit_assignments``) of the layer that owns it, if any."""
    for mod_name in _LAYER_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        fn = getattr(mod, name, None)
        if callable(fn):
            return fn
    return None


def _anchors(anchors: Iterable[Any]) -> list[LedgerAnchor]:
    out: list[LedgerAnchor] = []
    for a in anchors:
        if isinstance(a, LedgerAnchor):
            out.append(a)
        elif isinstance(a, (str, os.PathLike)):
            out.extend(load_anchors(Path(a)))
        elif isinstance(a, Mapping):
            out.extend(anchors_from_json(dict(a), "<anchor>"))
        else:
            raise InputError(f"无法识别的锚点 {a!r}", f"not an anchor: {a!r}",
                             hint_zh="给出文件路径、LedgerAnchor 或其 JSON", hint_en="give a path, a LedgerAnchor or its JSON")
    return out


def audit_store(store: Store, anchors: Iterable[Any] = ()) -> AuditReport:
    """Recompute every digest the ledger binds and check every row against the entry that recorded it.

    Checks: the chain; ``anchors`` (files — draw records, public records, commitments, publication JSON,
    anchor files from ``dbsj ledger head --out`` — or :class:`LedgerAnchor` values) still held in order;
    every row naming a ledger entry finds it; pools (contents digest), imports and their changes; plan
    snapshots; results; task states; publications, their entries, files and receipts; follow-ups; and the
    draw and assignment tables through their layers' ``audit_draws`` / ``audit_assignments``.

    Reads only: an audit never changes the store (open it with ``read_only=True``).

    :raises InputError: an anchor that cannot be read or carries no ledger head.
    :return: an :class:`AuditReport`; ``.ok`` when nothing was found.
    """
    anchor_list = _anchors(anchors)
    ctx = AuditContext(store)
    checked: list[str] = []
    skipped: list[str] = []
    steps: list[tuple[str, Callable[[], None]]] = [
        ("ledger", lambda: audit_chain(ctx, anchor_list)),
        ("references", lambda: audit_references(ctx)),
        ("pools", lambda: audit_pools(ctx)),
        ("imports", lambda: audit_imports(ctx)),
        ("plans", lambda: audit_plans(ctx)),
        ("results", lambda: audit_results(ctx)),
        ("task_events", lambda: audit_task_events(ctx)),
        ("publications", lambda: audit_publications(ctx)),
        ("followups", lambda: audit_followups(ctx)),
        ("calendars", lambda: audit_calendars(ctx)),
    ]
    for name, run in steps:
        run()
        checked.append(name)
    for name, table in (("audit_draws", "draws"), ("audit_assignments", "assignments")):
        fn = layer_audit(name)
        if fn is None:
            skipped.append(f"{name}: not provided by this installation's draw layer; {table} tables checked only "
                           "for the ledger entries they name")
            continue
        try:
            found = list(fn(store))
        except DbsjError as exc:
            found = [AuditFinding(table, name, f"无法完成: {exc.render('zh')}", f"could not run: {exc.render('en')}")]
        except Exception as exc:  # an audit that cannot run must not read as a clean one
            found = [AuditFinding(table, name, f"无法完成: {type(exc).__name__}: {exc}",
                                  f"could not run: {type(exc).__name__}: {exc}")]
        ctx.findings.extend(found)
        checked.append(name)
    return AuditReport(db=str(getattr(store, "path", "")), findings=tuple(ctx.findings), checked=tuple(checked),
                       skipped=tuple(skipped), notes=tuple(ctx.notes), entries=len(ctx.entries), head=ctx.head,
                       anchors=len(anchor_list))
