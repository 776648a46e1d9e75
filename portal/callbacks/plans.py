"""Monthly callback plans (SPEC §6): generated from the rules, edited and published by a manager."""
from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal import settings
from portal.callbacks.rules import end_of_working_day
from portal.callbacks.service import CallbackError
from portal.extensions import db
from portal.models import (
    CallbackKind, CallbackPlan, CallbackTask, Case, LocationType, PlanStatus, Residency, Role, Status, TaskStatus, Unit,
    User,
)
from portal.timeutil import local_zone, utcnow

LIVE = (TaskStatus.PLANNED, TaskStatus.PENDING, TaskStatus.DONE, TaskStatus.UNREACHABLE)
PLAN_KINDS = (CallbackKind.ROUTINE, CallbackKind.NEW_RESIDENT, CallbackKind.MANAGER_VISIT, CallbackKind.INCIDENT)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def weeks(year: int, month: int) -> list[tuple[date, date]]:
    """Four call weeks: days 1–7, 8–14, 15–21 and 22 to the month's end."""
    start, end = month_bounds(year, month)
    cuts = [start + timedelta(days=7 * i) for i in range(4)] + [end]
    return list(zip(cuts[:-1], cuts[1:]))


def _at(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone())


def _due(week: tuple[date, date]) -> datetime:
    """A week's calls are due at the close of its last working day, never at midnight."""
    return end_of_working_day(week[1] - timedelta(days=1), week[0])


def households() -> dict[int, User]:
    """Units with a resident account we can call: unit id -> first resident."""
    rows = db.session.scalars(select(User).where(User.role == Role.RESIDENT, User.active.is_(True),
                                                 User.unit_id.is_not(None)).order_by(User.id))
    found: dict[int, User] = {}
    for user in rows:
        found.setdefault(user.unit_id, user)
    return found


def _units_with(kind: CallbackKind, since: datetime, until: datetime | None = None) -> set[int]:
    stmt = select(CallbackTask.unit_id).where(CallbackTask.kind == kind, CallbackTask.status.in_(LIVE),
                                              CallbackTask.due_at >= since)
    if until is not None:
        stmt = stmt.where(CallbackTask.due_at < until)
    return set(db.session.scalars(stmt))


def _task(plan, kind, unit_id, resident, week, reason, role=Role.CLERK, case_id=None) -> CallbackTask:
    task = CallbackTask(kind=kind, status=TaskStatus.PLANNED, plan_id=plan.id, unit_id=unit_id,
                        resident_id=resident.id if resident else None, case_id=case_id,
                        assignee_role=role, not_before=_at(week[0]), due_at=_due(week), reason=reason)
    db.session.add(task)
    return task


def generate(year: int, month: int) -> CallbackPlan:
    """The month's draft plan; an existing plan is returned unchanged (safe to run twice)."""
    plan = db.session.scalar(select(CallbackPlan).filter_by(year=year, month=month))
    if plan is not None:
        return plan
    plan = CallbackPlan(year=year, month=month, status=PlanStatus.DRAFT)
    db.session.add(plan)
    db.session.flush()
    homes = households()
    slots = weeks(year, month)
    start, end = month_bounds(year, month)
    _routine(plan, homes, slots, year, month)
    _new_residents(plan, homes, slots, start, end)
    _manager_visits(plan, homes, slots, year, month)
    _incidents(plan, homes, slots, start)
    return plan


