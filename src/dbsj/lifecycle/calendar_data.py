"""Working-day calendars from data: a year's official schedule and a region's holidays, imported into the store.

Each November or December the State Council publishes the next year's holidays and make-up workdays (调休),
and provinces announce regional holidays (Xinjiang's 肉孜节, 古尔邦节). A schedule file (YAML or JSON, format
``dbsj-calendar/1``, docs/calendar-format.md) transcribes one such notice; ``dbsj calendar import`` validates it
as a whole — every date inside its year, no day both a holiday and a make-up workday, a make-up workday only on
a weekend, no day listed twice, no year twice — and stores it with its source (title and document number) and a
ledger entry (``calendar.imported``) binding the digest of its days. :class:`~dbsj.WorkdayCalendar` consults the
stored schedules before chinese-calendar.

One store serves one region: the regional holidays it holds are all of one region code, and they apply to every
date the store's calendar answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import attrs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dbsj import clock
from dbsj._failpoints import declare, failpoint
from dbsj.errors import CalendarError
from dbsj.store.ledger import Ledger
from dbsj.store.store import Store

__all__ = ["CalendarImport", "CALENDAR_FORMAT", "import_calendar", "calendar_schedules"]

#: The value of a schedule file's ``format`` key.
CALENDAR_FORMAT = "dbsj-calendar/1"

_AFTER_ROWS = declare("calendar.import.after-rows", "calendar import: a schedule's ledger entry and rows written, "
                      "not yet committed (same transaction)")
_AFTER_COMMIT = declare("calendar.import.after-commit", "calendar import: committed, the caller not yet told")

#: Region value of the national schedule (``calendar_sources.region``, ``calendar_days.region``).
NATIONAL = ""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """The notice a schedule transcribes."""

    title: str = Field(min_length=1, description="the notice's title (通知标题)")
    number: str = Field(min_length=1, description="its document number (文号), e.g. 国办发明电〔2025〕7号")
    url: str | None = None
    published: dt.date | None = None


class DaySpan(_Strict):
    """Days off: one day (``from`` alone) or a run of days, named after the festival."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    start: dt.date = Field(alias="from")
    end: dt.date | None = Field(None, alias="to")

    def days(self) -> list[dt.date]:
        last = self.end or self.start
        return [self.start + dt.timedelta(days=i) for i in range((last - self.start).days + 1)]


class MakeUpDay(_Strict):
    """A weekend day worked (调休上班)."""

    date: dt.date
    name: str = Field("调休上班", min_length=1)


class RegionalHolidays(_Strict):
    """A region's own holidays for the year (days off in that region only)."""

    code: str = Field(pattern=r"^[1-9][0-9]{1,5}$", description="GB/T 2260 code or prefix, e.g. 65")
    name: str = Field(min_length=1)
    source: Source
    holidays: list[DaySpan] = Field(min_length=1)


class ScheduleFile(_Strict):
    """The whole file: one year's national schedule, optionally one region's holidays."""

    format: str
    year: int = Field(ge=2015, le=2100)
    example: bool = Field(False, description="true: illustrative dates, not an official schedule")
    source: Source
    holidays: list[DaySpan] = Field(min_length=1)
    workdays: list[MakeUpDay] = Field(default_factory=list)
    region: RegionalHolidays | None = None


@attrs.frozen(slots=True)
class CalendarImport:
    """What one import stored: per schedule (national ``""``, else the region code) its days and ledger entry."""

    year: int
    file: str
    example: bool
    schedules: tuple[tuple[str, int, int], ...]  #: (region, days listed, ledger seq)
    #: days of the national schedule on which the built-in chinese-calendar (when it holds the year) answers
    #: otherwise: a transcription error, or a correction of the package — shown to the user either way
    differs_from_builtin: tuple[dt.date, ...] = ()


def _fail(where: str, zh: str, en: str, **kw: Any) -> CalendarError:
    return CalendarError(zh, en, where=where, **kw)


