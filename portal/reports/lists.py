"""The lists SPEC §5/§7 ask for, and staff performance for the periodic assessment (staff only)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload

from portal import settings
from portal.extensions import db
from portal.models import (
    CallbackRecord, CallbackTask, Case, CaseEvent, Deadline, Kind, Satisfaction, Status, TaskStatus, Unit, User,
)
from portal.models.cases import OPEN_STATUSES
from portal.reports.periods import Scope
from portal.reports.stats import SATISFIED, Rate, _late, _on_time, _sum, case_scope, task_site
from portal.timeutil import utcnow

LIMIT = 200  # a list longer than this is cut (the board link shows everything)


def _case_row(c: Case) -> dict:
    return {"id": c.id, "number": c.number, "kind": c.kind.value, "status": c.status.value,
            "category_id": c.category_id, "department_id": c.department_id, "place": c.place,
            "reopen_count": c.reopen_count, "repeat": c.repeat}


def repeat_complaints(scope: Scope) -> list[dict]:
    """Complaints on the same matter again (repeat flag) or reopened twice or more."""
    rows = db.session.scalars(
        select(Case).where(case_scope(scope), Case.kind == Kind.COMPLAINT,
                           (Case.repeat.is_(True)) | (Case.reopen_count >= 2))
        .options(joinedload(Case.unit).joinedload(Unit.building))
        .order_by(Case.received_at).limit(LIMIT)).unique()
    return [_case_row(c) for c in rows]


def repeated_repairs(scope: Scope) -> list[dict]:
    """Places with `repeat_repair_min`+ repairs of one category within `repeat_repair_days`, one in the month."""
    since = scope.end - timedelta(days=settings.get("repeat_repair_days"))
    site = Case.estate_id == scope.estate_id if scope.estate_id else True
    key = (Case.unit_id, Case.location_type, Case.location, Case.category_id)
    rows = db.session.execute(
        select(*key, func.count(), func.max(Case.id))
        .where(Case.kind == Kind.REPAIR, Case.received_at >= since, Case.received_at < scope.end, site)
        .group_by(*key)
        .having(func.count() >= settings.get("repeat_repair_min"), func.max(Case.received_at) >= scope.start)
        .order_by(func.count().desc()).limit(LIMIT)).all()
    latest = {c.id: c for c in db.session.scalars(
        select(Case).where(Case.id.in_([r[5] for r in rows]))
        .options(joinedload(Case.unit).joinedload(Unit.building))).unique()}
    return [{"place": latest[r[5]].place, "category_id": r[3], "count": int(r[4]), "latest": latest[r[5]].number,
             "latest_id": r[5], "unit": latest[r[5]].unit.label if latest[r[5]].unit else ""} for r in rows]


def failed_callbacks(scope: Scope) -> list[dict]:
    """Tasks that ended unreachable in the month, and answers recorded as dissatisfied."""
    unreachable = db.session.execute(
        select(CallbackTask, Case.number).outerjoin(Case, Case.id == CallbackTask.case_id)
        .where(CallbackTask.status == TaskStatus.UNREACHABLE, CallbackTask.closed_at >= scope.start,
               CallbackTask.closed_at < scope.end, task_site(scope))
        .order_by(CallbackTask.closed_at).limit(LIMIT)).all()
    unhappy = db.session.execute(
        select(CallbackRecord, CallbackTask, Case.number).join(CallbackTask, CallbackTask.id == CallbackRecord.task_id)
        .outerjoin(Case, Case.id == CallbackRecord.case_id)
        .where(CallbackRecord.satisfaction == Satisfaction.DISSATISFIED, CallbackRecord.at >= scope.start,
               CallbackRecord.at < scope.end, task_site(scope))
        .order_by(CallbackRecord.at).limit(LIMIT)).all()
    out = [{"task_id": t.id, "kind": t.kind.value, "number": n or "", "case_id": t.case_id, "outcome": "unreachable",
            "attempts": t.attempts, "at": t.closed_at.isoformat()} for t, n in unreachable]
    out += [{"task_id": t.id, "kind": t.kind.value, "number": n or "", "case_id": r.case_id,
             "outcome": "dissatisfied", "attempts": t.attempts, "at": r.at.isoformat()} for r, t, n in unhappy]
    return out


def invalid_verdicts(scope: Scope) -> list[dict]:
    """Cases judged invalid in the month, with the reason and whether the verdict stands."""
    site = Case.estate_id == scope.estate_id if scope.estate_id else True
    rows = db.session.execute(
        select(CaseEvent.at, CaseEvent.note, Case).join(Case, Case.id == CaseEvent.case_id)
        .options(joinedload(Case.unit).joinedload(Unit.building))
        .where(CaseEvent.action == "mark_invalid", CaseEvent.at >= scope.start, CaseEvent.at < scope.end, site)
        .order_by(CaseEvent.at).limit(LIMIT)).all()
    return [{**_case_row(c), "reason": note, "at": at.isoformat(),
             "overturned": c.status != Status.INVALID and c.status != Status.CLOSED} for at, note, c in rows]


def overdue_by_department(scope: Scope, now: datetime) -> list[dict]:
    """Per department: late resolution clocks of the month's cases, and its open cases overdue now."""
    late = dict(db.session.execute(
        select(Case.department_id, _sum(_late(now))).join(Deadline, Deadline.case_id == Case.id)
        .where(case_scope(scope), Deadline.clock == "resolution").group_by(Case.department_id)).all())
    site = Case.estate_id == scope.estate_id if scope.estate_id else True
    open_now = dict(db.session.execute(
        select(Case.department_id, func.count())
        .where(site, Case.status.in_(OPEN_STATUSES), Case.due_at.is_not(None), Case.due_at < now)
        .group_by(Case.department_id)).all())
    keys = {k for k, v in late.items() if v} | set(open_now)
    return sorted(({"department_id": k, "late": int(late.get(k) or 0), "overdue_now": int(open_now.get(k, 0))}
                   for k in keys), key=lambda r: (-r["late"] - r["overdue_now"], r["department_id"] or 0))


