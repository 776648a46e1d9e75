"""Callback settings (SPEC §6 defaults, editable by managers) and when a callback is due."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from portal import settings
from portal.sla import calendar, policy

SECTION = _l("Callbacks")

settings.define("callback_repair_sample_percent", 30, _l("Repairs sampled for a callback (%)"), "percent", SECTION,
                help=_l("100 calls back every repair. Reopened, major and low-rated repairs are always drawn."),
                min=0, max=100)
settings.define("callback_works_sample_percent", 30, _l("Units sampled after maintenance works (%)"), "percent",
                SECTION, min=0, max=100)
settings.define("callback_works_after_days", 30, _l("Works callback: earliest, days after completion"), "int",
                SECTION, min=0, max=365)
settings.define("callback_works_within_days", 60, _l("Works callback: due, days after completion"), "int",
                SECTION, min=1, max=365)
settings.define("callback_retry_hours", 24, _l("Unreachable: try again after (hours)"), "int", SECTION,
                min=1, max=336)
settings.define("callback_max_attempts", 3, _l("Unreachable: attempts before giving up"), "int", SECTION,
                min=1, max=10)
settings.define("callback_survey_link_days", 7, _l("Survey link valid for (days)"), "int", SECTION,
                help=_l("Signed links sent by SMS or WeChat; they open one survey without logging in."),
                min=1, max=60)
settings.define("callback_weekly_minimum", 10, _l("Plan: households called at least per week"), "int", SECTION,
                min=0, max=500)
settings.define("callback_manager_visits_per_year", 3, _l("Plan: manager home visits per year"), "int", SECTION,
                help=_l("The regulations ask for 2 to 5."), min=0, max=52)
settings.define("callback_new_resident_days", 30, _l("Plan: new residents called within (days)"), "int", SECTION,
                min=1, max=90)


def callback_due(case) -> datetime:
    """When the callback for a resolved case is due: its kind's "callback" service level (/admin/deadlines)."""
    cal = calendar.load()
    lvl = policy.level(case.kind, case.severity, "callback", case.estate_id)
    if not lvl.active:  # switched off for this kind: the default for complaints and repairs
        lvl = policy.default(case.kind.value, "", "callback")
    metric, seconds = policy.budget(lvl, cal.day_seconds)
    return cal.add_work(case.resolved_at, seconds) if metric == "work" else case.resolved_at + timedelta(seconds=seconds)


def retry_at(now: datetime) -> datetime:
    """When to try an unreachable resident again: after the set hours, inside working hours
    (a retry that would fall at 21:27 or on a holiday moves to the next working morning)."""
    return within_working_hours(now + timedelta(hours=settings.get("callback_retry_hours")))


def within_working_hours(moment: datetime) -> datetime:
    """`moment` if it is working time, else the next opening of the working calendar."""
    return calendar.load().add_work(moment, 0)


def end_of_working_day(last, first=None) -> datetime:
    """The close of the last working day from `first` to `last` (a planned callback's due time);
    when that span has none (a holiday week), the close of the next working day after it."""
    cal = calendar.load()
    day = last
    while first is not None and day >= first and not cal.is_working_day(day):
        day -= timedelta(days=1)
    if first is None or day < first:
        day = last
        for _ in range(60):
            if cal.is_working_day(day):
                break
            day += timedelta(days=1)
    return datetime.combine(day, cal.end, cal.zone)