def _routine(plan, homes, slots, year, month) -> None:
    """Each household once a quarter, a third each month; topped up to the weekly minimum."""
    q_start = date(year, (month - 1) // 3 * 3 + 1, 1)
    called = _units_with(CallbackKind.ROUTINE, _at(q_start))
    group = (month - 1) % 3
    due = [u for u in sorted(homes) if u not in called and u % 3 == group]
    # The quarter's last month takes everyone still owed.
    if group == 2:
        due = [u for u in sorted(homes) if u not in called]
    minimum = settings.get("callback_weekly_minimum") * len(slots)
    if len(due) < minimum:
        extra = [u for u in sorted(homes) if u not in called and u not in due]
        due += extra[:minimum - len(due)]
    for i, unit_id in enumerate(due):
        _task(plan, CallbackKind.ROUTINE, unit_id, homes[unit_id], slots[i % len(slots)], "routine")


def _new_residents(plan, homes, slots, start, end) -> None:
    """Every household that moved in recently (the register's move-in date), in its first month."""
    days = settings.get("callback_new_resident_days")
    since = min(_at(start) - timedelta(days=days), _catch_up_since(start))
    moves = db.session.execute(
        select(Residency.unit_id, Residency.moved_in, User).join(User, User.id == Residency.user_id)
        .where(User.role == Role.RESIDENT, User.active.is_(True), Residency.moved_out.is_(None),
               Residency.moved_in >= since.date(), Residency.moved_in < end)
        .order_by(Residency.moved_in, Residency.id)).all()
    done = _units_with(CallbackKind.NEW_RESIDENT, since)
    for unit_id, moved, user in moves:
        if unit_id in done:
            continue
        week = next((w for w in slots if w[0] <= moved < w[1]), slots[0])
        _task(plan, CallbackKind.NEW_RESIDENT, unit_id, user, week, "new_resident")
        done.add(unit_id)


def _manager_visits(plan, homes, slots, year, month) -> None:
    """Spread the year's manager home visits; visit households with the most cases first."""
    per_year = settings.get("callback_manager_visits_per_year")
    year_start, year_end = _at(date(year, 1, 1)), _at(date(year + 1, 1, 1))
    planned = _units_with(CallbackKind.MANAGER_VISIT, year_start, year_end)
    owed = math.ceil(per_year * month / 12) - len(planned)
    if owed <= 0:
        return
    busiest = db.session.execute(
        select(Case.unit_id, func.count(Case.id)).where(Case.unit_id.in_(list(homes)),
                                                        Case.received_at >= year_start - timedelta(days=365))
        .group_by(Case.unit_id).order_by(func.count(Case.id).desc(), Case.unit_id)).all()
    chosen = [u for u, _ in busiest if u not in planned][:owed]
    for i, unit_id in enumerate(chosen):
        _task(plan, CallbackKind.MANAGER_VISIT, unit_id, homes[unit_id], slots[(1 + i) % len(slots)],
              "manager_visit", role=Role.MANAGER)


def _catch_up_since(start: date) -> datetime:
    """Two months back: what happened after the previous plan was drafted (ten days before its
    month) is planned in this one; what is already planned is skipped."""
    previous = (start - timedelta(days=1)).replace(day=1)
    return _at((previous - timedelta(days=1)).replace(day=1))


def _incidents(plan, homes, slots, start) -> None:
    """Every household whose urgent repair at home was handled since the last plans and is not yet planned."""
    cases = db.session.scalars(select(Case).where(
        Case.urgent.is_(True), Case.unit_id.is_not(None), Case.location_type == LocationType.UNIT, Case.resolved_at >= _catch_up_since(start),
        Case.resolved_at < _at(start), Case.status.in_((Status.RESOLVED, Status.CALLBACK_DONE, Status.CLOSED))))
    for case in cases:
        exists = db.session.scalar(select(CallbackTask.id).where(
            CallbackTask.case_id == case.id, CallbackTask.kind == CallbackKind.INCIDENT))
        if exists is None:
            _task(plan, CallbackKind.INCIDENT, case.unit_id, case.resident or homes.get(case.unit_id),
                  slots[0], "incident", case_id=case.id)


def add_item(plan: CallbackPlan, unit_id: int, kind: str, day: date) -> CallbackTask:
    """A manager adds a household to a draft plan, in the week of `day`."""
    _editable(plan)
    slot = next((w for w in weeks(plan.year, plan.month) if w[0] <= day < w[1]), None)
    if slot is None:
        raise CallbackError(_l("Choose a date in the plan's month."), "day")
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise CallbackError(_l("Choose a household."), "unit_id")
    kind = CallbackKind(kind)
    resident = households().get(unit_id)
    role = Role.MANAGER if kind == CallbackKind.MANAGER_VISIT else Role.CLERK
    return _task(plan, kind, unit_id, resident, slot, "added", role=role)


def remove_item(task: CallbackTask) -> None:
    """Take a household out of a draft plan (kept, marked cancelled)."""
    if task.plan_id is None or task.status != TaskStatus.PLANNED:
        raise CallbackError(_l("Only households of a draft plan can be removed."))
    task.status, task.outcome, task.closed_at = TaskStatus.CANCELLED, "removed", utcnow()


def short_weeks(plan: CallbackPlan) -> list[tuple[date, date, int]]:
    """(first day, last day, households) of each week below the weekly minimum (SPEC §6: ≥10 a week),
    counting the plan's households of every estate, for the warning shown before publishing."""
    minimum = settings.get("callback_weekly_minimum")
    live = [t for t in plan.tasks if t.status != TaskStatus.CANCELLED and t.not_before is not None]
    short = []
    for start, end in weeks(plan.year, plan.month):
        units = {t.unit_id for t in live if start <= t.not_before.astimezone(local_zone()).date() < end}
        if len(units) < minimum:
            short.append((start, end - timedelta(days=1), len(units)))
    return short


def publish(plan: CallbackPlan, user: User) -> int:
    """The plan's households enter the callback queue."""
    _editable(plan)
    plan.status, plan.published_at, plan.published_by_id = PlanStatus.PUBLISHED, utcnow(), user.id
    n = 0
    for task in db.session.scalars(select(CallbackTask).where(CallbackTask.plan_id == plan.id,
                                                              CallbackTask.status == TaskStatus.PLANNED)):
        task.status = TaskStatus.PENDING
        n += 1
    return n


def _editable(plan: CallbackPlan) -> None:
    if plan.status != PlanStatus.DRAFT:
        raise CallbackError(_l("This plan is already published."))
