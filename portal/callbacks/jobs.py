"""Background work for callbacks: plain functions on ids, each owning its commit, safe to run twice.

The minute tick (portal/schedule.py) and the lifecycle queue these; see README "Callbacks".
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from portal.callbacks import plans, service, works
from portal.extensions import db
from portal.models import (
    CallbackPlan, CallbackPromise, CallbackRecord, CallbackTask, Case, Kind, MaintenanceWork, Status,
    TaskStatus,
)
from portal.timeutil import to_local


def create_task_for_case(case_id: int) -> int | None:
    """A resolved complaint or drawn repair gets its callback task; returns the task id."""
    case = db.session.get(Case, case_id)
    task = service.create_for_case(case) if case is not None else None
    db.session.commit()
    return task.id if task is not None else None


def create_missing_tasks(since: datetime) -> int:
    """Catch-up scan: cases resolved since `since` whose task was never created (e.g. a lost job)."""
    has_task = select(CallbackTask.id).where(CallbackTask.case_id == Case.id,
                                             CallbackTask.round == Case.reopen_count).exists()
    ids = db.session.scalars(select(Case.id).where(
        Case.kind.in_((Kind.COMPLAINT, Kind.REPAIR)), Case.resolved_at >= since,
        Case.status.in_((Status.RESOLVED, Status.CLOSED)), ~has_task)).all()
    created = 0
    for case_id in ids:
        case = db.session.get(Case, case_id)
        if service.task_for_case(case) is None and service.create_for_case(case) is not None:
            created += 1
    db.session.commit()
    return created


def generate_plan(year: int, month: int) -> int:
    """The month's draft callback plan for a manager to review; returns its id."""
    plan = plans.generate(year, month)
    db.session.commit()
    return plan.id


def ensure_next_plan(today: date, lead_days: int = 10) -> int | None:
    """From `lead_days` before a month starts, make sure its draft plan exists (one query otherwise)."""
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    if (first - today).days > lead_days:
        return None
    found = db.session.scalar(select(CallbackPlan.id).filter_by(year=first.year, month=first.month))
    return found if found is not None else generate_plan(first.year, first.month)


def tick(now: datetime) -> None:
    """The callback part of the minute tick: lost task creations, next month's plan."""
    create_missing_tasks(now - timedelta(hours=2))
    ensure_next_plan(to_local(now).date())


def sample_works(work_id: int) -> int:
    """Callback tasks for the sampled households of finished maintenance works."""
    work = db.session.get(MaintenanceWork, work_id)
    created = works.sample(work) if work is not None else 0
    db.session.commit()
    return created


def overdue_tasks(now: datetime) -> list[CallbackTask]:
    """Pending callbacks past their due time: escalate to the customer-service manager."""
    return list(db.session.scalars(select(CallbackTask).where(
        CallbackTask.status == TaskStatus.PENDING, CallbackTask.due_at < now).order_by(CallbackTask.due_at)))


def due_soon_tasks(now: datetime, within: timedelta) -> list[CallbackTask]:
    """Pending callbacks due in the next `within`: remind the caller (pool or manager)."""
    return list(db.session.scalars(select(CallbackTask).where(
        CallbackTask.status == TaskStatus.PENDING, CallbackTask.due_at >= now,
        CallbackTask.due_at < now + within).order_by(CallbackTask.due_at)))


def overdue_promises(now: datetime) -> list[CallbackPromise]:
    """Replies promised during a callback and not given in time (SPEC §5: a deadline too)."""
    return list(db.session.scalars(select(CallbackPromise).where(
        CallbackPromise.answered_at.is_(None), CallbackPromise.due_at < now).order_by(CallbackPromise.due_at)))


def repeat_dissatisfied(since: datetime) -> list[CallbackRecord]:
    """Dissatisfied callbacks that reopened a case for the second time: escalate."""
    return list(db.session.scalars(select(CallbackRecord).where(
        CallbackRecord.escalate.is_(True), CallbackRecord.at >= since).order_by(CallbackRecord.at)))
