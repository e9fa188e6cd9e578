"""CSV cells that a spreadsheet would run as a formula, neutralised as OWASP recommends — and restored on import.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a formula lead), or with
``'`` itself, is written with one ``'`` in front; a spreadsheet then shows it as text. Import removes exactly
one leading ``'``, so every CSV dbsj writes re-imports to the same values and re-exports byte for byte.
(A hand-made file whose value really begins with ``'`` loses that one character on import: write it as
``''…``.) The same rule in SQL, for bulk exports, is :func:`neutralise_sql` / :func:`restore_sql`.
"""

from __future__ import annotations

__all__ = ["FORMULA_LEADS", "neutralise", "restore", "neutralise_sql", "restore_sql"]

#: First characters that make a spreadsheet evaluate a cell (OWASP CSV injection), plus the escape itself.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralise(cell: str | None) -> str | None:
    """The cell as written to CSV."""
    if cell and cell[0] in FORMULA_LEADS:
        return "'" + cell
    return cell


def restore(cell: str | None) -> str | None:
    """The value of a CSV cell dbsj wrote (inverse of :func:`neutralise`)."""
    if cell and cell[0] == "'":
        return cell[1:]
    return cell


def _leads_sql() -> str:
    return ", ".join("'" + c.replace("'", "''") + "'" if c not in "\t\r" else f"chr({ord(c)})" for c in FORMULA_LEADS)


def neutralise_sql(expr: str) -> str:
    """SQL (DuckDB) of :func:`neutralise` over a VARCHAR expression."""
    return f"CASE WHEN left({expr}, 1) IN ({_leads_sql()}) THEN '''' || {expr} ELSE {expr} END"


def restore_sql(expr: str) -> str:
    """SQL (DuckDB) of :func:`restore` over a VARCHAR expression."""
    return f"CASE WHEN left({expr}, 1) = '''' THEN substr({expr}, 2) ELSE {expr} END"
