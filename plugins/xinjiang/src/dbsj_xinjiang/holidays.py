"""Xinjiang's regional holidays: 肉孜节 (Eid al-Fitr) and 古尔邦节 (Eid al-Adha).

The autonomous region announces these rest days every year, following the Islamic calendar, so they
move by about eleven days a year and no national calendar carries them. The dates below are
**synthetic**: they sit on the festival's day in the years listed (肉孜节 one day, 古尔邦节 three days)
and serve the demo and tests. A real deployment replaces this table with the region's yearly notice.
Outside these years the plug-in says nothing (``None``), and the national calendar decides.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["REGIONAL_HOLIDAYS", "KNOWN_YEARS", "regional_rest_day"]

_D = dt.date

#: date -> festival, for the years this plug-in knows.
REGIONAL_HOLIDAYS: dict[dt.date, str] = {
    _D(2022, 5, 3): "肉孜节",
    _D(2022, 7, 9): "古尔邦节", _D(2022, 7, 10): "古尔邦节", _D(2022, 7, 11): "古尔邦节",
    _D(2023, 4, 21): "肉孜节",
    _D(2023, 6, 28): "古尔邦节", _D(2023, 6, 29): "古尔邦节", _D(2023, 6, 30): "古尔邦节",
    _D(2024, 4, 10): "肉孜节",
    _D(2024, 6, 16): "古尔邦节", _D(2024, 6, 17): "古尔邦节", _D(2024, 6, 18): "古尔邦节",
    _D(2025, 3, 31): "肉孜节",
    _D(2025, 6, 6): "古尔邦节", _D(2025, 6, 7): "古尔邦节", _D(2025, 6, 8): "古尔邦节",
}

KNOWN_YEARS: tuple[int, ...] = tuple(sorted({d.year for d in REGIONAL_HOLIDAYS}))


def regional_rest_day(day: dt.date) -> str | None:
    """The festival ``day`` is a regional rest day for, or ``None``."""
    return REGIONAL_HOLIDAYS.get(day)
