"""The ledger itself: every link, the anchors kept outside the store, and every row that names an entry.

Deleting the last entries of the ledger, or editing one and recomputing the chain after it, leaves a chain
that verifies. Two things still catch it: an anchor (a head kept in a record, a publication or an anchor
file) that the chain no longer holds, and a row of the store that names a sequence number the chain does
not hold — every column called ``ledger_seq`` in any table is checked, so a new table is covered too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from dbsj.audit.context import AuditContext
from dbsj.store.ledger import Ledger, LedgerAnchor, check_anchors

__all__ = ["audit_chain", "audit_references"]

#: Tables whose rows a specific check of this package pairs with their ledger entries.
PAIRED = {"results", "task_events", "publications", "publication_receipts", "pool_bindings"}

#: How a row of a table with ``ledger_seq`` is named in findings (default: its first column).
ROW_KEYS = {"draws": "draw_id"}


def audit_chain(ctx: AuditContext, anchors: Iterable[LedgerAnchor]) -> None:
    """Chain breaks and anchors."""
    for seq, zh, en in Ledger(ctx.store).breaks():
        ctx.find("ledger", "ledger", f"#{seq}", zh, en)
    ctx.close_check("ledger")
    ctx.findings.extend(check_anchors(Ledger(ctx.store), list(anchors)))


def audit_references(ctx: AuditContext) -> None:
    """Rows of any table that name a ledger sequence number the chain does not hold."""
    tables = [t for (t,) in ctx.store.execute(
        "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'ledger_seq' "
        "AND table_schema = 'main' ORDER BY 1").fetchall()]
    for table in tables:
        if table in PAIRED:
            continue
        key = ROW_KEYS.get(table) or ctx.store.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main' "
            "ORDER BY ordinal_position LIMIT 1", [table]).fetchone()[0]
        rows = ctx.store.execute(f'SELECT CAST("{key}" AS VARCHAR), ledger_seq FROM "{table}" WHERE ledger_seq IS NOT NULL '
                                 "AND ledger_seq NOT IN (SELECT seq FROM ledger) ORDER BY ledger_seq").fetchall()
        for k, seq in rows:
            ctx.entry_ref(seq, table, k, "references")
        if table == "draws":
            # A draw's entry is about that draw: its subject, or (a run-level entry) naming it.
            for k, seq in ctx.store.execute("SELECT draw_id, ledger_seq FROM draws WHERE ledger_seq IS NOT NULL "
                                            "ORDER BY 1").fetchall():
                e = ctx.by_seq.get(int(seq))
                if e is not None and e.subject != k and k not in json.dumps(e.payload, ensure_ascii=False):
                    ctx.find("references", table, k, f"该行指向的账本第 {e.seq} 条（{e.kind} {e.subject}）与此抽取无关",
                             f"the row names ledger entry #{e.seq} ({e.kind} {e.subject}), which is not about this draw")
    for step_id, kind, subject in ctx.store.execute(
            "SELECT step_id, kind, subject FROM steps_in_progress ORDER BY step_id").fetchall():
        e = ctx.entry_ref(step_id, "steps_in_progress", f"{kind} {subject}", "references", (f"{kind}.begun",))
        if e is not None and e.subject != subject:
            ctx.find("references", "steps_in_progress", f"{kind} {subject}", f"账本第 {e.seq} 条开始的是 {e.subject}",
                     f"ledger entry #{e.seq} began {e.subject}, not {subject}")
        elif e is not None:
            ctx.note("steps_in_progress", f"{kind} {subject}", "该步骤尚未完成或已中断；以写模式打开存储时会在账本上关闭它",
                     "this step is in progress or died; opening the store for writing closes it on the ledger")
    bound_after = ctx.meta_int("bound_after_seq")
    if bound_after > ctx.last_seq:
        ctx.find("references", "meta", "bound_after_seq", f"升级时账本已有 {bound_after} 条，现在只有 {ctx.last_seq} 条：账本末尾的条目被删除",
                 f"the ledger held {bound_after} entries when the store was upgraded and now ends at #{ctx.last_seq}: "
                 "its last entries were deleted")
    for temp, final in ctx.store.execute("SELECT temp_path, final_path FROM pending_outputs ORDER BY 1").fetchall():
        ctx.note("pending_outputs", final, f"已提交的步骤尚未把文件改为正式名称（{temp}）；以写模式打开存储时完成",
                 f"a committed step has not yet put this file in place ({temp}); opening the store for writing does")
    ctx.close_check("references")