def _performance(group, scope: Scope, now: datetime) -> dict:
    cases = {k: (int(n), int(reopened)) for k, n, reopened in db.session.execute(
        select(group, func.count(), _sum(Case.reopen_count > 0))
        .where(case_scope(scope), group.is_not(None)).group_by(group)).all()}
    clocks = {k: (int(ok), int(late)) for k, ok, late in db.session.execute(
        select(group, _sum(_on_time()), _sum(_late(now))).join(Deadline, Deadline.case_id == Case.id)
        .where(case_scope(scope), group.is_not(None), Deadline.clock == "resolution").group_by(group)).all()}
    answers = {k: (int(s), int(n)) for k, s, n in db.session.execute(
        select(group, _sum(CallbackRecord.satisfaction.in_(SATISFIED)), func.count())
        .join(Case, Case.id == CallbackRecord.case_id)
        .where(CallbackRecord.at >= scope.start, CallbackRecord.at < scope.end, CallbackRecord.reached.is_(True),
               CallbackRecord.satisfaction.is_not(None), group.is_not(None),
               *( [Case.estate_id == scope.estate_id] if scope.estate_id else []))
        .group_by(group)).all()}
    out = {}
    for k in set(cases) | set(clocks) | set(answers):
        n, reopened = cases.get(k, (0, 0))
        ok, late = clocks.get(k, (0, 0))
        sat, answered = answers.get(k, (0, 0))
        out[k] = {"cases": n, "on_time": Rate(ok, ok + late).as_dict(), "satisfaction": Rate(sat, answered).as_dict(),
                  "reopen": Rate(reopened, n).as_dict()}
    return out


def performance(scope: Scope, now: datetime | None = None) -> dict:
    """Per department and per person who completed the cases: on-time, satisfaction, reopen rate."""
    now = now or utcnow()
    people = _performance(Case.resolved_by_id, scope, now)
    who = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(list(people)))).all())
    dep_of = dict(db.session.execute(select(User.id, User.department_id).where(User.id.in_(list(people)))).all())
    return {
        "departments": sorted(({"department_id": k, **v} for k, v in _performance(Case.department_id, scope, now)
                               .items()), key=lambda r: -r["cases"]),
        "people": sorted(({"user_id": k, "name": who.get(k, ""), "department_id": dep_of.get(k), **v}
                          for k, v in people.items()), key=lambda r: (-r["cases"], r["name"])),
    }


def all_lists(scope: Scope, now: datetime | None = None) -> dict:
    now = now or utcnow()
    return {"repeat_complaints": repeat_complaints(scope), "repeated_repairs": repeated_repairs(scope),
            "failed_callbacks": failed_callbacks(scope), "invalid_verdicts": invalid_verdicts(scope),
            "overdue_by_department": overdue_by_department(scope, now)}
