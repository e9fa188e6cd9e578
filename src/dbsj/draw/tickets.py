"""Tickets of the native algorithm ``dbsj-sha256-bottomk/1``, in Python and in portable SQL.

A ticket is the lowercase hex SHA-256 of five netstring-style fields — algorithm id, seed, task id,
stratum label, target id — each written ``<UTF-8 byte length>:<bytes>`` (docs/draw-spec.md §2). The Python
functions are the reference (:mod:`dbsj.verifier`, standard library only); the SQL builds the same bytes
with DuckDB's ``strlen`` (bytes) and ``sha256``; on Spark, ``octet_length`` and ``sha2(…, 256)``.
"""

from __future__ import annotations

from dbsj.verifier import ALGORITHM, encode_field, ticket, ticket_message

__all__ = ["ALGORITHM", "encode_field", "ticket", "ticket_message", "sql_literal", "ticket_sql", "field_sql"]


def sql_literal(text: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def field_sql(expr: str) -> str:
    """SQL for one length-prefixed field of a VARCHAR expression (DuckDB ``strlen`` counts UTF-8 bytes)."""
    return f"strlen({expr})::VARCHAR || ':' || {expr}"


def ticket_sql(seed: str, task_id: str, stratum_expr: str = "stratum", id_expr: str = "id",
               algorithm: str = ALGORITHM) -> str:
    """SQL expression of a row's ticket. The constant leading fields are folded into one literal."""
    prefix = b"".join(encode_field(v) for v in (algorithm, seed, task_id)).decode("utf-8")
    return f"sha256({sql_literal(prefix)} || {field_sql(stratum_expr)} || {field_sql(id_expr)})"
