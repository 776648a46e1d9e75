"""The deadline scan: only rows whose next threshold has passed, by one indexed range read."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Alert, Case, Deadline
from portal.sla import alerts
from portal.sla.deadlines import next_check
from portal.timeutil import utcnow


@dataclass
class Planned:
    deadline_id: int
    stage: int
    next_check_at: datetime | None
    firings: list[alerts.Firing]


def _advance(d) -> int:
    """Cross the next threshold: returns the level it fires (0 reminder, 1 and 2 escalations)."""
    if d.stage <= 1 and d.due_at is not None and d.due_at <= d.now:
        d.stage = 2  # a reminder after the deadline is pointless: escalate instead
        return 1
    if d.stage == 0:
        d.stage = 1
        return 0
    d.stage = 3
    return 2


def _plan(row, now: datetime) -> Planned:
    """Every threshold the row has crossed by `now`, in order: one scan fires them all."""
    d = SimpleNamespace(clock=row.clock, stage=row.stage, remind_at=row.remind_at, due_at=row.due_at,
                        level2_at=row.level2_at, segment_start=row.segment_start, met_at=None, now=now)
    firings = []
    while (at := next_check(d)) is not None and at <= now:
        level = _advance(d)
        firings.append(alerts.Firing(row.case_id, row.number, row.department_id, row.registered_by_id,
                                     row.owner_id, row.clock, level, row.round,
                                     row.level2_at if level == 2 else row.due_at, row.estate_id))
    return Planned(row.id, d.stage, next_check(d), firings)


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
    """Fire what crossed a threshold by `at` (default now); returns the firings this scan inserted (dry_run: would fire)."""
    at = at or utcnow()
    planned = [_plan(row, at) for row in due_rows(at, limit)]
    firings = [f for p in planned for f in p.firings]
    if dry_run:
        return firings
    fired: list[alerts.Firing] = []
    if planned:
        db.session.execute(
            update(Deadline),
            [{"id": p.deadline_id, "stage": p.stage, "next_check_at": p.next_check_at} for p in planned],
        )
        fired = _inserted(firings, alerts.fire(firings, at))
    db.session.commit()
    return fired


def _inserted(firings: list[alerts.Firing], alert_ids: list[int]) -> list[alerts.Firing]:
    """The firings whose alert this scan inserted; a racing scan's (or an earlier one's) are left out."""
    if not alert_ids:
        return []
    keys = {tuple(row) for row in db.session.execute(
        select(Alert.case_id, Alert.rule, Alert.level, Alert.round).where(Alert.id.in_(alert_ids)))}
    return [f for f in firings if (f.case_id, f.rule, f.level, f.round) in keys]
