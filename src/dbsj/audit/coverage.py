"""Which check of ``dbsj audit`` covers each table of the store — or why a table needs no binding.

Every table of the store schema is listed here; a test enumerates the tables of a real store and fails
for one that is not, so a new table cannot escape the audit unnoticed. A layer that owns tables (the draw,
the assignment) declares them with :func:`declare_table` next to its audit function.
"""

from __future__ import annotations

import attrs

__all__ = ["TableCoverage", "TABLE_COVERAGE", "declare_table"]


@attrs.frozen(slots=True)
class TableCoverage:
    """How the audit covers one table.

    :ivar check: the audit check that binds it (``ledger``, ``pools``, ``results`` …; ``audit_draws`` or
        ``audit_assignments`` for tables the draw layer checks), or ``None`` for a table that holds no data
        the ledger binds.
    :ivar how: how it is bound, or why it needs no binding.
    """

    check: str | None
    how: str


#: table → coverage. Extend with :func:`declare_table`.
TABLE_COVERAGE: dict[str, TableCoverage] = {
    "ledger": TableCoverage("ledger", "the hash chain itself: every link re-hashed; anchors kept outside the store; "
                                      "every row that names an entry must find it"),
    "items": TableCoverage("pools", "contents digest on the ledger at every import (pool.imported)"),
    "targets": TableCoverage("pools", "contents digest on the ledger at every import (pool.imported)"),
    "inspectors": TableCoverage("pools", "contents digest on the ledger at every import (pool.imported)"),
    "history": TableCoverage("pools", "contents digest on the ledger at every import and every result transaction"),
    "imports": TableCoverage("imports", "each row repeated by its pool.imported ledger entry"),
    "pool_changes": TableCoverage("imports", "digest of each import's changes on its pool.imported entry"),
    "pool_digests": TableCoverage("pools", "a cache of each pool's key digest: recomputed from the pool"),
    "pool_bindings": TableCoverage("pools", "a cache of the last binding: compared with the ledger entry it names"),
    "pool_buckets": TableCoverage("pools", "a cache of bucket digests: their combination must be the bound digest"),
    "plans": TableCoverage("plans", "each snapshot's SHA-256 recomputed from its body and compared with the plan "
                                    "hash of every draw commitment that used it"),
    "results": TableCoverage("results", "every row covered by a result.recorded / result.imported entry: entry "
                                        "numbers, fields and chunked row digests"),
    "task_events": TableCoverage("task_events", "each row repeats its task.state ledger entry"),
    "publications": TableCoverage("publications", "each row repeats its publication.batch entry; files' SHA-256; "
                                                  "notice numbers without gaps"),
    "publication_entries": TableCoverage("publications", "digest of each batch's entries on its publication.batch entry"),
    "publication_receipts": TableCoverage("publications", "each row repeats its publication.receipt entry"),
    "followups": TableCoverage("followups", "keys and digest of each run's rows on its followup.raised entry"),
    "calendar_sources": TableCoverage("calendars", "each imported schedule repeats its calendar.imported entry (the "
                                                   "last for its year and region)"),
    "calendar_days": TableCoverage("calendars", "the digest of each schedule's listed days on its calendar.imported entry"),
    "steps_in_progress": TableCoverage("steps", "each row names its <kind>.begun ledger entry"),
    "meta": TableCoverage(None, "the schema version (a store newer than dbsj is refused, older ones are migrated on "
                                "open) and where binding began; the latter is checked against the ledger"),
    "pending_outputs": TableCoverage(None, "a transient journal of renames still to do after a commit; emptied when the "
                                           "store is next opened for writing (each file's SHA-256 is checked then); "
                                           "the audit lists what is pending"),
    "draws": TableCoverage("audit_draws", "draw attempts and their states against the ledger (the draw layer)"),
    "draw_runs": TableCoverage("audit_draws", "runs, protocols and seeds against the ledger (the draw layer)"),
    "draw_items": TableCoverage("audit_draws", "the items of each draw against its commitment (the draw layer)"),
    "draw_seals": TableCoverage("audit_draws", "each draw's seal against the seal_sha256 of its commitment, whose hash "
                                               "the draw.commit entry binds (the draw layer)"),
    "draw_eligible": TableCoverage("audit_draws", "eligible sets against the committed stratum digests (the draw layer)"),
    "draw_exclusions": TableCoverage("audit_draws", "exclusion counts against the commitment (the draw layer)"),
    "selections": TableCoverage("audit_draws", "selections against the revealed selection digest (the draw layer)"),
    "assignments": TableCoverage("audit_assignments", "teams against the revealed assignment digest (the assignment)"),
    "assignment_exclusions": TableCoverage("audit_assignments", "excluded pairs against the assignment (the assignment)"),
    **{t: TableCoverage("audit_assignments", f"the run's assignment inputs snapshot ({part}): each part's digest, and "
                                               "the whole inputs digest the reveal put on the ledger (the assignment)")
       for t, part in (("assignment_inputs", "digests of every part"), ("assignment_input_selections", "selections"),
                       ("assignment_input_tasks", "tasks"), ("assignment_input_items", "item owners"),
                       ("assignment_input_targets", "selected targets"), ("assignment_input_inspectors", "inspectors"),
                       ("assignment_input_history", "last-inspector history"),
                       ("assignment_input_recusals", "plug-in recusals"))},
}


def declare_table(table: str, check: str | None, how: str) -> None:
    """Declare how the audit covers ``table`` (call at import time in the layer that owns it)."""
    TABLE_COVERAGE[table] = TableCoverage(check, how)