def load_calendar_file(path: str | Path) -> tuple[ScheduleFile, list[tuple[str, dt.date, str, str]], str]:
    """Read and validate a schedule file. Returns the file, its days as ``(region, day, kind, name)`` sorted,
    and the file's SHA-256. Every problem is a :class:`~dbsj.CalendarError` naming ``file:line`` and the field."""
    from dbsj._yaml import load_located_yaml, located_errors

    path = Path(path)
    doc = load_located_yaml(path, CalendarError)
    data = doc.data
    if not isinstance(data, dict):
        raise _fail(str(path), "日历文件应为一个映射（format: dbsj-calendar/1, year: …）",
                    "a calendar file must be a mapping (format: dbsj-calendar/1, year: …)")
    if data.get("format") != CALENDAR_FORMAT:
        raise _fail(doc.where(("format",)), f"format 应为 {CALENDAR_FORMAT}，实际为 {data.get('format')!r}",
                    f"format must be {CALENDAR_FORMAT}, got {data.get('format')!r}",
                    hint_zh="见 docs/calendar-format.md", hint_en="see docs/calendar-format.md")
    try:
        sched = ScheduleFile.model_validate(data)
    except ValidationError as exc:
        lines = located_errors(doc, exc)
        raise CalendarError("日历文件无效:\n  " + "\n  ".join(lines), "invalid calendar file:\n  " + "\n  ".join(lines),
                            where=str(path), errors=lines,
                            hint_zh="见 docs/calendar-format.md", hint_en="see docs/calendar-format.md") from None
    year = sched.year
    listed: dict[tuple[str, dt.date], tuple[str, str, tuple[Any, ...]]] = {}

    def add(region: str, day: dt.date, kind: str, name: str, loc: tuple[Any, ...]) -> None:
        w = doc.where(loc)
        field = ".".join(str(p) for p in loc)
        if day.year != year:
            raise _fail(w, f"{field}: 日期 {day} 不在 {year} 年内", f"{field}: {day} is outside the year {year}",
                        hint_zh="一个文件只载一个年度；跨年假期的上一年部分写入上一年的文件",
                        hint_en="one file holds one year; the part of a holiday in another year goes in that year's file")
        prior = listed.get((region, day))
        if prior is not None:
            other = ".".join(str(p) for p in prior[2])
            if prior[0] != kind:
                raise _fail(w, f"{field}: {day} 既是放假日又是调休上班日（另见 {other}，{doc.where(prior[2])}）",
                            f"{field}: {day} is both a holiday and a make-up workday (see {other}, {doc.where(prior[2])})")
            raise _fail(w, f"{field}: {day} 重复列出（另见 {other}，{doc.where(prior[2])}）",
                        f"{field}: {day} is listed twice (see {other}, {doc.where(prior[2])})")
        listed[(region, day)] = (kind, name, loc)

    for i, span in enumerate(sched.holidays):
        if span.end is not None and span.end < span.start:
            raise _fail(doc.where(("holidays", i, "to")), f"holidays.{i}.to: 结束日 {span.end} 早于开始日 {span.start}",
                        f"holidays.{i}.to: end {span.end} is before the start {span.start}")
        for day in span.days():
            add(NATIONAL, day, "holiday", span.name, ("holidays", i, "from"))
    for i, wd in enumerate(sched.workdays):
        loc = ("workdays", i, "date")
        if wd.date.weekday() < 5:
            raise _fail(doc.where(loc), f"workdays.{i}.date: 调休上班日 {wd.date} 是工作日（周{'一二三四五'[wd.date.weekday()]}），"
                        "只有周末才需列为调休上班",
                        f"workdays.{i}.date: make-up workday {wd.date} is a weekday already; only weekend days are listed")
        add(NATIONAL, wd.date, "workday", wd.name, loc)
    if sched.region is not None:
        for i, span in enumerate(sched.region.holidays):
            if span.end is not None and span.end < span.start:
                raise _fail(doc.where(("region", "holidays", i, "to")),
                            f"region.holidays.{i}.to: 结束日 {span.end} 早于开始日 {span.start}",
                            f"region.holidays.{i}.to: end {span.end} is before the start {span.start}")
            for day in span.days():
                add(sched.region.code, day, "holiday", span.name, ("region", "holidays", i, "from"))
    days = sorted(((r, d, k, n) for (r, d), (k, n, _loc) in listed.items()), key=lambda x: (x[0], x[1]))
    return sched, days, hashlib.sha256(path.read_bytes()).hexdigest()


def calendar_days_digest(days: list[tuple[dt.date, str, str]]) -> str:
    """SHA-256 of one schedule's days: the canonical JSON array of ``[day, kind, name]`` sorted by day."""
    rows = [[d.isoformat(), k, n] for d, k, n in sorted(days)]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


