"""The deadline scan: only rows whose next threshold has passed, by one indexed range read."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Case, Deadline
from portal.sla import alerts
from portal.sla.deadlines import next_check
from portal.timeutil import utcnow


@dataclass
class Planned:
    deadline_id: int
    stage: int
    next_check_at: datetime | None
    firing: alerts.Firing | None


def _plan(row, now: datetime) -> Planned:
    """What crossing the row's next threshold means: a reminder, an escalation, or nothing."""
    d = SimpleNamespace(clock=row.clock, stage=row.stage, remind_at=row.remind_at, due_at=row.due_at,
                        level2_at=row.level2_at, segment_start=row.segment_start, met_at=None)
    rule, level = row.clock, None
    if d.stage <= 1 and d.due_at is not None and d.due_at <= now:
        d.stage, level = 2, 1  # a reminder after the deadline is pointless: escalate instead
    elif d.stage == 0:
        d.stage, level = 1, 0
    elif d.stage == 2 and d.level2_at is not None and d.level2_at <= now:
        d.stage, level = 3, 2
    firing = None
    if level is not None:
        firing = alerts.Firing(row.case_id, row.number, row.department_id, row.registered_by_id,
                               row.owner_id, rule, level, row.round,
                               row.level2_at if level == 2 else row.due_at, row.estate_id)
    return Planned(row.id, d.stage, next_check(d), firing)


def due_rows(now: datetime, limit: int):
    return db.session.execute(
        select(Deadline.id, Deadline.case_id, Deadline.clock, Deadline.round, Deadline.stage,
               Deadline.remind_at, Deadline.due_at, Deadline.level2_at, Deadline.segment_start,
               Case.number, Case.department_id, Case.registered_by_id, Case.owner_id, Case.estate_id)
        .join(Case, Case.id == Deadline.case_id)
        .where(Deadline.next_check_at <= now)
        .order_by(Deadline.next_check_at)
        .limit(limit)
    ).all()


def scan(at: datetime | None = None, dry_run: bool = False, limit: int = 5000) -> list[alerts.Firing]:
    """Fire what crossed a threshold by `at` (default now); with dry_run, only say what would fire."""
    at = at or utcnow()
    planned = [_plan(row, at) for row in due_rows(at, limit)]
    firings = [p.firing for p in planned if p.firing is not None]
    if dry_run:
        return firings
    if planned:
        db.session.execute(
            update(Deadline),
            [{"id": p.deadline_id, "stage": p.stage, "next_check_at": p.next_check_at} for p in planned],
        )
        alerts.fire(firings, at)
    db.session.commit()
    return firings
