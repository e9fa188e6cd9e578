"""Pool contents bound on the ledger: an order-independent digest of every row of a pool, at every change.

Every import and upsert of a pool, and every result transaction (results add to ``history``), puts the
digest of the pool's whole contents after the change on the ledger (``pool_content`` in the entry's
payload). ``dbsj audit`` recomputes it from the pool and reports a pool that no longer matches.

The digest (format ``dbsj-pool-content/1``):

1. the *text of a row* is the JSON array (RFC 8259, no whitespace, non-ASCII as is, control characters as
   ``\\b \\t \\n \\f \\r`` or ``\\uXXXX`` with upper-case hex) of the pool's canonical columns in
   :data:`dbsj.POOL_COLUMNS` order, then ``active``; scalars as text (dates ISO 8601, booleans
   ``true``/``false``), list columns as arrays of strings, a missing value as ``null``;
2. the *row hash* is the lower-case hex SHA-256 of that text's UTF-8 bytes;
3. rows are grouped in *buckets* by the last two characters of the first key column; a bucket's digest is
   the SHA-256 of its row hashes sorted and concatenated;
4. the pool digest is the SHA-256 of the bucket digests sorted and concatenated (an empty pool: SHA-256 of
   nothing).

Why this and not a sum or XOR of row hashes: both are order-independent, but they are linear, so a forger
who may choose many rows (names, tags) finds a set of edits that cancels out (Gaussian elimination for
XOR, Wagner's generalised birthday attack for sums modulo 2^256). A tree of SHA-256 over *sorted* hashes
has no such structure: two different pools with the same digest are a SHA-256 collision, because the JSON
row text is unambiguous, each level hashes a sequence of fixed-width hashes, and sorting makes the result
independent of row order without making it malleable. It is cheap: one SHA-256 per row and a sort of
hashes, in DuckDB (about a second per million rows here, benchmarks/bench_audit.py).

Buckets are only units of recomputation: a step that changes a few rows (a result adds one history row)
re-hashes only their buckets, reading the others from the ``pool_buckets`` cache. Before it changes
anything, a step checks the buckets it touches, and the cache, against the last binding; a difference
(the pool was altered outside dbsj) is put on the ledger as ``pool.drift`` before the new binding, so a
later binding never launders an edit. The caches are never trusted by the audit.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dbsj.models.columns import columns_of

if TYPE_CHECKING:
    from dbsj.store.store import Store

__all__ = ["CONTENT_FORMAT", "BOUND_POOLS", "PoolBinding", "bucket_digests", "combine_buckets", "row_text",
           "row_text_sql", "bucket_sql", "bucket_of", "content_digest", "bound_contents", "EMPTY_CONTENT"]

CONTENT_FORMAT = "dbsj-pool-content/1"

#: The pools whose contents are bound (every pool with canonical columns).
BOUND_POOLS = ("items", "targets", "inspectors", "history")

EMPTY_CONTENT = hashlib.sha256(b"").hexdigest()


def _key0(kind: str) -> str:
    return next(c.name for c in columns_of(kind) if c.key)


def row_text_sql(kind: str, alias: str = "") -> str:
    """SQL (DuckDB) of a row's text (definition step 1)."""
    p = f"{alias}." if alias else ""
    parts = [f"{p}{c.name}" if c.is_list else f"CAST({p}{c.name} AS VARCHAR)" for c in columns_of(kind)]
    parts.append(f"CAST({p}active AS VARCHAR)")
    return f"CAST(json_array({', '.join(parts)}) AS VARCHAR)"


def bucket_sql(kind: str, alias: str = "") -> str:
    """SQL of a row's bucket (definition step 3)."""
    p = f"{alias}." if alias else ""
    return f"right(coalesce(CAST({p}{_key0(kind)} AS VARCHAR), ''), 2)"


