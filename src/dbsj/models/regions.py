"""Prefectures of region codes (GB/T 2260): the one rule that strata, inspector locality and assessment share.

A region's prefecture is its first four digits + ``00``, except county-level cities administered directly by
the province (digits 3–4 are ``90``, e.g. Xinjiang's 6590xx), which stand alone (design §10).
"""

from __future__ import annotations

__all__ = ["prefecture_of", "prefecture_sql"]


def prefecture_of(region: str | None) -> str:
    """The prefecture code of a six-digit region code (``""`` for a blank one)."""
    if not region:
        return ""
    region = region.strip()
    return region[:6] if region[2:4] == "90" else region[:4] + "00"


def prefecture_sql(column: str) -> str:
    """The same rule as a portable SQL expression over ``column``."""
    return f"CASE WHEN substr({column}, 3, 2) = '90' THEN {column} ELSE substr({column}, 1, 4) || '00' END"
