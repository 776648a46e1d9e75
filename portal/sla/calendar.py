"""Working days and working hours in mainland China (SPEC §3).

Precedence for a year: the manager-entered schedule (CalendarDay rows), else the
chinesecalendar library (official data 2004–2026, make-up days included), else
weekends only — and managers are warned until they enter the schedule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chinese_calendar import constants as cn
from flask import current_app, g, has_app_context
from flask_babel import lazy_gettext as _l

from portal import settings
from portal.extensions import db
from portal.models import CalendarDay

SECTION = _l("Working hours and calendar")
settings.define("work_start", "08:30", _l("Working day starts"), "time", SECTION)
settings.define("work_end", "17:30", _l("Working day ends"), "time", SECTION)

LIBRARY_YEARS = range(min(cn.holidays).year, max(cn.holidays).year + 1)


def _hm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass
class WorkCalendar:
    """An immutable snapshot: overrides loaded once, then pure arithmetic."""

    zone: ZoneInfo
    start: time = time(8, 30)
    end: time = time(17, 30)
    overrides: dict[date, bool] = field(default_factory=dict)
    manual_years: frozenset[int] = frozenset()

    @property
    def day_seconds(self) -> float:
        return (datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)).total_seconds()

    def source(self, year: int) -> str:
        """Where a year's working days come from: manual, library or weekends."""
        if year in self.manual_years:
            return "manual"
        return "library" if year in LIBRARY_YEARS else "weekends"

    def is_working_day(self, day: date) -> bool:
        source = self.source(day.year)
        if source == "manual":
            return self.overrides.get(day, day.weekday() < 5)
        if source == "library":
            if day in cn.workdays:
                return True
            return day.weekday() < 5 and day not in cn.holidays
        return day.weekday() < 5

    def _window(self, day: date) -> tuple[datetime, datetime]:
        return (datetime.combine(day, self.start, self.zone), datetime.combine(day, self.end, self.zone))

    def add_work(self, moment: datetime, seconds: float) -> datetime:
        """The moment when `seconds` of working time have passed after `moment`."""
        cur = moment.astimezone(self.zone)
        remaining = max(0.0, seconds)
        day = cur.date()
        for _ in range(3660):  # ten years of days: a broken calendar must not loop forever
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin = max(cur, opens)
                if begin < closes:
                    available = (closes - begin).total_seconds()
                    if remaining <= available:
                        return (begin + timedelta(seconds=remaining)).astimezone(moment.tzinfo)
                    remaining -= available
            day += timedelta(days=1)
            cur = datetime.combine(day, time(0), self.zone)
        raise ValueError("no working time found within ten years")

    def work_between(self, a: datetime, b: datetime) -> float:
        """Working seconds between two moments (0 if b is not after a)."""
        if b <= a:
            return 0.0
        a, b = a.astimezone(self.zone), b.astimezone(self.zone)
        total, day = 0.0, a.date()
        while day <= b.date():
            if self.is_working_day(day):
                opens, closes = self._window(day)
                lo, hi = max(a, opens), min(b, closes)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total


def load() -> WorkCalendar:
    """The calendar for this request or job (settings and overrides read once)."""
    cached = g.get("_work_calendar") if has_app_context() else None
    if cached is not None:
        return cached
    rows = db.session.execute(db.select(CalendarDay.day, CalendarDay.working)).all()
    cal = WorkCalendar(
        zone=ZoneInfo(current_app.config["TIMEZONE"]),
        start=_hm(settings.get("work_start")), end=_hm(settings.get("work_end")),
        overrides={day: working for day, working in rows},
        manual_years=frozenset(day.year for day, _ in rows),
    )
    g._work_calendar = cal
    return cal


def missing_years(today: date, cal: WorkCalendar | None = None) -> list[int]:
    """This year and next (deadlines set in late December fall next year) lacking official data."""
    cal = cal or load()
    return [y for y in (today.year, today.year + 1) if cal.source(y) == "weekends"]


# --- the manager's schedule entry --------------------------------------------------------

LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s*(?:\.\.|~|至)\s*(\d{4}-\d{2}-\d{2}))?\s*(.*)$")


class ScheduleError(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def parse_schedule(year: int, text: str, working: bool) -> dict[date, tuple[bool, str]]:
    """Lines like `2027-10-01..2027-10-07 国庆节` or `2027-09-26 调休上班` into days of `year`."""
    days: dict[date, tuple[bool, str]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = LINE.match(line)
        try:
            first = date.fromisoformat(match.group(1)) if match else None
            last = date.fromisoformat(match.group(2)) if match and match.group(2) else first
        except ValueError:
            first = last = None
        if first is None:
            raise ScheduleError(_l("Line %(n)d: write a date as YYYY-MM-DD, or a range YYYY-MM-DD..YYYY-MM-DD.",
                                   n=number))
        if last < first or (last - first).days > 31:
            raise ScheduleError(_l("Line %(n)d: the range is backwards or longer than a month.", n=number))
        if first.year != year or last.year != year:
            raise ScheduleError(_l("Line %(n)d: the date is not in %(year)d.", n=number, year=year))
        day = first
        while day <= last:
            days[day] = (working, match.group(3).strip()[:50])
            day += timedelta(days=1)
    return days


def save_schedule(year: int, holidays: str, workdays: str) -> int:
    """Replace a year's manual schedule; returns the number of days stored. The caller commits."""
    days = parse_schedule(year, holidays, False)
    clash = set(days) & set(parse_schedule(year, workdays, True))
    if clash:
        raise ScheduleError(_l("%(day)s is listed both as a holiday and as a working day.",
                               day=min(clash).isoformat()))
    days.update(parse_schedule(year, workdays, True))
    db.session.execute(db.delete(CalendarDay).where(CalendarDay.year == year))
    db.session.add_all(CalendarDay(day=d, year=year, working=w, name=n) for d, (w, n) in sorted(days.items()))
    g.pop("_work_calendar", None)
    return len(days)


def schedule_text(year: int, working: bool) -> str:
    """A stored year back as editable lines."""
    rows = db.session.scalars(db.select(CalendarDay).where(CalendarDay.year == year, CalendarDay.working == working)
                              .order_by(CalendarDay.day))
    return "\n".join(f"{r.day.isoformat()} {r.name}".strip() for r in rows)