_ESCAPES = re.compile(r"(\\\\)|\\u([0-9a-f]{4})")


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def row_text(kind: str, row: Mapping[str, Any]) -> str:
    """The text of one row (a mapping of canonical columns and ``active``): the reference for the SQL form."""
    values: list[Any] = []
    for c in columns_of(kind):
        v = row.get(c.name)
        if c.is_list:
            values.append(None if v is None else [_scalar(x) for x in v])
        else:
            values.append(_scalar(v))
    values.append(_scalar(row.get("active", True)))
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return _ESCAPES.sub(lambda m: m.group(1) or "\\u" + m.group(2).upper(), text)


def bucket_of(kind: str, row: Mapping[str, Any]) -> str:
    v = row.get(_key0(kind))
    return "" if v is None else str(v)[-2:]


def combine_buckets(buckets: Mapping[str, tuple[int, str]]) -> str:
    """The pool digest from its bucket digests (definition step 4)."""
    return hashlib.sha256("".join(sorted(d for _n, d in buckets.values())).encode("ascii")).hexdigest()


def content_digest(kind: str, rows: Iterable[Mapping[str, Any]]) -> tuple[int, str]:
    """``(rows, digest)`` of rows given in Python: the reference implementation (tests, re-implementers)."""
    groups: dict[str, list[str]] = {}
    n = 0
    for row in rows:
        h = hashlib.sha256(row_text(kind, row).encode("utf-8")).hexdigest()
        groups.setdefault(bucket_of(kind, row), []).append(h)
        n += 1
    buckets = {b: (len(hs), hashlib.sha256("".join(sorted(hs)).encode("ascii")).hexdigest()) for b, hs in groups.items()}
    return n, combine_buckets(buckets)


def bucket_digests(store: Store, kind: str, buckets: Sequence[str] | None = None) -> dict[str, tuple[int, str]]:
    """``bucket → (rows, digest)`` of the pool as stored, for ``buckets`` (default: all)."""
    where, params = "", None
    if buckets is not None:
        if not buckets:
            return {}
        where, params = f" WHERE {bucket_sql(kind)} IN (SELECT unnest(?::VARCHAR[]))", [list(buckets)]
    rows = store.execute(
        f"SELECT b, count(*), sha256(array_to_string(list_sort(list(h)), '')) FROM "
        f"(SELECT {bucket_sql(kind)} AS b, sha256({row_text_sql(kind)}) AS h FROM {kind}{where}) GROUP BY b",
        params).fetchall()
    return {b: (int(n), d) for b, n, d in rows}


