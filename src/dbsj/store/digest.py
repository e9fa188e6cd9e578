"""Order-independent digests of id sets: the pool digest kept at import and the draw's stratum commitments.

``set_digest(ids)`` is the SHA-256 hex of the concatenation, in ascending order, of the lowercase
SHA-256 hex of each id's UTF-8 bytes. It does not depend on row order, and any inserted, deleted or
edited id changes it. The same definition in SQL (DuckDB and Spark alike)::

    sha256(string_agg(sha256(id), '' ORDER BY sha256(id)))

and the empty set's digest is SHA-256 of the empty string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["set_digest", "SET_DIGEST_SQL", "EMPTY_DIGEST", "refresh_pool_digest"]

EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()

#: SQL expression over a column named ``id`` (aggregate); wrap with coalesce for the empty set.
SET_DIGEST_SQL = f"coalesce(sha256(string_agg(sha256(id), '' ORDER BY sha256(id))), '{EMPTY_DIGEST}')"


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
