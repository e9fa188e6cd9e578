"""Order-independent digests of id sets: the pool digest kept at import and the draws' stratum commitments.

**Pool digest and v1 stratum digest.** ``set_digest(ids)`` is the SHA-256 hex of the concatenation, in
ascending order, of the lowercase SHA-256 hex of each id's UTF-8 bytes. It does not depend on row order, and
any inserted, deleted or edited id changes it. The same definition in SQL (DuckDB and Spark alike)::

    sha256(string_agg(sha256(id), '' ORDER BY sha256(id)))

and the empty set's digest is SHA-256 of the empty string. The aggregate holds 64 bytes per id in memory
(640 MB for 10 million ids): v1 draws digest strata in bounded batches.

**v2 stratum digest** (``dbsj-sha256-bottomk/2``, docs/draw-spec.md §3.3): salted with the draw's seal,
``hex(SHA-256(D ‖ id₁ ‖ LF ‖ … ‖ idₙ ‖ LF))`` over the stratum's ids in ascending byte order, where
``D = dbsj.verifier.eligible_salt(seal)``. No per-id hash and no string aggregate: :func:`eligible_digests`
sorts the stored eligible set once in DuckDB (an external sort, so memory stays bounded) and streams the
sorted ids as Arrow batches straight into incremental SHA-256 — the batch's value buffer *is* the
concatenation, so no Python object is made per id. The portable SQL form of the same value (Spark)::

    sha2(concat(unhex(:D_hex), encode(concat_ws('', sort_array(collect_list(concat(id, '\\n')))), 'UTF-8')), 256)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["set_digest", "SET_DIGEST_SQL", "EMPTY_DIGEST", "refresh_pool_digest", "eligible_digests"]

EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()

#: SQL expression over a column named ``id`` (aggregate); wrap with coalesce for the empty set.
SET_DIGEST_SQL = f"coalesce(sha256(string_agg(sha256(id), '' ORDER BY sha256(id))), '{EMPTY_DIGEST}')"

_STRATA = "_dbsj_digest_strata"


def set_digest(ids: Iterable[str]) -> str:
    """The order-independent digest of a set of ids (duplicates are the caller's error)."""
    hexes = sorted(hashlib.sha256(i.encode("utf-8")).hexdigest() for i in ids)
    return hashlib.sha256("".join(hexes).encode("ascii")).hexdigest()


def refresh_pool_digest(store, kind: str) -> str:  # noqa: ANN001 - Store, avoid import cycle
    """Recompute and store the digest of a pool's active natural keys (single-column keys only)."""
    from dbsj.models.columns import natural_key

    (key,) = natural_key(kind)
    row_count, digest = store.execute(
        f"SELECT count(*), {SET_DIGEST_SQL} FROM (SELECT {key} AS id FROM {kind} WHERE active)").fetchone()
    store.execute("INSERT OR REPLACE INTO pool_digests VALUES (?, ?, ?, ?)", [kind, row_count, digest, store.now()])
    return digest


def _value_bytes(arr: pa.Array) -> memoryview:
    """The contiguous UTF-8 bytes of all values of a string array (its value buffer between the first and
    last offsets)."""
    bufs = arr.buffers()
    width = "q" if pa.types.is_large_string(arr.type) else "i"
    offsets = memoryview(bufs[1]).cast(width)
    return memoryview(bufs[2])[offsets[arr.offset]:offsets[arr.offset + len(arr)]] if bufs[2] is not None \
        else memoryview(b"")


def eligible_digests(con: Any, draw_id: str, salt: bytes, *, batch_rows: int = 1 << 17) -> list[tuple[str, int, str]]:
    """``(stratum, eligible, digest)`` of a draw's stored eligible set (v2 digests), ascending by label bytes.

    ``salt`` is ``D`` (:func:`dbsj.verifier.eligible_salt`). Ids must not contain a line feed (the commit
    refuses control characters in ids before anything is stored).
    """
    counts = sorted(((s, int(n)) for s, n in con.execute(
        "SELECT stratum, count(*) FROM draw_eligible WHERE draw_id = ? GROUP BY stratum", [draw_id]).fetchall()),
        key=lambda r: r[0].encode("utf-8"))
    if not counts:
        return []
    hashers = [hashlib.sha256(salt) for _ in counts]
    # strata are sorted by number, not by their (long, similar) labels: comparing labels made the sort 3× slower
    con.register(_STRATA, pa.table({"stratum": pa.array([s for s, _n in counts], pa.string()),
                                    "no": pa.array(range(len(counts)), pa.int32())}))
    newline = pa.scalar("\n")
    empty = pa.scalar("")
    try:
        reader = con.sql(f"SELECT n.no, e.uscc FROM draw_eligible e JOIN {_STRATA} n ON n.stratum = e.stratum "
                         f"WHERE e.draw_id = $1 ORDER BY n.no, e.uscc", params=[draw_id]).to_arrow_reader(batch_rows)
        for batch in reader:
            if batch.num_rows == 0:
                continue
            nos = batch.column(0)
            lines = pc.binary_join_element_wise(batch.column(1), empty, newline)
            # runs of one stratum within the batch (the batch is sorted by stratum number)
            if batch.num_rows > 1:
                changes = pc.indices_nonzero(pc.not_equal(nos.slice(1), nos.slice(0, len(nos) - 1))).to_pylist()
            else:
                changes = []
            start = 0
            for end in [c + 1 for c in changes] + [batch.num_rows]:
                hashers[nos[start].as_py()].update(_value_bytes(lines.slice(start, end - start)))
                start = end
    finally:
        con.unregister(_STRATA)
    return [(s, n, h.hexdigest()) for (s, n), h in zip(counts, hashers)]
