"""Background work for callbacks: plain functions on ids, each owning its commit, safe to run twice.

The scheduler (portal/sla, portal/notify) calls these; see README "Callbacks".
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from portal.callbacks import plans, service, works
from portal.extensions import db
from portal.models import (
    CallbackPromise, CallbackRecord, CallbackTask, Case, Kind, MaintenanceWork, Status, TaskStatus,
)


def create_task_for_case(case_id: int) -> int | None:
    """A resolved complaint or drawn repair gets its callback task; returns the task id."""
    case = db.session.get(Case, case_id)
    task = service.create_for_case(case) if case is not None else None
    db.session.commit()
    return task.id if task is not None else None


def create_missing_tasks(since: datetime) -> int:
    """Catch-up scan: cases resolved since `since` whose task was never created (e.g. a lost job)."""
    ids = db.session.scalars(select(Case.id).where(
        Case.kind.in_((Kind.COMPLAINT, Kind.REPAIR)), Case.resolved_at >= since,
        Case.status.in_((Status.RESOLVED, Status.CLOSED)))).all()
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
