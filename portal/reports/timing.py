"""Time to resolve, measured once when a case is completed (kept on the case for the reports)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal.cases.lifecycle import acted
from portal.extensions import db
from portal.models import Case, CaseEvent, Status
from portal.models.cases import OPEN_STATUSES, PAUSED_STATUSES
from portal.sla import calendar

COUNTING = set(OPEN_STATUSES) - set(PAUSED_STATUSES)


def open_work_seconds(case: Case, until: datetime, cal: calendar.WorkCalendar | None = None) -> float:
    """Working seconds the case spent open and not waiting on the resident or a third party.

    Summed over every round: from receipt (or reopening) to completion; time judged
    invalid, resolved or paused does not count.
    """
    cal = cal or calendar.load()
    rows = db.session.execute(
        select(CaseEvent.at, CaseEvent.action, CaseEvent.to_status)
        .where(CaseEvent.case_id == case.id, CaseEvent.to_status.is_not(None)).order_by(CaseEvent.id)).all()
    total, since = 0.0, None
    for at, action, to_status in rows:
        if action == "register":
            at = min(at, case.received_at)
        if at > until:
            break
        counting = Status(to_status) in COUNTING
        if counting and since is None:
            since = at
        elif not counting and since is not None:
            total += cal.work_between(since, at)
            since = None
    if since is not None:
        total += cal.work_between(since, until)
    return total


def on_complete(name: str, *, case: Case, user, event: CaseEvent, **_kw) -> None:
    """Subscriber to `complete`: who completed the case and how long it took (working time)."""
    db.session.flush()
    case.resolved_by_id = user.id if user is not None else None
    case.resolve_work_seconds = open_work_seconds(case, event.at)


def on_reopen(name: str, *, case: Case, **_kw) -> None:
    """A reopened case is not resolved: its time is measured again at the next completion."""
    case.resolve_work_seconds = None


def backfill() -> int:
    """Measure resolved cases that have no time yet (after the 0005 migration); the caller commits."""
    cal = calendar.load()
    done = 0
    for case in db.session.scalars(select(Case).where(Case.resolved_at.is_not(None),
                                                      Case.resolve_work_seconds.is_(None))):
        case.resolve_work_seconds = open_work_seconds(case, case.resolved_at, cal)
        done += 1
    return done


def init_app(app) -> None:
    """Connect the subscribers (called by `create_app`)."""
    acted.connect(on_complete, sender="complete", weak=False)
    for name in ("reject", "callback_reopen"):
        acted.connect(on_reopen, sender=name, weak=False)
