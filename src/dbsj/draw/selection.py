"""Selection: the k smallest tickets of each stratum, ties by id — one SQL window, no per-target Python.

The ticket source is a seam: :func:`select_bottom_k` takes any relation with ``stratum, id, ticket``
columns, so tests can feed it made-up tickets (every ordering of a small pool) and check the selection
logic exactly, apart from the hash. With ``keys`` (``dbsj-sha256-bottomk/2``) the relation gives
``stratum, id`` and the ticket is ``sha256(K || id bytes)`` with K from a per-stratum key table joined by
stratum — the same selection SQL, so the seam covers both.

With real tickets (uniform hex) a pre-filter keeps only tickets below a per-stratum threshold chosen so
that each stratum keeps comfortably more than k candidates (k + 8·√k + 32 expected); a stratum left with
fewer than k candidates is re-run without the filter. The filter never changes the result — the k smallest
tickets of a stratum are always below any threshold that leaves at least k — it only spares the sort.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from dbsj.draw.tickets import id_bytes_sql

__all__ = ["select_bottom_k", "select_into", "SELECT_SQL"]

#: The portable core (DuckDB, Spark): rank within stratum by (ticket, id) among the candidates below the
#: stratum's threshold and keep rank ≤ k. (Spark has no QUALIFY: filter rank ≤ k in an outer query.)
SELECT_SQL = """
SELECT c.stratum, c.id, c.ticket,
       row_number() OVER (PARTITION BY c.stratum ORDER BY c.ticket, c.id) AS rank
FROM ({candidates}) c
WHERE c.ticket < c.threshold
QUALIFY rank <= c.k
"""

_K = "_dbsj_draw_k"


def _threshold(k: int, n: int) -> str:
    """The pre-filter bound of a stratum; ``'g'`` sorts after every hex digit (no filter)."""
    if k >= n or n == 0:
        return "g"
    p = (k + 8 * math.sqrt(k) + 32) / n
    if p >= 1:
        return "g"
    return format(min(2**32 - 1, math.ceil(p * 2**32)), "08x")


def _candidates(relation: str, keyed: bool) -> str:
    if keyed:
        ticket = f"sha256(s.key || {id_bytes_sql('r.id')})"
    else:
        ticket = "r.ticket"
    return (f"SELECT r.stratum, r.id, {ticket} AS ticket, s.k, s.threshold "
            f"FROM ({relation}) r JOIN {_K} s ON s.stratum = r.stratum")


def select_into(con: Any, table: str, relation: str, sizes: dict[str, tuple[int, int]], *,
                params: list[Any] | None = None, prefilter: bool = True,
                keys: dict[str, bytes] | None = None) -> int:
    """Create the temporary table ``table`` (``stratum, id, ticket, rank``) with the selection; returns its row count.

    :param relation: SQL of a relation with columns ``stratum, id, ticket`` — or ``stratum, id`` with ``keys``.
    :param sizes: stratum → ``(k, eligible)``.
    :param keys: stratum → 32-byte ticket key (``dbsj-sha256-bottomk/2``); tickets are ``sha256(key || id)``.
    :param prefilter: use the ticket-threshold pre-filter (only valid for uniformly distributed hex tickets).
    """
    strata = sorted(sizes)
    limits = {s: (_threshold(*sizes[s]) if prefilter else "g") for s in strata}
    k_table = pa.table({"stratum": pa.array(strata, pa.string()),
                        "k": pa.array([sizes[s][0] for s in strata], pa.int64()),
                        "threshold": pa.array([limits[s] for s in strata], pa.string()),
                        "key": pa.array([(keys or {}).get(s, b"") for s in strata], pa.binary())})
    con.register(_K, k_table)
    try:
        sql = SELECT_SQL.format(candidates=_candidates(relation, keys is not None))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}", list(params or []))
        got = dict(con.execute(f"SELECT stratum, count(*) FROM {table} GROUP BY stratum").fetchall())
        short = [s for s in strata if got.get(s, 0) < sizes[s][0] and limits[s] != "g"]
        if short:
            # the pre-filter left too few in these strata: draw them again without it
            con.unregister(_K)
            k_table = k_table.filter(pa.array([s in set(short) for s in strata]))
            k_table = k_table.set_column(2, "threshold", pa.array(["g"] * k_table.num_rows, pa.string()))
            con.register(_K, k_table)
            con.execute(f"DELETE FROM {table} WHERE list_contains(?::VARCHAR[], stratum)", [short])
            con.execute(f"INSERT INTO {table} {sql}", list(params or []))
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    finally:
        con.unregister(_K)


def select_bottom_k(con: Any, relation: str, sizes: dict[str, tuple[int, int]], *,
                    params: list[Any] | None = None, prefilter: bool = True,
                    keys: dict[str, bytes] | None = None) -> list[tuple[str, str, str, int]]:
    """Rows ``(stratum, id, ticket, rank)`` ordered by stratum then rank (see :func:`select_into`)."""
    table = "_dbsj_bottom_k"
    try:
        select_into(con, table, relation, sizes, params=params, prefilter=prefilter, keys=keys)
        rows = con.execute(f"SELECT stratum, id, ticket, rank FROM {table} ORDER BY stratum, rank").fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return [(s, i, t, int(r)) for s, i, t, r in rows]
