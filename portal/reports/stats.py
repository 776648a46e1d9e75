"""The figures of SPEC §7, each one aggregation in the database (GROUP BY, never a Python loop).

Every figure is about a scope, a month in the configured time zone and optionally a site:
- case figures (counts, on-time rates, time to resolve, adoption) cover the cases *received*
  in the month;
- callback rates cover the callback tasks *due* in the month;
- satisfaction and problem-solved rates cover the callback answers *recorded* in the month.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal, or_, select, true
from sqlalchemy.orm import aliased

from portal import settings
from portal.extensions import db
from portal.models import (
    Building, CallbackKind, CallbackRecord, CallbackTask, Case, Category, Deadline, Department, Kind,
    Satisfaction, Status, TaskStatus, Unit,
)
from portal.reports.periods import Scope, start_of
from portal.timeutil import utcnow

SECTION = _l("Reports and targets")
TARGETS = {
    "first_reply": settings.define("target_first_reply_percent", 95, _l("Target: first replies on time (%)"),
                                   "percent", SECTION, min=0, max=100),
    "resolution": settings.define("target_resolution_percent", 90, _l("Target: cases resolved on time (%)"),
                                  "percent", SECTION, min=0, max=100),
    "callback_complaint": settings.define("target_callback_complaint_percent", 100,
                                          _l("Target: complaints called back (%)"), "percent", SECTION,
                                          min=0, max=100),
    "callback": settings.define("target_callback_percent", 90, _l("Target: all callbacks made (%)"),
                                "percent", SECTION, min=0, max=100),
    "satisfaction": settings.define("target_satisfaction_percent", 90, _l("Target: satisfaction rate (%)"),
                                    "percent", SECTION, min=0, max=100),
    "solved": settings.define("target_solved_percent", 80, _l("Target: problem-solved rate (%)"),
                              "percent", SECTION, min=0, max=100),
    "adoption": settings.define("target_adoption_percent", 70, _l("Target: suggestions adopted (%)"),
                                "percent", SECTION, min=0, max=100),
}
settings.define("repeat_repair_days", 90, _l("Repeated repairs: count repairs at the same place within (days)"),
                "int", SECTION, min=7, max=366)
settings.define("repeat_repair_min", 3, _l("Repeated repairs: flag from this many repairs at the same place"),
                "int", SECTION, min=2, max=20)

RATE_LABELS = {
    "first_reply": _l("First reply on time"), "resolution": _l("Resolved on time"),
    "callback_complaint": _l("Complaints called back"), "callback": _l("All callbacks made"),
    "satisfaction": _l("Satisfaction"), "solved": _l("Problem solved"), "adoption": _l("Suggestions adopted"),
}
SATISFIED = (Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED)


@dataclass
class Rate:
    """hits out of total, against a target percentage."""

    hits: int
    total: int
    target: float | None = None

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.hits / self.total, 1) if self.total else None

    @property
    def met(self) -> bool | None:
        if self.percent is None or self.target is None:
            return None
        return self.percent >= self.target

    def as_dict(self) -> dict:
        return {"hits": self.hits, "total": self.total, "target": self.target, "percent": self.percent,
                "met": self.met}


def target(name: str) -> float:
    return settings.get(TARGETS[name].key)


def case_scope(scope: Scope):
    """Cases received in the month (and at the site)."""
    cond = and_(Case.received_at >= scope.start, Case.received_at < scope.end)
    if scope.estate_id:
        cond = and_(cond, Case.estate_id == scope.estate_id)
    return cond


def task_site(scope: Scope):
    """A callback task's site: its case's, else its household's building's."""
    if not scope.estate_id:
        return true()
    # Aliases: the outer query may join Case or Unit itself, and must not swallow these.
    b, u, c = aliased(Building), aliased(Unit), aliased(Case)
    household = (select(b.estate_id).join(u, u.building_id == b.id).where(u.id == CallbackTask.unit_id)
                 .correlate_except(b, u).scalar_subquery())
    case_site = select(c.estate_id).where(c.id == CallbackTask.case_id).correlate_except(c).scalar_subquery()
    return func.coalesce(case_site, household) == scope.estate_id


def _on_time():
    return and_(Deadline.met_at.is_not(None), Deadline.cancelled.is_(False), Deadline.met_at <= Deadline.due_at)


def _late(now: datetime):
    """Met after the due time, or still running past it (a paused clock is not late)."""
    return and_(Deadline.cancelled.is_(False), or_(
        and_(Deadline.met_at.is_not(None), Deadline.met_at > Deadline.due_at),
        and_(Deadline.met_at.is_(None), Deadline.segment_start.is_not(None), Deadline.due_at < now)))


def _sum(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def clock_rates(scope: Scope, now: datetime) -> dict[str, Rate]:
    """On-time first reply and resolution: clocks that ended or are overdue (every round counts)."""
    rows = db.session.execute(
        select(Deadline.clock, _sum(_on_time()), _sum(_late(now)))
        .join(Case, Case.id == Deadline.case_id)
        .where(case_scope(scope), Deadline.clock.in_(("first_reply", "resolution")))
        .group_by(Deadline.clock)).all()
    found = {clock: (int(ok), int(late)) for clock, ok, late in rows}
    return {clock: Rate(found.get(clock, (0, 0))[0], sum(found.get(clock, (0, 0))), target(clock))
            for clock in ("first_reply", "resolution")}


def resolve_times(scope: Scope) -> dict:
    """Mean and 90th percentile of the working hours to resolve (nearest-rank), resolved cases."""
    measured = and_(case_scope(scope), Case.resolve_work_seconds.is_not(None))
    n, mean = db.session.execute(select(func.count(), func.avg(Case.resolve_work_seconds)).where(measured)).one()
    p90 = None
    if n:
        rank = -(-9 * n // 10)  # ceil(0.9 n), nearest-rank percentile
        p90 = db.session.scalar(select(Case.resolve_work_seconds).where(measured)
                                .order_by(Case.resolve_work_seconds).offset(rank - 1).limit(1))
    hours = (lambda s: round(s / 3600.0, 1) if s is not None else None)
    return {"count": int(n), "mean_hours": hours(mean), "p90_hours": hours(p90)}


def callback_rates(scope: Scope, now: datetime) -> dict[str, Rate]:
    """Tasks due in the month: done (reached) versus unreachable or still pending past due."""
    failed = or_(CallbackTask.status == TaskStatus.UNREACHABLE,
                 and_(CallbackTask.status == TaskStatus.PENDING, CallbackTask.due_at < now))
    counted = or_(CallbackTask.status == TaskStatus.DONE, failed)
    rows = db.session.execute(
        select(CallbackTask.kind, _sum(CallbackTask.status == TaskStatus.DONE), func.count())
        .where(CallbackTask.due_at >= scope.start, CallbackTask.due_at < scope.end, counted, task_site(scope))
        .group_by(CallbackTask.kind)).all()  # a handful of kinds: PostgreSQL wants a plain GROUP BY column
    complaint = next(((int(d), int(n)) for kind, d, n in rows if kind == CallbackKind.COMPLAINT), (0, 0))
    overall = (sum(int(d) for _, d, _ in rows), sum(int(n) for _, _, n in rows))
    return {"callback_complaint": Rate(*complaint, target("callback_complaint")),
            "callback": Rate(*overall, target("callback"))}


def answer_rates(scope: Scope) -> dict[str, Rate]:
    """Satisfaction: (very) satisfied answers; problem solved: case callbacks not answered dissatisfied."""
    answered = and_(CallbackRecord.at >= scope.start, CallbackRecord.at < scope.end,
                    CallbackRecord.reached.is_(True), CallbackRecord.satisfaction.is_not(None))
    about_case = CallbackRecord.case_id.is_not(None)
    row = db.session.execute(
        select(_sum(CallbackRecord.satisfaction.in_(SATISFIED)), func.count(),
               _sum(and_(about_case, CallbackRecord.satisfaction != Satisfaction.DISSATISFIED)),
               _sum(about_case))
        .join(CallbackTask, CallbackTask.id == CallbackRecord.task_id)
        .where(answered, task_site(scope))).one()
    return {"satisfaction": Rate(int(row[0]), int(row[1]), target("satisfaction")),
            "solved": Rate(int(row[2]), int(row[3]), target("solved"))}


def adoption_rate(scope: Scope) -> Rate:
    """Suggestions received in the month and decided: adopted = carried out (completed)."""
    adopted = Case.resolved_at.is_not(None)
    rejected = and_(Case.resolved_at.is_(None), or_(
        Case.status.in_((Status.INVALID, Status.CANNOT_HANDLE, Status.CLOSED)), Case.reopen_count > 0))
    row = db.session.execute(
        select(_sum(adopted), _sum(or_(adopted, rejected)))
        .where(case_scope(scope), Case.kind == Kind.SUGGESTION)).one()
    return Rate(int(row[0]), int(row[1]), target("adoption"))


def _count_by(column, scope: Scope, *joins) -> list[tuple]:
    stmt = select(column, func.count()).select_from(Case)
    for j in joins:
        stmt = stmt.outerjoin(*j)
    return [(key, int(n)) for key, n in db.session.execute(
        stmt.where(case_scope(scope)).group_by(column).order_by(func.count().desc(), column)).all()]


def counts(scope: Scope) -> dict:
    """Cases by kind, category, severity, channel, department and building."""
    val = (lambda v: getattr(v, "value", v))
    return {
        "kind": [(val(k), n) for k, n in _count_by(Case.kind, scope)],
        "severity": [(val(k), n) for k, n in _count_by(Case.severity, scope)],
        "channel": [(val(k), n) for k, n in _count_by(Case.channel, scope)],
        "category": _count_by(Case.category_id, scope),
        "department": _count_by(Case.department_id, scope),
        "building": _count_by(Unit.building_id, scope, (Unit, Unit.id == Case.unit_id)),
    }


def names() -> dict:
    """Labels for ids in the figures (small reference tables)."""
    return {
        "category": dict(db.session.execute(select(Category.id, Category.name)).all()),
        "department": dict(db.session.execute(select(Department.id, Department.name)).all()),
        "building": dict(db.session.execute(select(Building.id, Building.name)).all()),
    }


def figures(scope: Scope, now: datetime | None = None) -> dict:
    """The month's headline figures and counts (JSON-ready)."""
    now = now or utcnow()
    rates = {**clock_rates(scope, now), **callback_rates(scope, now), **answer_rates(scope),
             "adoption": adoption_rate(scope)}
    c = counts(scope)
    return {"total": sum(n for _, n in c["kind"]), "rates": {k: r.as_dict() for k, r in rates.items()},
            "resolve": resolve_times(scope), "counts": c}


