"""The append-only, hash-chained ledger.

Each entry's hash is SHA-256 over the length-prefixed encoding of (seq, kind, subject, canonical payload
JSON, recorded_at ISO text, previous hash). The first entry's previous hash is 64 zeros. Editing,
inserting or deleting any entry breaks the chain at that point, which :meth:`Ledger.verify` reports.
The head hash goes into every draw record and publication.

Anchors: a head kept outside the store (a draw record, a public record, a publication's JSON, or an
anchor file written by ``dbsj ledger head --out``) proves what the chain held at that time. Deleting the
last entries, or editing one and recomputing the chain after it, passes :meth:`Ledger.verify` but loses
every head anchored after the edit: :func:`check_anchors` reports it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import attrs

from dbsj.errors import InputError, VerificationError
from dbsj.store.findings import AuditFinding
from dbsj.store.store import Store

__all__ = ["Ledger", "LedgerEntry", "GENESIS", "LedgerAnchor", "ANCHOR_FORMAT", "load_anchors", "anchors_from_json",
           "check_anchors"]

GENESIS = "0" * 64

#: The format of an anchor file (``dbsj ledger head --out FILE``).
ANCHOR_FORMAT = "dbsj-ledger-anchor/1"


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
        count, breaks = self._walk(stop_at_first=True)
        if breaks:
            seq, zh, en = breaks[0]
            raise VerificationError(zh, en, where=f"ledger #{seq}", seq=seq)
        return count

    def breaks(self) -> list[tuple[int, str, str]]:
        """Every break of the chain as ``(seq, zh, en)``: gaps, wrong previous hashes, entries whose hash differs."""
        return self._walk(stop_at_first=False)[1]

    def _walk(self, *, stop_at_first: bool) -> tuple[int, list[tuple[int, str, str]]]:
        rows = self.store.execute(
            "SELECT seq, kind, subject, payload, recorded_at, prev_hash, hash FROM ledger ORDER BY seq").fetchall()
        out: list[tuple[int, str, str]] = []
        prev, expected_seq = GENESIS, 1
        for seq, kind, subject, payload, recorded_at, prev_hash, digest in rows:
            if seq != expected_seq:
                out.append((seq, f"账本序号不连续: 期望 {expected_seq}，实际 {seq}（有条目被删除或插入）",
                            f"ledger sequence broken: expected {expected_seq}, found {seq} (entry deleted or inserted)"))
            elif prev_hash != prev:
                out.append((seq, "账本链断裂: 前一哈希不符", "ledger chain broken: previous hash differs"))
            else:
                try:
                    body = _canonical(json.loads(payload))
                    ok = entry_hash(seq, kind, subject, body, recorded_at, prev_hash) == digest
                except (TypeError, ValueError):
                    ok = False
                if not ok:
                    out.append((seq, "账本条目被篡改: 哈希不符", "ledger entry tampered: hash differs"))
            if out and stop_at_first:
                break
            prev, expected_seq = digest, seq + 1
        return len(rows), out

    def last(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last entry; ``(0, GENESIS)`` for an empty ledger."""
        row = self.store.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), row[1]) if row else (0, GENESIS)

    def entry(self, seq: int) -> LedgerEntry | None:
        """The entry at ``seq``, or ``None``."""
        row = self.store.execute("SELECT seq, kind, subject, payload, recorded_at, prev_hash, hash FROM ledger "
                                 "WHERE seq = ?", [seq]).fetchone()
        if row is None:
            return None
        s, k, sub, p, at, ph, h = row
        return LedgerEntry(s, k, sub, json.loads(p), at, ph, h)

    def anchor(self) -> dict[str, Any]:
        """The head as an anchor to keep outside the store (``dbsj ledger head --out FILE``)."""
        seq, head = self.last()
        return {"format": ANCHOR_FORMAT, "seq": seq, "head": head,
                "taken_at": self.store.now().replace(microsecond=0).isoformat()}

    def check_anchors(self, anchors: list["LedgerAnchor"]) -> list[AuditFinding]:
        """Findings for anchors the chain no longer holds (truncated, rewritten or re-chained), held out of
        order, or publications whose file the chain does not bind."""
        return check_anchors(self, anchors)


# -- anchors ----------------------------------------------------------------------------------------------

_HEX64 = frozenset("0123456789abcdef")


