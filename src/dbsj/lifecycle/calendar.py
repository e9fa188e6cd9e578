"""The Chinese working-day calendar: plug-ins, then schedules imported into the store, then chinese-calendar,
then a clear error.

Per date (design §10): the ``dbsj_workday`` hook is asked first (first non-None answer wins: regional
holidays such as Xinjiang's 肉孜节 and 古尔邦节, or years chinese-calendar lacks); ``None`` falls through to
the calendars imported into the store (``dbsj calendar import``, :mod:`dbsj.lifecycle.calendar_data`): a
regional holiday is a day off; in a year with an imported national schedule its listed days answer and every
other day follows the week (Monday–Friday work). Then chinese-calendar (national holidays and make-up
workdays, data for a fixed range of years, detected from the package); outside that range the answer is
:class:`~dbsj.CalendarError`, never a guess.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dbsj.errors import CalendarError, PluginError

if TYPE_CHECKING:
    from dbsj.plugins import PluginManager
    from dbsj.store.store import Store

__all__ = ["WorkdayCalendar", "is_workday", "add_workdays", "chinese_calendar_years"]


def chinese_calendar_years() -> tuple[int, int]:
    """The first and last year chinese-calendar has holiday data for (read from the installed package)."""
    from chinese_calendar import constants

    years = [d.year for d in constants.holidays]
    return min(years), max(years)


class WorkdayCalendar:
    """Working days for one plug-in manager (default: the process-wide one) and, given ``store``, the calendars
    imported into it (read once, when the calendar is made).

    Answers are cached per calendar object; make a new one after registering plug-ins or importing a calendar.
    """

    def __init__(self, plugins: "PluginManager | None" = None, store: "Store | None" = None) -> None:
        if plugins is None:
            from dbsj.plugins import get_plugin_manager

            plugins = get_plugin_manager()
        self.plugins = plugins
        if store is not None:
            from dbsj.lifecycle.calendar_data import stored_calendar

            self._imported_years, self._imported_days, self._regional = stored_calendar(store)
        else:
            self._imported_years, self._imported_days, self._regional = set(), {}, set()
        self._years = chinese_calendar_years()
        self._cache: dict[dt.date, bool] = {}
        self._added: dict[tuple[dt.date, int], dt.date] = {}

    @property
    def builtin_years(self) -> tuple[int, int]:
        """The range of years the built-in (chinese-calendar) data covers."""
        return self._years

    def is_workday(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day. Raises :class:`~dbsj.CalendarError` outside every calendar's data."""
        if isinstance(day, dt.datetime):
            day = day.date()
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        try:
            answer = self.plugins.hook.dbsj_workday(day=day)
        except Exception as exc:  # name the culprit: a broken calendar must not look like "no data"
            raise PluginError(f"工作日插件出错: {type(exc).__name__}: {exc}",
                              f"working-day plug-in failed: {type(exc).__name__}: {exc}",
                              plugin="dbsj_workday") from exc
        if answer is None and day in self._regional:
            answer = False
        elif answer is None and day.year in self._imported_years:
            listed = self._imported_days.get(day)
            answer = listed if listed is not None else day.weekday() < 5
        if answer is None:
            first, last = self._years
            if not first <= day.year <= last:
                raise CalendarError(
                    f"日期 {day.isoformat()} 超出工作日历数据范围（内置 chinese-calendar 仅含 {first}–{last} 年，"
                    "存储中未导入该年度安排，也无插件提供该日）",
                    f"date {day.isoformat()} is outside every working-day calendar (built-in chinese-calendar covers "
                    f"{first}–{last}; no imported schedule or plug-in answered for it)",
                    where=day.isoformat(),
                    hint_zh=f"用 dbsj calendar import 导入国务院办公厅公布的 {day.year} 年节假日安排"
                            "（见 docs/calendar-format.md），或启用提供该年度日历的插件（实现 dbsj_workday 钩子），"
                            "或升级 chinesecalendar 包",
                    hint_en=f"import the State Council's {day.year} holiday schedule with dbsj calendar import "
                            "(docs/calendar-format.md), or enable a calendar plug-in for that year (hook dbsj_workday), "
                            "or upgrade chinesecalendar",
                    date=day.isoformat())
            import chinese_calendar

            answer = bool(chinese_calendar.is_workday(day))
        elif not isinstance(answer, bool):
            raise PluginError(f"dbsj_workday 应返回 True/False/None，实际返回 {answer!r}",
                              f"dbsj_workday must return True/False/None, got {answer!r}", plugin="dbsj_workday")
        self._cache[day] = answer
        return answer

    def add_workdays(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``day`` (``day`` itself is not counted; ``n >= 0``).

        ``add_workdays(d, 0)`` is ``d``. Every day crossed must be known to a calendar.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        found = self._added.get((day, n))
        if found is not None:
            return found
        current, left = day, n
        while left:
            current += dt.timedelta(days=1)
            if self.is_workday(current):
                left -= 1
        self._added[(day, n)] = current
        return current

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
        count, current = 0, start
        while current < end:
            current += dt.timedelta(days=1)
            count += self.is_workday(current)
        return count


def is_workday(day: dt.date, plugins: "PluginManager | None" = None) -> bool:
    """Whether ``day`` is a Chinese working day (plug-ins, then chinese-calendar; else CalendarError)."""
    return WorkdayCalendar(plugins).is_workday(day)


def add_workdays(day: dt.date, n: int, plugins: "PluginManager | None" = None) -> dt.date:
    """The ``n``-th working day after ``day`` on the Chinese working-day calendar."""
    return WorkdayCalendar(plugins).add_workdays(day, n)
