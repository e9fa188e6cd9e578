"""The audit: everything the ledger binds, recomputed from the store; anchors kept outside it, checked.

It sits after the lifecycle in the data flow: it reads every layer's tables and calls the draw layer's
``audit_draws`` and the assignment's ``audit_assignments`` where they exist (docs/audit.md).
"""

from dbsj.audit.coverage import TABLE_COVERAGE, TableCoverage, declare_table
from dbsj.audit.report import AuditReport
from dbsj.audit.store_audit import audit_store
from dbsj.store.findings import AuditFinding
from dbsj.store.ledger import ANCHOR_FORMAT, LedgerAnchor, load_anchors

__all__ = ["audit_store", "AuditReport", "AuditFinding", "LedgerAnchor", "load_anchors", "ANCHOR_FORMAT",
           "TABLE_COVERAGE", "TableCoverage", "declare_table"]
