"""Maintenance works 维修工程: affected households sampled for a callback one to two months later."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from portal import settings
from portal.callbacks.plans import households
from portal.callbacks.rules import end_of_working_day
from portal.callbacks.sampling import draw, month_of, month_seed
from portal.extensions import db
from portal.models import Building, CallbackKind, CallbackTask, MaintenanceWork, Role, TaskStatus, Unit, User
from portal.timeutil import local_zone, utcnow


def record_works(title: str, completed_on: date, building_ids: list[int], user: User) -> MaintenanceWork:
    """Register finished works on whole buildings. The caller commits, then samples."""
    buildings = list(db.session.scalars(select(Building).where(Building.id.in_(building_ids))))
    work = MaintenanceWork(title=title.strip(), completed_on=completed_on, created_by_id=user.id,
                           buildings=buildings)
    db.session.add(work)
    db.session.flush()
    return work


def sample(work: MaintenanceWork) -> int:
    """Draw the affected households (reproducibly); creates the missing tasks only."""
    homes = households()
    month = month_of(work.created_at or utcnow())  # the registration month: see sampling's docstring
    seed = month_seed(month)
    percent = settings.get("callback_works_sample_percent")
    start = datetime.combine(work.completed_on, time.min, tzinfo=local_zone())
    not_before = start + timedelta(days=settings.get("callback_works_after_days"))
    due = end_of_working_day(work.completed_on + timedelta(days=settings.get("callback_works_within_days")),
                             work.completed_on)
    have = set(db.session.scalars(select(CallbackTask.unit_id).where(CallbackTask.work_id == work.id)))
    units = db.session.scalars(select(Unit.id).where(Unit.building_id.in_([b.id for b in work.buildings]))
                               .order_by(Unit.id))
    created = 0
    for unit_id in units:
        if unit_id not in homes or unit_id in have:
            continue
        result = draw(seed, f"works-{work.id}-{unit_id}", percent, month)
        if not result.drawn:
            continue
        db.session.add(CallbackTask(kind=CallbackKind.WORKS, status=TaskStatus.PENDING, work_id=work.id,
                                    unit_id=unit_id, resident_id=homes[unit_id].id, assignee_role=Role.CLERK,
                                    not_before=not_before, due_at=max(due, not_before), reason="works",
                                    reason_detail=result.detail))
        created += 1
    return created
