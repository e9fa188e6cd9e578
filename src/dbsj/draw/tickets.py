"""Tickets of the native algorithms, in Python (the reference, :mod:`dbsj.verifier`) and in portable SQL.

``dbsj-sha256-bottomk/2`` (default): per stratum a 32-byte key ``K`` folds the algorithm id, seed, seal,
task and stratum (computed here in Python, once per stratum); a ticket is ``hex(SHA-256(K ‖ UTF-8 id))`` —
one SHA-256 block for ids up to 23 bytes. In SQL the keys are a small table joined by stratum and the ticket
is ``sha256(key || <id as UTF-8 bytes>)``: DuckDB ``encode(id)``, Spark ``encode(id, 'UTF-8')``. Never
``id::BLOB`` in DuckDB: that cast reads ``\\x41``-style escapes in the text, so ids with a backslash would
hash different bytes.

``dbsj-sha256-bottomk/1``: a ticket is the hex SHA-256 of five netstring fields — algorithm id, seed, task
id, stratum label, target id (docs/draw-spec.md §2.1); the SQL builds the same bytes with ``strlen`` (bytes).
"""

from __future__ import annotations

from dbsj.verifier import (
    ALGORITHM,
    ALGORITHM_V1,
    batch_key,
    encode_field,
    stratum_key,
    ticket,
    ticket_message,
    ticket_v2,
)

__all__ = ["ALGORITHM", "ALGORITHM_V1", "encode_field", "ticket", "ticket_message", "ticket_v2", "stratum_key",
           "batch_key", "sql_literal", "ticket_sql", "field_sql", "id_bytes_sql", "stratum_keys"]


def sql_literal(text: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def id_bytes_sql(expr: str) -> str:
    """SQL of a VARCHAR's UTF-8 bytes as a BLOB. DuckDB-specific spelling, kept in this one place
    (Spark: ``encode(expr, 'UTF-8')``)."""
    return f"encode({expr})"


def field_sql(expr: str) -> str:
    """SQL for one length-prefixed field of a VARCHAR expression (DuckDB ``strlen`` counts UTF-8 bytes)."""
    return f"strlen({expr})::VARCHAR || ':' || {expr}"


def ticket_sql(seed: str, task_id: str, stratum_expr: str = "stratum", id_expr: str = "id",
               algorithm: str = ALGORITHM_V1) -> str:
    """SQL expression of a row's v1 ticket. The constant leading fields are folded into one literal."""
    if algorithm != ALGORITHM_V1:
        raise ValueError(f"ticket_sql builds {ALGORITHM_V1} tickets; {algorithm} tickets use stratum_keys()")
    prefix = b"".join(encode_field(v) for v in (algorithm, seed, task_id)).decode("utf-8")
    return f"sha256({sql_literal(prefix)} || {field_sql(stratum_expr)} || {field_sql(id_expr)})"


def stratum_keys(seed: str, seal: bytes, task_id: str, strata: list[str], algorithm: str = ALGORITHM) -> dict[str, bytes]:
    """stratum → ticket key ``K`` (32 bytes) for a v2 draw."""
    return {s: stratum_key(seed, seal, task_id, s, algorithm) for s in strata}
