"""Per-case deadlines: start, meet, pause and re-budget clocks (SPEC §3, §5); `sla.clocks` says when.

Everything here adds to the session and the caller commits.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_

from portal import settings
from portal.models import Case, Deadline
from portal.models.cases import OPEN_STATUSES, PAUSED_STATUSES
from portal.sla import calendar, policy

# Clocks that keep running while a case waits on the resident or a third party:
# a promised date is the department's own word, notices and callbacks are ours to make.
UNPAUSED = {"promise", "invalid_notice", "callback", "callback_reply"}


def _shift(cal: calendar.WorkCalendar, metric: str, moment: datetime, seconds: float) -> datetime:
    return cal.add_work(moment, seconds) if metric == "work" else moment + timedelta(seconds=seconds)


def _measure(cal: calendar.WorkCalendar, metric: str, a: datetime, b: datetime) -> float:
    return cal.work_between(a, b) if metric == "work" else max(0.0, (b - a).total_seconds())


def next_check(d: Deadline) -> datetime | None:
    """The next threshold the scan must look at, or None."""
    if d.met_at is not None or d.segment_start is None:
        return None
    if d.stage == 0:
        return d.remind_at if d.remind_at is not None and d.remind_at < d.due_at else d.due_at
    if d.stage == 1:
        return d.due_at
    if d.stage == 2:
        return d.level2_at
    return None


def schedule(d: Deadline, cal: calendar.WorkCalendar) -> None:
    """Work out reminder, due and level-2 times from the budget left in the running segment."""
    if d.segment_start is None or d.met_at is not None:
        d.next_check_at = None
        return
    left = d.budget_seconds - d.spent_seconds
    d.due_at = _shift(cal, d.metric, d.segment_start, left)
    remind_left = d.budget_seconds * settings.get("reminder_percent") / 100 - d.spent_seconds
    d.remind_at = _shift(cal, d.metric, d.segment_start, remind_left) if remind_left > 0 else None
    d.level2_at = (cal.add_work(d.due_at, settings.get("level2_working_days") * cal.day_seconds)
                   if d.clock == "resolution" else None)
    d.next_check_at = next_check(d)


def _budget(case: Case, clock: str, cal: calendar.WorkCalendar) -> tuple[str, float] | None:
    if clock == "dispatch" and case.urgent:
        return "clock", settings.get("urgent_dispatch_minutes") * 60.0
    lvl = policy.level(case.kind, case.severity, clock, case.estate_id)
    return policy.budget(lvl, cal.day_seconds) if lvl.active else None


def _find(case: Case, clock: str, rnd: int | None = None) -> Deadline | None:
    found = [d for d in case.deadlines if d.clock == clock and (rnd is None or d.round == rnd)]
    return found[-1] if found else None


def start(case: Case, clock: str, at: datetime, cal: calendar.WorkCalendar, rnd: int = 0,
          due: datetime | None = None) -> Deadline | None:
    """Start a clock (once per round); `due` fixes an absolute due time (a promise)."""
    existing = _find(case, clock, rnd)
    if existing is not None and due is None:
        return existing
    if due is not None:
        metric, seconds = "clock", max(0.0, (due - at).total_seconds())
    else:
        found = _budget(case, clock, cal)
        if found is None:
            return None
        metric, seconds = found
    d = existing or Deadline(clock=clock, round=rnd, stage=0, spent_seconds=0.0, paused_seconds=0.0)
    if existing is None:
        case.deadlines.append(d)
    d.metric, d.budget_seconds, d.started_at, d.segment_start = metric, seconds, at, at
    d.spent_seconds, d.met_at, d.stage = 0.0, None, 0
    schedule(d, cal)
    return d


def meet(case: Case, clocks, at: datetime, cancelled: bool = False) -> None:
    """Stop clocks because what they waited for happened (or no longer applies)."""
    for d in case.deadlines:
        if d.clock in clocks and d.met_at is None:
            d.met_at, d.cancelled, d.next_check_at = at, cancelled, None


def start_reply_promise(case: Case, at: datetime, due: datetime) -> Deadline:
    """A reply promised during a callback (SPEC §5): one clock per promise."""
    rnd = sum(1 for d in case.deadlines if d.clock == "callback_reply")
    d = start(case, "callback_reply", at, calendar.load(), rnd, due=due)
    summarise(case)
    return d


def meet_reply_promise(case: Case, due: datetime, at: datetime) -> None:
    """The promised reply was given: stop its clock (the earliest open one with that due time)."""
    for d in case.deadlines:
        if d.clock == "callback_reply" and d.met_at is None and d.due_at == due:
            d.met_at, d.next_check_at = at, None
            break
    summarise(case)


def pause(case: Case, at: datetime, cal: calendar.WorkCalendar) -> None:
    for d in case.deadlines:
        if d.running and d.clock not in UNPAUSED:
            d.spent_seconds += _measure(cal, d.metric, d.segment_start, at)
            d.segment_start, d.paused_at, d.next_check_at = None, at, None


def resume(case: Case, at: datetime, cal: calendar.WorkCalendar) -> None:
    for d in case.deadlines:
        if d.met_at is None and d.paused_at is not None:
            d.paused_seconds += (at - d.paused_at).total_seconds()
            d.segment_start, d.paused_at = at, None
            schedule(d, cal)


def rebudget(case: Case, cal: calendar.WorkCalendar, at: datetime) -> None:
    """Severity, kind or urgency changed: policy clocks take the new allowance."""
    for d in case.deadlines:
        if d.met_at is not None or d.clock not in policy.POLICY_CLOCKS:
            continue
        found = _budget(case, d.clock, cal)
        if found is None:
            meet(case, {d.clock}, at, cancelled=True)
            continue
        d.metric, d.budget_seconds = found
        schedule(d, cal)


def summarise(case: Case) -> None:
    """Keep the earliest running due time on the case for boards."""
    running = [d for d in case.deadlines if d.running and d.due_at is not None]
    first = min(running, key=lambda d: d.due_at, default=None)
    case.due_at = first.due_at if first else None
    case.due_clock = first.clock if first else None
    case.remind_at = first.remind_at if first else None
    case.sla_paused = case.status in PAUSED_STATUSES


def overdue_clause(now: datetime):
    """Open cases with a running deadline already passed."""
    return and_(Case.status.in_(OPEN_STATUSES), Case.due_at.is_not(None), Case.due_at < now)


def is_overdue(case: Case, now: datetime) -> bool:
    return case.is_open and case.due_at is not None and case.due_at < now


def urgency(case: Case, now: datetime) -> str:
    """'overdue', 'warn' (past the reminder point), 'ok', 'paused' or '' for boards."""
    return urgency_of(case.status, case.sla_paused, case.due_at, case.remind_at, now)


def urgency_of(status, sla_paused: bool, due_at: datetime | None, remind_at: datetime | None,
               now: datetime) -> str:
    """urgency() from column values (case lists select columns, not Case objects)."""
    if status not in OPEN_STATUSES:
        return ""
    if sla_paused:
        return "paused"
    if due_at is None:
        return ""
    if due_at < now:
        return "overdue"
    return "warn" if remind_at is not None and remind_at <= now else "ok"
