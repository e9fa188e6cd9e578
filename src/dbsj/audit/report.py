"""What ``dbsj audit`` found: findings (each a mismatch, by table and key), what was checked, what was not."""

from __future__ import annotations

from typing import Any

import attrs

from dbsj.errors import VerificationError
from dbsj.store.findings import AuditFinding

__all__ = ["AuditReport"]


@attrs.frozen(slots=True)
class AuditReport:
    """Outcome of :func:`dbsj.audit_store`.

    :ivar findings: every mismatch between a table and what the ledger (or an anchor) binds; empty when ok.
    :ivar checked: the checks that ran (``ledger``, ``pools``, ``results`` …).
    :ivar skipped: checks that could not run in this installation (e.g. a layer without its audit function),
        with the reason.
    :ivar notes: facts that are not tampering but an auditor should know (files still to be rolled forward,
        steps in progress, pools bound before this dbsj bound contents).
    :ivar entries: ledger entries read; :ivar head: the ledger head the audit saw.
    """

    db: str
    findings: tuple[AuditFinding, ...]
    checked: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    notes: tuple[AuditFinding, ...] = ()
    entries: int = 0
    head: str = ""
    anchors: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def tables(self) -> list[str]:
        """The tables with findings, sorted."""
        return sorted({f.table for f in self.findings})

    def to_dict(self) -> dict[str, Any]:
        return {"db": self.db, "ok": self.ok, "findings": [f.to_dict() for f in self.findings],
                "checked": list(self.checked), "skipped": list(self.skipped), "notes": [n.to_dict() for n in self.notes],
                "entries": self.entries, "head": self.head, "anchors": self.anchors}

    def raise_for_findings(self) -> None:
        """:class:`~dbsj.VerificationError` listing the findings, when there are any."""
        if self.findings:
            raise VerificationError("审计发现不一致: " + "; ".join(f.render("zh") for f in self.findings[:20]),
                                    "the audit found mismatches: " + "; ".join(f.render("en") for f in self.findings[:20]),
                                    where=self.db, findings=[f.to_dict() for f in self.findings])
