"""Whose cases, tasks and notifications a user sees: the rules, free of the web (SPEC §1, §9).

Staff see the cases of their estates (a company-level account sees every estate);
department staff only those dispatched to their department as well. A resident sees
the cases they filed, and as owner or family member of a unit the unit's cases received
while they lived there; a tenant sees only their own. `can_view` (one case) and
`visible_cases_clause` (SQL) say the same thing; docs/scopes.md explains it. The web's
decorators and 404 lookups are in `portal.access`.
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import and_, false, func, or_, select, true

from portal.extensions import db, read_memo
from portal.models import (
    Building, CallbackTask, Case, Notification, Relation, Residency, Role, Unit, User,
)
from portal.timeutil import local_zone

ALL_ROLES = tuple(Role)
STAFF = (Role.CLERK, Role.MANAGER)
# Relations that see the whole unit's cases of their time there; a tenant sees only their own.
HOUSEHOLD_RELATIONS = (Relation.OWNER, Relation.FAMILY)


# --- estates ------------------------------------------------------------------------------

def estate_ids(user: User) -> frozenset[int] | None:
    """The estates a member of staff works for; None: every estate (company-level)."""
    if user.company_wide:
        return None
    return frozenset(e.id for e in user.estates)


def in_estates(user: User, column):
    """SQL: `column` (an estate id) is one of the user's estates; NULL only for company-level staff."""
    ids = estate_ids(user)
    if ids is None:
        return true()
    return column.in_(sorted(ids)) if ids else false()


def sees_estate(user: User, estate_id: int | None) -> bool:
    """Whether this member of staff works for the estate (None: a company-level row)."""
    ids = estate_ids(user)
    return ids is None or (estate_id is not None and estate_id in ids)


def own_estate_choices(user: User, choices) -> list:
    """The (id, name) estate choices this user works for, in the given order."""
    ids = estate_ids(user)
    return [c for c in choices if ids is None or c[0] in ids]


def unit_estate(unit_id_column):
    """SQL: the estate of the unit in `unit_id_column`."""
    return (select(Building.estate_id).join(Unit, Unit.building_id == Building.id)
            .where(Unit.id == unit_id_column).correlate_except(Building, Unit).scalar_subquery())


def task_estate():
    """SQL: a callback task's estate, its case's, else its household's."""
    case_site = select(Case.estate_id).where(Case.id == CallbackTask.case_id).correlate_except(Case).scalar_subquery()
    return func.coalesce(case_site, unit_estate(CallbackTask.unit_id))


# --- households ---------------------------------------------------------------------------

def _day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=local_zone())


def households(user: User) -> tuple[tuple[int, datetime, datetime | None], ...]:
    """(unit, from, until) for each time the resident lived in a unit as owner or family member.

    Read once per request while nothing is written (`portal.extensions.read_memo`): a resident's page asks
    three times (the scope key, the list's clause, the case check)."""
    memo = read_memo("households")
    if user.id not in memo:
        rows = db.session.execute(select(Residency.unit_id, Residency.moved_in, Residency.moved_out).where(
            Residency.user_id == user.id, Residency.relation.in_(HOUSEHOLD_RELATIONS))
            .order_by(Residency.unit_id, Residency.moved_in))
        memo[user.id] = tuple((unit_id, _day_start(moved_in), _day_start(moved_out))
                              for unit_id, moved_in, moved_out in rows)
    return memo[user.id]


def _in_household(case: Case, stays) -> bool:
    return case.unit_id is not None and any(
        case.unit_id == unit_id and start <= case.received_at and (until is None or case.received_at < until)
        for unit_id, start, until in stays)


def _household_clause(stays):
    return [and_(Case.unit_id == unit_id, Case.received_at >= start,
                 *([Case.received_at < until] if until is not None else []))
            for unit_id, start, until in stays]


# --- cases --------------------------------------------------------------------------------

def can_view(user: User, case: Case) -> bool:
    """Whether the user may open this case (the rule of the module docstring)."""
    if user.role == Role.RESIDENT:
        return case.resident_id == user.id or _in_household(case, households(user))
    if not sees_estate(user, case.estate_id):
        return False
    if user.role in STAFF:
        return True
    if user.role == Role.DEPARTMENT:
        return case.department_id is not None and case.department_id == user.department_id
    return False


def visible_cases_clause(user: User):
    """SQL condition for the cases a user may list (the same rule as can_view)."""
    if user.role == Role.RESIDENT:
        return or_(Case.resident_id == user.id, *_household_clause(households(user)))
    if user.role in STAFF:
        return in_estates(user, Case.estate_id)
    if user.role == Role.DEPARTMENT:
        return and_(Case.department_id == (user.department_id or -1), in_estates(user, Case.estate_id))
    return false()


def scope_key(user: User) -> tuple:
    """What decides the rows a user sees, for cache keys: two users share an entry only if they see alike."""
    ids = estate_ids(user)
    estates = "all" if ids is None else tuple(sorted(ids))
    if user.role in STAFF:
        return ("role", user.role.value, estates)
    if user.role == Role.DEPARTMENT:
        return ("department", user.department_id, estates)
    return ("user", user.id, tuple((u, s.isoformat(), t and t.isoformat()) for u, s, t in households(user)))


def is_filer(user: User, case: Case) -> bool:
    """Staff, or the resident who filed the case."""
    return user.role != Role.RESIDENT or case.resident_id == user.id


def may_act(user: User, case: Case, name: str) -> bool:
    """Household members read a case and comment on it; confirming, rejecting and the survey are the filer's."""
    return is_filer(user, case) or name == "comment"


def can_view_task(user: User, task: CallbackTask) -> bool:
    """Staff see callback tasks of their estates (a task's estate: its case's, else its household's)."""
    if estate_ids(user) is None:
        return True
    if task.case is not None:
        return sees_estate(user, task.case.estate_id)
    return task.unit is not None and sees_estate(user, task.unit.building.estate_id)


def notifications_clause(user: User, own: bool = True):
    """SQL: notifications about a case the user may see (or about no case); `own`: addressed to the user.
    Managers reading every delivery (own=False) see those without a case only at company level."""
    about = Notification.case_id.in_(select(Case.id).where(visible_cases_clause(user)))
    if own:
        return and_(Notification.user_id == user.id, or_(Notification.case_id.is_(None), about))
    return or_(about, Notification.case_id.is_(None)) if estate_ids(user) is None else about


# --- department staff -----------------------------------------------------------------------

def department_staff(department_id: int | None, estate_id: int | None) -> list[User]:
    """Active staff of a department who work for the case's estate: those who see its cases.

    An estate department's staff work for its estate; a company-wide department
    (Department.estate_id NULL) has staff per estate or company-level, and only those
    who work for the case's estate see it (the rule of `can_view`).
    """
    if department_id is None:
        return []
    staff = db.session.scalars(select(User).where(
        User.role == Role.DEPARTMENT, User.department_id == department_id, User.active.is_(True))
        .order_by(User.department_head.desc(), User.display_name, User.id))
    return [u for u in staff if sees_estate(u, estate_id)]
