"""The append-only, hash-chained ledger.

Each entry's hash is SHA-256 over the length-prefixed encoding of (seq, kind, subject, canonical payload
JSON, recorded_at ISO text, previous hash). The first entry's previous hash is 64 zeros. Editing,
inserting or deleting any entry breaks the chain at that point, which :meth:`Ledger.verify` reports.
The head hash goes into every draw record and publication.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import attrs

from dbsj.errors import VerificationError
from dbsj.store.store import Store

__all__ = ["Ledger", "LedgerEntry", "GENESIS"]

GENESIS = "0" * 64


def _lp(parts: list[bytes]) -> bytes:
    return b"".join(len(p).to_bytes(8, "big") + p for p in parts)


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@attrs.frozen(slots=True)
class LedgerEntry:
    seq: int
    kind: str
    subject: str
    payload: dict[str, Any]
    recorded_at: dt.datetime
    prev_hash: str
    hash: str


def entry_hash(seq: int, kind: str, subject: str, payload_json: str, recorded_at: dt.datetime, prev: str) -> str:
    parts = [str(seq), kind, subject, payload_json, recorded_at.isoformat(), prev]
    return hashlib.sha256(_lp([p.encode("utf-8") for p in parts])).hexdigest()


class Ledger:
    """The ledger of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def head(self) -> str:
        """Hash of the last entry (64 zeros for an empty ledger)."""
        row = self.store.execute("SELECT hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else GENESIS

    def append(self, kind: str, subject: str, payload: dict[str, Any]) -> LedgerEntry:
        """Append one entry and return it. ``kind`` e.g. ``draw.attempt``; ``subject`` e.g. a task id."""
        con = self.store.con
        row = con.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        recorded_at = self.store.now().replace(microsecond=0)
        body = _canonical(payload)
        digest = entry_hash(seq, kind, subject, body, recorded_at, prev)
        con.execute("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [seq, kind, subject, body, recorded_at, prev, digest])
        return LedgerEntry(seq, kind, subject, payload, recorded_at, prev, digest)

    def entries(self, kind: str | None = None) -> list[LedgerEntry]:
        sql = "SELECT seq, kind, subject, payload, recorded_at, prev_hash, hash FROM ledger"
        rows = self.store.execute(sql + (" WHERE kind = ?" if kind else "") + " ORDER BY seq",
                                  [kind] if kind else None).fetchall()
        return [LedgerEntry(s, k, sub, json.loads(p), at, ph, h) for s, k, sub, p, at, ph, h in rows]

    def verify(self) -> int:
        """Check the whole chain; return the number of entries. Raises :class:`VerificationError` at the first break."""
        rows = self.store.execute(
            "SELECT seq, kind, subject, payload, recorded_at, prev_hash, hash FROM ledger ORDER BY seq").fetchall()
        prev, expected_seq = GENESIS, 1
        for seq, kind, subject, payload, recorded_at, prev_hash, digest in rows:
            where = f"ledger #{seq}"
            if seq != expected_seq:
                raise VerificationError(f"账本序号不连续: 期望 {expected_seq}，实际 {seq}（有条目被删除或插入）",
                                        f"ledger sequence broken: expected {expected_seq}, found {seq} (entry deleted or inserted)",
                                        where=where, seq=seq)
            if prev_hash != prev:
                raise VerificationError("账本链断裂: 前一哈希不符", "ledger chain broken: previous hash differs", where=where, seq=seq)
            body = _canonical(json.loads(payload))
            if entry_hash(seq, kind, subject, body, recorded_at, prev_hash) != digest:
                raise VerificationError("账本条目被篡改: 哈希不符", "ledger entry tampered: hash differs", where=where, seq=seq)
            prev, expected_seq = digest, seq + 1
        return len(rows)
