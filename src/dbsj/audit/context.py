"""What every audit check reads once: the ledger entries, by sequence number and kind."""

from __future__ import annotations

import json
from typing import Any

from dbsj.store.findings import AuditFinding
from dbsj.store.ledger import GENESIS, LedgerEntry
from dbsj.store.store import Store

__all__ = ["AuditContext", "MAX_PER_CHECK"]

#: Findings reported per check and table before the rest are summed up in one finding.
MAX_PER_CHECK = 50


class AuditContext:
    """The store under audit and its ledger, read once; collects findings and notes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        rows = store.execute("SELECT seq, kind, subject, payload, recorded_at, prev_hash, hash FROM ledger "
                             "ORDER BY seq").fetchall()
        self.entries: list[LedgerEntry] = []
        for s, k, sub, p, at, ph, h in rows:
            try:
                payload = json.loads(p)
            except (TypeError, ValueError):
                payload = {}
            self.entries.append(LedgerEntry(int(s), k, sub, payload if isinstance(payload, dict) else {}, at, ph, h))
        self.by_seq: dict[int, LedgerEntry] = {e.seq: e for e in self.entries}
        self.last_seq = self.entries[-1].seq if self.entries else 0
        self.head = self.entries[-1].hash if self.entries else GENESIS
        self.findings: list[AuditFinding] = []
        self.notes: list[AuditFinding] = []
        self._counts: dict[tuple[str, str], int] = {}

    def of_kind(self, *kinds: str) -> list[LedgerEntry]:
        return [e for e in self.entries if e.kind in kinds]

    def meta_int(self, key: str) -> int:
        v = self.store.scalar("SELECT value FROM meta WHERE key = ?", [key])
        try:
            return int(v) if v is not None else 0
        except ValueError:
            return 0

    def find(self, check: str, table: str, key: Any, zh: str, en: str) -> None:
        """Record a finding (at most :data:`MAX_PER_CHECK` per check and table; the rest are counted)."""
        n = self._counts.get((check, table), 0) + 1
        self._counts[(check, table)] = n
        if n <= MAX_PER_CHECK:
            self.findings.append(AuditFinding(table, str(key), zh, en))

    def note(self, table: str, key: Any, zh: str, en: str) -> None:
        self.notes.append(AuditFinding(table, str(key), zh, en))

    def close_check(self, check: str) -> None:
        """Sum up the findings of ``check`` left out beyond the limit."""
        for (c, table), n in sorted(self._counts.items()):
            if c == check and n > MAX_PER_CHECK:
                self.findings.append(AuditFinding(table, "…", f"另有 {n - MAX_PER_CHECK} 处不一致未逐条列出",
                                                  f"{n - MAX_PER_CHECK} more mismatches not listed one by one"))
                self._counts[(c, table)] = MAX_PER_CHECK

    def entry_ref(self, seq: Any, table: str, key: Any, check: str, kinds: tuple[str, ...] = ()) -> LedgerEntry | None:
        """The entry a row names by ``seq``; a finding (truncated, missing, wrong kind) when there is none."""
        if seq is None:
            self.find(check, table, key, "该行没有对应的账本条目", "the row names no ledger entry")
            return None
        seq = int(seq)
        e = self.by_seq.get(seq)
        if e is None:
            if seq > self.last_seq:
                self.find(check, table, key, f"该行指向账本第 {seq} 条，而账本只到第 {self.last_seq} 条：账本末尾的条目被删除",
                          f"the row names ledger entry #{seq} but the ledger ends at #{self.last_seq}: its last "
                          "entries were deleted")
            else:
                self.find(check, table, key, f"该行指向的账本第 {seq} 条不存在", f"the row names ledger entry #{seq}, "
                          "which does not exist")
            return None
        if kinds and e.kind not in kinds:
            self.find(check, table, key, f"该行指向的账本第 {seq} 条是 {e.kind}，不是 {'/'.join(kinds)}",
                      f"the row names ledger entry #{seq}, a {e.kind}, not a {'/'.join(kinds)}")
            return None
        return e
