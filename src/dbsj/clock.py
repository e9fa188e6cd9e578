"""The injectable clock. All dates are Beijing time (Asia/Shanghai).

``DBSJ_NOW`` (ISO date or datetime) or the CLI's ``--at`` fixes "now"; the demo and the tests run on a
2023 clock, the plan year, so results, deadlines and calendars agree.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

__all__ = ["BEIJING", "now", "today", "set_now"]

BEIJING = ZoneInfo("Asia/Shanghai")
_fixed: dt.datetime | None = None


def _parse(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        from dbsj.errors import InputError

        raise InputError(f"无法识别的时间 {text!r}（应为 ISO 格式，如 2023-06-01 或 2023-06-01T09:00）",
                         f"cannot read time {text!r} (use ISO format, e.g. 2023-06-01 or 2023-06-01T09:00)") from None
    return value.replace(tzinfo=BEIJING) if value.tzinfo is None else value.astimezone(BEIJING)


def set_now(value: str | dt.datetime | dt.date | None) -> None:
    """Fix the clock (``None`` releases it). Dates mean 09:00 Beijing time that day."""
    global _fixed
    if value is None:
        _fixed = None
    elif isinstance(value, dt.datetime):
        _fixed = value.replace(tzinfo=BEIJING) if value.tzinfo is None else value.astimezone(BEIJING)
    elif isinstance(value, dt.date):
        _fixed = dt.datetime(value.year, value.month, value.day, 9, 0, tzinfo=BEIJING)
    else:
        _fixed = _parse(value)


def now() -> dt.datetime:
    """The current time in Beijing: the fixed clock, else ``DBSJ_NOW``, else the system clock."""
    if _fixed is not None:
        return _fixed
    env = os.environ.get("DBSJ_NOW")
    if env:
        return _parse(env)
    return dt.datetime.now(BEIJING)


def today() -> dt.date:
    """Today's date in Beijing."""
    return now().date()