def bound_contents(payload: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``pool_content`` a ledger payload binds (``kind → {rows, sha256, format}``), or ``{}``."""
    content = payload.get("pool_content") if isinstance(payload, Mapping) else None
    return {k: v for k, v in content.items() if isinstance(v, Mapping)} if isinstance(content, Mapping) else {}


def _meta_int(store: Store, key: str) -> int:
    v = store.scalar("SELECT value FROM meta WHERE key = ?", [key])
    try:
        return int(v) if v is not None else 0
    except ValueError:
        return 0


class PoolBinding:
    """One step's binding of one pool: :meth:`begin` before the change, :meth:`finish` after, :meth:`bound`
    once the ledger entry carrying :meth:`finish`'s value is appended — all inside the step's transaction.

    ``touched`` names the buckets the step may change (``None``: any). Rows never change bucket: a bucket
    depends on the key alone.
    """

    def __init__(self, store: Store, kind: str, touched: list[str] | None, drift: list[dict[str, Any]],
                 previous_seq: int | None) -> None:
        self.store = store
        self.kind = kind
        self.touched = touched
        self.drift = drift
        self.previous_seq = previous_seq
        self._content: dict[str, Any] | None = None

    @classmethod
    def begin(cls, store: Store, kind: str, touched: Iterable[str] | None) -> "PoolBinding":
        """Check the pool against its last binding (the buckets ``touched``, and the cache) before a change.

        Differences are returned in :attr:`drift`; :meth:`record_drift` puts them on the ledger.
        """
        touched_l = None if touched is None else sorted(set(touched))
        drift: list[dict[str, Any]] = []
        row = store.execute("SELECT rows, digest, ledger_seq FROM pool_bindings WHERE kind = ?", [kind]).fetchone()
        cache = {b: (int(n), d) for b, n, d in store.execute(
            "SELECT bucket, rows, digest FROM pool_buckets WHERE kind = ?", [kind]).fetchall()}
        if row is None:
            rows_now = int(store.scalar(f"SELECT count(*) FROM {kind}"))
            ever = store.scalar("SELECT max(seq) FROM ledger WHERE json_extract(payload, ?) IS NOT NULL",
                                [f"$.pool_content.{kind}"])
            predates = _meta_int(store, "bound_after_seq") > 0 or _meta_int(store, "bound_after_import") > 0
            if ever is not None:
                drift.append({"what": "binding", "seq": int(ever),
                              "zh": f"pool_bindings 中缺少 {kind}，而账本第 {ever} 条绑定过它",
                              "en": f"pool_bindings has no row for {kind}, although ledger entry #{ever} bound it"})
            elif (rows_now or cache) and not predates:
                drift.append({"what": "unbound", "rows": rows_now,
                              "zh": f"{kind} 中有 {rows_now} 行从未由 dbsj 导入或记入账本",
                              "en": f"{kind} holds {rows_now} rows that no dbsj import bound on the ledger"})
            # No trustworthy cache: hash everything after the change.
            return cls(store, kind, None, drift, None if ever is None else int(ever))
        n_bound, digest, seq = int(row[0]), row[1], int(row[2])
        entry = store.execute("SELECT payload FROM ledger WHERE seq = ?", [seq]).fetchone()
        bound = bound_contents(json.loads(entry[0])).get(kind) if entry else None
        if bound is None or bound.get("sha256") != digest or bound.get("rows") != n_bound:
            drift.append({"what": "binding", "seq": seq,
                          "zh": f"pool_bindings 中 {kind} 的记录与账本第 {seq} 条不符",
                          "en": f"pool_bindings for {kind} does not match ledger entry #{seq}"})
        if combine_buckets(cache) != digest or sum(n for n, _d in cache.values()) != n_bound:
            # The cache cannot be used: re-hash every bucket, and tell an altered cache from altered rows.
            drift.append({"what": "cache", "zh": f"{kind} 的分桶缓存被改动", "en": f"the bucket cache of {kind} was altered"})
            found = bucket_digests(store, kind)
            if combine_buckets(found) != digest or sum(n for n, _d in found.values()) != n_bound:
                drift.append({"what": "contents", "rows_bound": n_bound, "rows_found": sum(n for n, _d in found.values()),
                              "zh": f"{kind} 的内容与账本第 {seq} 条绑定的不符",
                              "en": f"the contents of {kind} differ from those bound by ledger entry #{seq}"})
            return cls(store, kind, None, drift, seq)
        found = bucket_digests(store, kind, touched_l)
        for b in sorted(set(found) | ({k for k in cache if touched_l is None or k in touched_l})):
            if found.get(b) != cache.get(b):
                f, c = found.get(b, (0, EMPTY_CONTENT)), cache.get(b, (0, EMPTY_CONTENT))
                drift.append({"what": "bucket", "bucket": b, "rows_bound": c[0], "rows_found": f[0],
                              "zh": f"{kind} 的分桶 {b!r} 与账本绑定的内容不符（绑定 {c[0]} 行，现有 {f[0]} 行）",
                              "en": f"bucket {b!r} of {kind} differs from the bound contents "
                                    f"({c[0]} rows bound, {f[0]} found)"})
        return cls(store, kind, touched_l, drift, seq)

    def record_drift(self) -> int | None:
        """Put the differences found by :meth:`begin` on the ledger (``pool.drift``); its sequence number."""
        if not self.drift:
            return None
        from dbsj.store.ledger import Ledger

        entry = Ledger(self.store).append("pool.drift", self.kind, {
            "kind": self.kind, "bound_at": self.previous_seq, "differences": self.drift,
            "reason": "the pool was altered outside dbsj since its last binding",
            "reason_zh": "自上次绑定以来，该名录库在 dbsj 之外被改动"})
        return entry.seq

    def finish(self) -> dict[str, Any]:
        """Re-hash the touched buckets after the change; the ``pool_content`` value to put on the ledger."""
        fresh = bucket_digests(self.store, self.kind, self.touched)
        if self.touched is None:
            self.store.execute("DELETE FROM pool_buckets WHERE kind = ?", [self.kind])
        else:
            self.store.execute("DELETE FROM pool_buckets WHERE kind = ? AND bucket IN (SELECT unnest(?::VARCHAR[]))",
                               [self.kind, self.touched])
        if fresh:
            self.store.execute("INSERT INTO pool_buckets SELECT ?, unnest(?::VARCHAR[]), unnest(?::BIGINT[]), "
                               "unnest(?::VARCHAR[])", [self.kind, list(fresh), [n for n, _d in fresh.values()],
                                                        [d for _n, d in fresh.values()]])
        cache = {b: (int(n), d) for b, n, d in self.store.execute(
            "SELECT bucket, rows, digest FROM pool_buckets WHERE kind = ?", [self.kind]).fetchall()}
        self._content = {"format": CONTENT_FORMAT, "rows": sum(n for n, _d in cache.values()),
                         "sha256": combine_buckets(cache)}
        return dict(self._content)

    def bound(self, seq: int) -> None:
        """Note that ledger entry ``seq`` carries the value :meth:`finish` returned."""
        assert self._content is not None, "finish() first"
        self.store.execute("INSERT OR REPLACE INTO pool_bindings VALUES (?, ?, ?, ?)",
                           [self.kind, self._content["rows"], self._content["sha256"], seq])


def touched_buckets(store: Store, kind: str, relation: str) -> list[str]:
    """The buckets of the rows in ``relation`` (canonical columns of ``kind``): what an upsert of them touches."""
    return [b for (b,) in store.execute(f"SELECT DISTINCT {bucket_sql(kind)} FROM {relation}").fetchall()]


def changes_digest(store: Store, import_id: int) -> str:
    """SHA-256 of an import's ``pool_changes`` rows: their JSON-array texts hashed, sorted, concatenated."""
    return store.scalar(
        "SELECT sha256(coalesce(string_agg(h, '' ORDER BY h), '')) FROM (SELECT sha256(CAST(json_array(kind, key, "
        "field, old_value, new_value) AS VARCHAR)) AS h FROM pool_changes WHERE import_id = ?)", [import_id])


#: Columns of ``imports`` an import's ledger entry repeats (the audit compares them).
IMPORT_FIELDS = ("import_id", "kind", "source", "source_sha256", "encoding", "snapshot", "read", "accepted",
                 "quarantined", "normalised", "inserted", "updated", "unchanged", "deactivated", "quarantine_file",
                 "imported_at")


def import_payload_row(store: Store, import_id: int) -> dict[str, Any] | None:
    """The ``imports`` row of ``import_id`` as the ledger entry states it (timestamps as ISO text)."""
    row = store.execute(f"SELECT {', '.join(IMPORT_FIELDS)} FROM imports WHERE import_id = ?", [import_id]).fetchone()
    if row is None:
        return None
    out = dict(zip(IMPORT_FIELDS, row, strict=True))
    out["imported_at"] = out["imported_at"].isoformat() if out["imported_at"] is not None else None
    return out


def bind_import(store: Store, binding: PoolBinding, import_id: int) -> int:
    """Put import ``import_id`` on the ledger (``pool.imported``): its ``imports`` row, the digest of its
    field-by-field changes and the pool's new contents. Call in the import's transaction; returns the seq."""
    from dbsj.store.ledger import Ledger

    payload = import_payload_row(store, import_id) or {"import_id": import_id}
    payload["changes_sha256"] = changes_digest(store, import_id)
    payload["pool_content"] = {binding.kind: binding.finish()}
    entry = Ledger(store).append("pool.imported", binding.kind, payload)
    binding.bound(entry.seq)
    return entry.seq