def _has_tables(store: Store) -> bool:
    return bool(store.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'calendar_days'"))


def import_calendar(store: Store, path: str | Path, *, replace: bool = False, example: bool = False) -> CalendarImport:
    """Import a schedule file (docs/calendar-format.md) into the store, in one transaction with its ledger entries.

    :param replace: replace a schedule already stored for the same year (and region); without it that is refused.
    :param example: accept a file marked ``example: true`` (illustrative dates); without it such a file is refused,
        so example dates never pass for an official schedule by accident.
    :raises CalendarError: a malformed file (file:line, field), a year or region already stored, an example file
        without ``example``, regional holidays of another region than the store already holds.
    """
    path = Path(path)
    sched, days, file_sha = load_calendar_file(path)
    where = str(path)
    if sched.example and not example:
        raise _fail(where, "该文件标为示例（example: true），其日期不是官方安排，默认不导入",
                    "the file is marked as an example (example: true): its dates are not an official schedule",
                    hint_zh="仅用于演示或测试时加 --example", hint_en="add --example only for a demonstration or a test")
    by_region: dict[str, list[tuple[dt.date, str, str]]] = {}
    for r, d, k, n in days:
        by_region.setdefault(r, []).append((d, k, n))
    by_region.setdefault(NATIONAL, [])
    region = sched.region
    with store.transaction():
        stored = {r for (r,) in store.execute("SELECT region FROM calendar_sources WHERE year = ?", [sched.year]).fetchall()}
        for r in by_region:
            if r in stored and not replace:
                what = "全国安排" if r == NATIONAL else f"地区 {r} 的节假日"
                raise _fail(where, f"{sched.year} 年的{what}已导入本存储", f"the {sched.year} "
                            + ("national schedule" if r == NATIONAL else f"holidays of region {r}") + " are already stored",
                            hint_zh="如需更正，加 --replace（替换记入账本）",
                            hint_en="to correct it, add --replace (the replacement goes on the ledger)")
        if region is not None:
            others = sorted({r for (r,) in store.execute(
                "SELECT DISTINCT region FROM calendar_sources WHERE region <> '' AND region <> ?", [region.code]).fetchall()})
            if others:
                raise _fail(doc_where(path, "region"), f"本存储已有地区 {'、'.join(others)} 的节假日，不能再导入地区 {region.code}"
                            "（一个存储服务一个地区）",
                            f"the store holds regional holidays of {', '.join(others)}; it cannot take region "
                            f"{region.code} as well (one store serves one region)")
        now = clock.now().replace(microsecond=0)
        ledger = Ledger(store)
        out: list[tuple[str, int, int]] = []
        for r in sorted(by_region):
            src = sched.source if r == NATIONAL else region.source  # type: ignore[union-attr]
            listed = by_region[r]
            digest = calendar_days_digest(listed)
            previous = store.scalar("SELECT days_sha256 FROM calendar_sources WHERE year = ? AND region = ?", [sched.year, r])
            store.execute("DELETE FROM calendar_days WHERE region = ? AND year(day) = ?", [r, sched.year])
            store.execute("DELETE FROM calendar_sources WHERE region = ? AND year = ?", [r, sched.year])
            payload: dict[str, Any] = {
                "year": sched.year, "region": r, "region_name": None if r == NATIONAL else region.name,  # type: ignore[union-attr]
                "title": src.title, "number": src.number, "url": src.url,
                "published": src.published.isoformat() if src.published else None, "example": sched.example,
                "file": path.name, "file_sha256": file_sha, "days": len(listed), "days_sha256": digest}
            if previous is not None:
                payload["replaces_days_sha256"] = previous
            entry = ledger.append("calendar.imported", f"{sched.year}/{r or 'national'}", payload)
            store.execute("INSERT INTO calendar_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          [sched.year, r, payload["region_name"], src.title, src.number, src.url, src.published,
                           sched.example, path.name, file_sha, digest, now, entry.seq])
            if listed:
                store.con.executemany("INSERT INTO calendar_days VALUES (?, ?, ?, ?)",
                                      [[d, r, k, n] for d, k, n in listed])
            out.append((r, len(listed), entry.seq))
            failpoint(_AFTER_ROWS)
    failpoint(_AFTER_COMMIT)
    return CalendarImport(sched.year, path.name, sched.example, tuple(out),
                          _builtin_differences(sched.year, by_region[NATIONAL]))