def _is_head(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX64


@attrs.frozen(slots=True)
class LedgerAnchor:
    """A ledger head kept outside the store; the chain must still hold it.

    :ivar head: the hash of the entry that was the head (64 zeros: the empty ledger).
    :ivar seq: its sequence number, when the anchor states it.
    :ivar at: when it was the head (ISO 8601 date or time, Beijing), used to check anchors are held in order.
    :ivar source: the file it came from.
    :ivar what: ``anchor``, ``draw record``, ``commitment``, ``public record`` or ``publication``.
    :ivar publication: for a publication's JSON: ``authority``, ``year``, ``number`` and the file's ``sha256``,
        which the chain's ``publication.batch`` entry must bind.
    :ivar commitment: for a v2 public commitment (``dbsj-draw-commitment/2``, published before the seed, which
        names no head): ``draw_id`` and ``commitment_sha256``, which a ``draw.commit`` entry of the chain must bind;
        ``head`` is then empty.
    """

    head: str
    seq: int | None = None
    at: str | None = None
    source: str = ""
    what: str = "anchor"
    publication: dict[str, Any] | None = None
    commitment: dict[str, Any] | None = None


def anchors_from_json(data: Any, source: str, *, file_sha256: str | None = None) -> list[LedgerAnchor]:
    """The anchors a parsed JSON document carries: an anchor file, a draw record (auditor or public), a
    commitment file, a publication's JSON. :class:`InputError` when it carries none."""
    out: list[LedgerAnchor] = []
    if isinstance(data, dict):
        if data.get("format") == ANCHOR_FORMAT and _is_head(data.get("head")):
            seq = data.get("seq")
            out.append(LedgerAnchor(data["head"], seq if isinstance(seq, int) else None, data.get("taken_at"), source))
        if data.get("format") == "dbsj-draw-commitment/2" and _is_head(data.get("commitment_sha256")):
            out.append(LedgerAnchor("", None, data.get("committed_at"), source, "commitment",
                                    commitment={"draw_id": data.get("draw_id"),
                                                "commitment_sha256": data["commitment_sha256"]}))
        ledger = data.get("ledger")
        if isinstance(ledger, dict) and _is_head(ledger.get("head")):  # draw record (v1 auditor; v2 both forms)
            entry = ledger.get("entry") if isinstance(ledger.get("entry"), dict) else {}
            seq = ledger.get("reveal_seq", entry.get("seq"))
            seed = data.get("seed") if isinstance(data.get("seed"), dict) else {}
            out.append(LedgerAnchor(ledger["head"], seq if isinstance(seq, int) else None, seed.get("revealed_at"),
                                    source, "draw record"))
        commitment = data.get("commitment")
        if isinstance(commitment, dict) and _is_head(commitment.get("ledger_head")):
            out.append(LedgerAnchor(commitment["ledger_head"], None, commitment.get("committed_at"), source, "commitment"))
        if _is_head(data.get("ledger_head")) and not out:
            if "notice" in data and "number" in data:
                pub = {k: data.get(k) for k in ("authority", "year", "number", "notice")}
                pub["sha256"] = file_sha256
                out.append(LedgerAnchor(data["ledger_head"], None, data.get("published_on"), source, "publication", pub))
            else:
                seed = data.get("seed") if isinstance(data.get("seed"), dict) else {}
                out.append(LedgerAnchor(data["ledger_head"], None, seed.get("revealed_at"), source,
                                        "public record" if data.get("form") == "public" else "anchor"))
    if not out:
        raise InputError(f"{source} 中没有账本链头（应为锚点文件、抽取记录、承诺文件或公告 JSON）",
                         f"{source} carries no ledger head (give an anchor file, a draw record, a commitment or a "
                         "publication's JSON)", where=source,
                         hint_zh="用 dbsj ledger head --out FILE 保存锚点", hint_en="keep anchors with dbsj ledger head --out FILE")
    return out


def load_anchors(path: str | Path) -> list[LedgerAnchor]:
    """Read the anchors of one file (see :func:`anchors_from_json`); :class:`InputError` if unreadable."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        data = json.loads(raw.decode("utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"锚点文件不存在: {p}", f"anchor file not found: {p}", where=str(p)) from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"无法读取锚点文件: {exc}", f"cannot read the anchor file: {exc}", where=str(p)) from None
    return anchors_from_json(data, str(p), file_sha256=hashlib.sha256(raw).hexdigest())


def _when(text: Any) -> tuple[dt.date, dt.datetime | None] | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text), None
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        from dbsj.clock import BEIJING

        t = t.replace(tzinfo=BEIJING)
    return t.date(), t


def _before(a: tuple[dt.date, dt.datetime | None], b: tuple[dt.date, dt.datetime | None]) -> bool:
    """``a`` certainly earlier than ``b`` (dates alone only order different days)."""
    if a[1] is not None and b[1] is not None:
        return a[1] < b[1]
    return a[0] < b[0]


def check_anchors(ledger: Ledger, anchors: list[LedgerAnchor]) -> list[AuditFinding]:
    """See :meth:`Ledger.check_anchors`."""
    rows = ledger.store.execute("SELECT seq, hash, prev_hash, recorded_at FROM ledger ORDER BY seq").fetchall()
    by_hash = {h: int(s) for s, h, _p, _a in rows}
    by_seq = {int(s): (h, p, at) for s, h, p, at in rows}
    by_hash[GENESIS] = 0
    last = max(by_seq, default=0)
    out: list[AuditFinding] = []
    placed: list[tuple[LedgerAnchor, int]] = []
    for a in anchors:
        key = f"{Path(a.source).name or a.source} ({a.what})"
        if a.commitment is not None:
            out.extend(_check_commitment_anchor(ledger, a, key))
            continue
        if a.seq is not None and a.seq > 0:
            held = by_seq.get(a.seq)
            if held is None:
                out.append(AuditFinding("anchor", key, f"锚定的链头在第 {a.seq} 条，而账本只到第 {last} 条：账本末尾的条目被删除",
                                        f"the anchored head is entry #{a.seq} but the ledger ends at #{last}: "
                                        "its last entries were deleted"))
                continue
            if held[0] != a.head:
                out.append(AuditFinding("anchor", key, f"账本第 {a.seq} 条的哈希不是锚定的链头：账本在该条或之前被改写并重新计算了哈希链",
                                        f"ledger entry #{a.seq} is not the anchored head: the ledger was rewritten at "
                                        "or before it and its chain recomputed"))
                continue
        seq = by_hash.get(a.head)
        if seq is None:
            out.append(AuditFinding("anchor", key, f"账本中已没有锚定的链头 {a.head[:12]}…：账本被截断或被改写后重新计算了哈希链"
                                    f"（现有 {last} 条）",
                                    f"the ledger no longer holds the anchored head {a.head[:12]}…: it was truncated, or "
                                    f"rewritten and its chain recomputed (it now ends at #{last})"))
            continue
        when = _when(a.at)
        if when is not None and seq > 0:
            rec = by_seq[seq][2]
            rec_when = _when(rec.isoformat()) if hasattr(rec, "isoformat") else None
            if rec_when is not None and _before(when, rec_when):
                out.append(AuditFinding("anchor", key, f"锚点时间 {a.at} 早于账本第 {seq} 条的记录时间 {rec}",
                                        f"the anchor ({a.at}) is older than ledger entry #{seq} it holds ({rec})"))
        placed.append((a, seq))
        if a.publication is not None:
            out.extend(_check_publication_anchor(ledger, a, key, seq))
    timed = [(a, s, _when(a.at)) for a, s in placed if _when(a.at) is not None]
    for i, (a, s, wa) in enumerate(timed):
        for b, t, wb in timed[i + 1:]:
            if (_before(wa, wb) and s > t) or (_before(wb, wa) and t > s):
                out.append(AuditFinding("anchor", f"{Path(a.source).name} / {Path(b.source).name}",
                                        f"锚点顺序与账本不符: {a.at} 的链头在第 {s} 条，{b.at} 的在第 {t} 条",
                                        f"anchors out of order: the head of {a.at} is entry #{s}, that of {b.at} is #{t}"))
    return out


def _check_commitment_anchor(ledger: Ledger, a: LedgerAnchor, key: str) -> list[AuditFinding]:
    com = a.commitment or {}
    for (payload,) in ledger.store.execute("SELECT payload FROM ledger WHERE kind = 'draw.commit' AND subject = ?",
                                           [com.get("draw_id")]).fetchall():
        if json.loads(payload).get("commitment_sha256") == com.get("commitment_sha256"):
            return []
    return [AuditFinding("anchor", key, f"账本中没有公开承诺 {com.get('draw_id')} 所绑定的承诺记录：账本被截断或被改写",
                         f"the ledger holds no draw.commit entry binding the published commitment of "
                         f"{com.get('draw_id')}: it was truncated or rewritten")]


def _check_publication_anchor(ledger: Ledger, a: LedgerAnchor, key: str, head_seq: int) -> list[AuditFinding]:
    pub = a.publication or {}
    rows = ledger.store.execute(
        "SELECT seq, payload, prev_hash FROM ledger WHERE kind = 'publication.batch' AND seq > ? ORDER BY seq",
        [head_seq]).fetchall()
    for seq, payload, prev in rows:
        p = json.loads(payload)
        if (p.get("authority"), p.get("year"), p.get("number")) != (pub.get("authority"), pub.get("year"), pub.get("number")):
            continue
        if prev != a.head or p.get("ledger_head") != a.head:
            return [AuditFinding("anchor", key, f"公告的链头与账本第 {seq} 条公告记录不符",
                                 f"the publication's ledger head differs from its batch entry #{seq}")]
        bound = ((p.get("files") or {}).get("json") or {}).get("sha256")
        if pub.get("sha256") is not None and bound != pub["sha256"]:
            return [AuditFinding("anchor", key, f"公告 JSON 文件与账本第 {seq} 条绑定的摘要不符（文件被改动，或账本被改写）",
                                 f"the publication's JSON file is not the one ledger entry #{seq} binds (the file was "
                                 "altered, or the ledger rewritten)")]
        return []
    return [AuditFinding("anchor", key, f"账本中没有这份公告（{pub.get('notice')}）的记录：账本末尾被删除或被改写",
                         f"the ledger holds no batch entry for this publication ({pub.get('notice')}): its end was "
                         "deleted or rewritten")]