def _bucket(column, months: list[str]):
    """Index of the month a timestamp falls in (one CASE, so one GROUP BY for all the months)."""
    return case(*[(and_(column >= Scope(m).start, column < Scope(m).end), literal(i)) for i, m in enumerate(months)],
                else_=literal(-1))


def month_counts(months: list[str], estate_id: int | None, now: datetime) -> dict[str, dict]:
    """The trend's raw figures of each month (any months, oldest first): three GROUP BYs over their span.

    Also `stale_at`: when the month's first running resolution clock falls due after `now` (its late
    count then grows with no write: portal.reports.monthly keeps a finished month only until then)."""
    scope = Scope(months[-1], estate_id)
    first, last = Scope(months[0], estate_id), scope
    span = and_(Case.received_at >= first.start, Case.received_at < last.end)
    if estate_id:
        span = and_(span, Case.estate_id == estate_id)
    bucket = _bucket(Case.received_at, months)
    cases = dict(db.session.execute(select(bucket, func.count()).where(span).group_by(bucket)).all())
    running = and_(Deadline.cancelled.is_(False), Deadline.met_at.is_(None), Deadline.segment_start.is_not(None),
                   Deadline.due_at >= now)
    clocks = {b: (int(ok), int(late), due) for b, ok, late, due in db.session.execute(
        select(bucket, _sum(_on_time()), _sum(_late(now)), func.min(case((running, Deadline.due_at))))
        .join(Case, Case.id == Deadline.case_id)
        .where(span, Deadline.clock == "resolution").group_by(bucket)).all()}
    rb = _bucket(CallbackRecord.at, months)
    answers = {b: (int(s), int(t)) for b, s, t in db.session.execute(
        select(rb, _sum(CallbackRecord.satisfaction.in_(SATISFIED)), func.count())
        .join(CallbackTask, CallbackTask.id == CallbackRecord.task_id)
        .where(CallbackRecord.at >= first.start, CallbackRecord.at < last.end, CallbackRecord.reached.is_(True),
               CallbackRecord.satisfaction.is_not(None), task_site(scope)).group_by(rb)).all()}
    out = {}
    for i, month in enumerate(months):
        ok, late, due = clocks.get(i, (0, 0, None))
        sat, answered = answers.get(i, (0, 0))
        out[month] = {"cases": int(cases.get(i, 0)), "resolution_ok": ok, "resolution_late": late,
                      "satisfied": sat, "answered": answered, "stale_at": due}
    return out


def trend(scope: Scope, now: datetime | None = None, n: int = 12) -> list[dict]:
    """Cases, on-time resolution and satisfaction for the n months ending with the scope's month.

    Finished months come from portal.reports.monthly's table (computed once, dropped by the writes that
    change them); only the month under way, and a finished one not kept yet, are counted."""
    from portal.reports import monthly  # it counts through month_counts
    now = now or utcnow()
    months = scope.months_back(n)
    figures = monthly.figures(months, scope.estate_id, now, month_counts)
    out = []
    for month in months:
        f = figures[month]
        ok, late = f["resolution_ok"], f["resolution_late"]
        out.append({"month": month, "cases": f["cases"], "resolution": Rate(ok, ok + late).percent,
                    "satisfaction": Rate(f["satisfied"], f["answered"]).percent})
    return out
