"""Working days and hours across the 2026 National Day holiday, its make-up days and a year without data."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.extensions import db
from portal.sla import calendar
from portal.sla.calendar import ScheduleError, WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
HOUR = 3600.0


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar(zone=SH)  # 08:30-17:30, library data


@pytest.mark.parametrize("day, working", [
    (date(2026, 9, 30), True),    # eve of National Day (Wednesday)
    (date(2026, 10, 1), False),   # National Day
    (date(2026, 10, 7), False),   # last day of the holiday
    (date(2026, 10, 8), True),    # back to work (Thursday)
    (date(2026, 9, 20), True),    # make-up working Sunday
    (date(2026, 10, 10), True),   # make-up working Saturday
    (date(2026, 10, 11), False),  # ordinary Sunday
    (date(2026, 9, 25), False),   # Mid-Autumn Festival (Friday)
])
def test_2026_national_day_and_make_up_days(cal, day, working):
    assert cal.is_working_day(day) is working


def test_two_working_hours_from_1700_on_the_eve_of_national_day(cal):
    """Half an hour on 30 September, then the holiday, then 90 minutes on 8 October."""
    assert cal.add_work(at(2026, 9, 30, 17, 0), 2 * HOUR) == at(2026, 10, 8, 10, 0)


def test_three_working_days_from_the_eve_end_on_the_make_up_saturday(cal):
    """27 working hours: 0.5 h on 30 Sep, 9 h on 8 and 9 Oct, 8.5 h on Saturday 10 Oct (make-up day)."""
    assert cal.add_work(at(2026, 9, 30, 17, 0), 3 * cal.day_seconds) == at(2026, 10, 10, 17, 0)


def test_one_working_day_from_the_make_up_sunday_before_mid_autumn(cal):
    # Sunday 20 Sep is a working day: 10:00 + 9 working hours = Monday 21 Sep 10:00.
    assert cal.add_work(at(2026, 9, 20, 10, 0), cal.day_seconds) == at(2026, 9, 21, 10, 0)


@pytest.mark.parametrize("start, hours, expected", [
    (at(2026, 11, 23, 7, 0), 1, at(2026, 11, 23, 9, 30)),     # before opening: counts from 08:30
    (at(2026, 11, 23, 17, 30), 1, at(2026, 11, 24, 9, 30)),   # exactly at closing: next morning
    (at(2026, 11, 23, 17, 29), 0, at(2026, 11, 23, 17, 29)),  # nothing to add
    (at(2026, 11, 27, 17, 0), 1, at(2026, 11, 30, 9, 0)),     # Friday evening → Monday
    (at(2026, 11, 28, 12, 0), 9, at(2026, 11, 30, 17, 30)),   # Saturday: the whole of Monday
])
def test_working_hour_edges(cal, start, hours, expected):
    assert cal.add_work(start, hours * HOUR) == expected


def test_work_between_is_the_inverse_of_add_work(cal):
    start = at(2026, 9, 29, 16, 0)
    for hours in (0.5, 2, 9, 20, 40):
        end = cal.add_work(start, hours * HOUR)
        assert cal.work_between(start, end) == pytest.approx(hours * HOUR)


def test_a_year_without_data_falls_back_to_weekends_only(cal):
    assert cal.source(2027) == "weekends"
    assert cal.is_working_day(date(2027, 1, 1))       # New Year's Day: unknown without a schedule
    assert not cal.is_working_day(date(2027, 1, 2))   # a Saturday
    # Late-December deadlines run into 2027 on weekdays only.
    assert cal.add_work(at(2026, 12, 31, 17, 0), 2 * HOUR) == at(2027, 1, 1, 10, 0)


def test_managers_schedule_overrides_the_library_and_fills_a_missing_year(app):
    stored = calendar.save_schedule(2027, "2027-01-01 元旦\n2027-02-05..2027-02-11 春节", "2027-02-14 调休上班")
    db.session.commit()
    assert stored == 9
    cal = calendar.load()
    assert cal.source(2027) == "manual"
    assert not cal.is_working_day(date(2027, 1, 1))
    assert not cal.is_working_day(date(2027, 2, 8))
    assert cal.is_working_day(date(2027, 2, 14))  # a Sunday made a working day
    assert calendar.missing_years(date(2026, 12, 20), cal) == []
    assert calendar.schedule_text(2027, True) == "2027-02-14 调休上班"


def test_missing_years_warn_about_next_year(app):
    assert calendar.missing_years(date(2026, 11, 22)) == [2027]


@pytest.mark.parametrize("text, message", [
    ("2027-13-01 坏日期", "YYYY-MM-DD"),
    ("2026-10-01 国庆", "2027 年"),
    ("2027-10-07..2027-10-01", "颠倒"),
])
def test_a_bad_schedule_line_is_refused_and_nothing_stored(app, text, message):
    with pytest.raises(ScheduleError) as info:
        calendar.save_schedule(2027, text, "")
    assert message in str(info.value.message)
    db.session.rollback()
    assert calendar.load().source(2027) == "weekends"


def test_a_day_cannot_be_both_holiday_and_working(app):
    with pytest.raises(ScheduleError):
        calendar.save_schedule(2027, "2027-10-01 国庆", "2027-10-01 上班")


def test_working_hours_come_from_settings(app):
    from portal import settings
    settings.put("work_start", "09:00")
    settings.put("work_end", "18:00")
    db.session.commit()
    cal = calendar.load()
    assert cal.add_work(at(2026, 11, 23, 8, 0), HOUR) == at(2026, 11, 23, 10, 0)
    assert cal.day_seconds == 9 * HOUR
    assert cal.add_work(at(2026, 11, 23, 17, 30), HOUR) == at(2026, 11, 24, 9, 30)
    assert timedelta(hours=1).total_seconds() == HOUR