def _builtin_differences(year: int, listed: list[tuple[dt.date, str, str]]) -> tuple[dt.date, ...]:
    """Days of ``year`` where the schedule and chinese-calendar disagree (empty when the package lacks the year)."""
    from dbsj.lifecycle.calendar import chinese_calendar_years

    first, last = chinese_calendar_years()
    if not first <= year <= last:
        return ()
    import chinese_calendar

    kinds = {d: k for d, k, _n in listed}
    out = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        mine = kinds[day] == "workday" if day in kinds else day.weekday() < 5
        if mine != chinese_calendar.is_workday(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return tuple(out)


def doc_where(path: Path, key: str) -> str:
    """``file:line`` of a top-level key (re-read: only on the error path)."""
    from dbsj._yaml import load_located_yaml

    return load_located_yaml(path, CalendarError).where((key,))


def calendar_schedules(store: Store, year: int | None = None) -> list[dict[str, Any]]:
    """The stored schedules (all, or of one year): source, whether an example, and their listed days."""
    if not _has_tables(store):
        return []
    where, params = ("WHERE year = ?", [year]) if year is not None else ("", [])
    out = []
    for (y, r, rname, title, number, url, published, example, fname, digest, imported_at, seq) in store.execute(
            f"SELECT year, region, region_name, title, number, url, published, example, file_name, days_sha256, "
            f"imported_at, ledger_seq FROM calendar_sources {where} ORDER BY year, region", params).fetchall():
        days = store.execute("SELECT day, kind, name FROM calendar_days WHERE region = ? AND year(day) = ? ORDER BY day",
                             [r, y]).fetchall()
        out.append({"year": y, "region": r or None, "region_name": rname, "title": title, "number": number,
                    "url": url, "published": published, "example": example, "file": fname, "days_sha256": digest,
                    "imported_at": imported_at, "ledger_seq": seq,
                    "holidays": [{"date": d, "name": n} for d, k, n in days if k == "holiday"],
                    "workdays": [{"date": d, "name": n} for d, k, n in days if k == "workday"]})
    return out


def stored_calendar(store: Store) -> tuple[set[int], dict[dt.date, bool], set[dt.date]]:
    """What :class:`~dbsj.WorkdayCalendar` reads: the years with a national schedule, the national listed days
    (day -> is a workday) and the regional holidays. Each schedule's days are checked against the digest its
    ``calendar.imported`` entry binds: an altered calendar is a :class:`~dbsj.CalendarError`, never a silent
    change of deadlines."""
    if not _has_tables(store):
        return set(), {}, set()
    sources = store.execute("SELECT year, region, days_sha256, ledger_seq FROM calendar_sources").fetchall()
    years = {int(y) for y, r, _d, _s in sources if r == NATIONAL}
    rows = store.execute("SELECT day, region, kind, name FROM calendar_days").fetchall()
    grouped: dict[tuple[int, str], list[tuple[dt.date, str, str]]] = {}
    for d, r, k, n in rows:
        grouped.setdefault((d.year, r), []).append((d, k, n))
    for y, r, digest, seq in sources:
        bound = store.scalar("SELECT CAST(payload AS VARCHAR) FROM ledger WHERE seq = ? AND kind = 'calendar.imported'", [seq])
        try:
            bound_digest = json.loads(bound).get("days_sha256") if bound is not None else None
        except (TypeError, ValueError, AttributeError):
            bound_digest = None
        if calendar_days_digest(grouped.pop((int(y), r), [])) != digest or bound_digest != digest:
            what = f"{y}/{r or 'national'}"
            raise CalendarError(f"存储中导入的日历安排 {what} 与账本记录不符（被改动），不能据以计算工作日",
                                f"the imported calendar {what} in the store differs from what the ledger bound "
                                "(altered): working days cannot be computed from it",
                                where=what, hint_zh="运行 dbsj audit 查看，并重新导入原文件（--replace）",
                                hint_en="run dbsj audit, and import the original file again (--replace)")
    if grouped:
        what = ", ".join(f"{y}/{r or 'national'}" for y, r in sorted(grouped))
        raise CalendarError(f"存储中有不属于任何已导入安排的日期（{what}）", f"the store lists days of no imported schedule ({what})",
                            where=what, hint_zh="运行 dbsj audit 查看", hint_en="run dbsj audit")
    national: dict[dt.date, bool] = {}
    regional: set[dt.date] = set()
    for d, r, k, _n in rows:
        if r == NATIONAL:
            national[d] = k == "workday"
        elif k == "holiday":
            regional.add(d)
    return years, national, regional

