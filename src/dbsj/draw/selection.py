"""Selection: the k smallest tickets of each stratum, ties by id — one SQL window, no per-target Python.

The ticket source is a seam: :func:`select_bottom_k` takes any relation with ``stratum, id, ticket``
columns, so tests can feed it made-up tickets (every ordering of a small pool) and check the selection
logic exactly, apart from the hash.

With real tickets (uniform hex) a pre-filter keeps only tickets below a per-stratum threshold chosen so
that each stratum keeps comfortably more than k candidates (k + 8·√k + 32 expected); a stratum left with
fewer than k candidates is re-run without the filter. The filter never changes the result — the k smallest
tickets of a stratum are always below any threshold that leaves at least k — it only spares the sort.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

__all__ = ["select_bottom_k", "SELECT_SQL"]

#: The portable core (DuckDB, Spark): rank within stratum by (ticket, id) and keep rank ≤ k.
SELECT_SQL = """
SELECT c.stratum, c.id, c.ticket,
       row_number() OVER (PARTITION BY c.stratum ORDER BY c.ticket, c.id) AS rank
FROM ({candidates}) c JOIN {k_table} k ON k.stratum = c.stratum
QUALIFY rank <= k.k
"""

_K = "_dbsj_draw_k"


def _threshold(k: int, n: int) -> str | None:
    if k >= n or n == 0:
        return None
    p = (k + 8 * math.sqrt(k) + 32) / n
    if p >= 1:
        return None
    return format(min(2**32 - 1, math.ceil(p * 2**32)), "08x")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def select_bottom_k(con: Any, relation: str, sizes: dict[str, tuple[int, int]], *,
                    params: list[Any] | None = None, prefilter: bool = True) -> list[tuple[str, str, str, int]]:
    """Rows ``(stratum, id, ticket, rank)`` ordered by stratum then rank.

    :param relation: SQL of a relation with columns ``stratum, id, ticket``.
    :param sizes: stratum → ``(k, eligible)``.
    :param prefilter: use the ticket-threshold pre-filter (only valid for uniformly distributed hex tickets).
    """
    k_table = pa.table({"stratum": pa.array(list(sizes), pa.string()),
                        "k": pa.array([k for k, _ in sizes.values()], pa.int64())})
    con.register(_K, k_table)
    try:
        full: set[str] = set() if prefilter else set(sizes)
        while True:
            # per-stratum thresholds as a portable CASE; 'g' sorts after every hex digit (no filter)
            limits = {s: _threshold(k, n) for s, (k, n) in sorted(sizes.items()) if s not in full}
            limits = {s: t for s, t in limits.items() if t is not None}
            if not limits:
                candidates = f"SELECT stratum, id, ticket FROM ({relation})"
            else:
                case = " ".join(f"WHEN {_lit(s)} THEN {_lit(t)}" for s, t in limits.items())
                candidates = (f"SELECT stratum, id, ticket FROM ({relation}) "
                              f"WHERE ticket < CASE stratum {case} ELSE 'g' END")
            sql = SELECT_SQL.format(candidates=candidates, k_table=_K) + " ORDER BY c.stratum, rank"
            rows = con.execute(sql, list(params or [])).fetchall()
            got: dict[str, int] = {}
            for r in rows:
                got[r[0]] = got.get(r[0], 0) + 1
            short = {s for s, (k, _n) in sizes.items() if got.get(s, 0) < k and s in limits}
            if not short:
                return [(s, i, t, int(rank)) for s, i, t, rank in rows]
            full |= short
    finally:
        con.unregister(_K)
