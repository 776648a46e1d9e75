"""Filtering and sorting cases (portal.board.listing counts, pages and renders them)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select, union

from portal import search, textquery
from portal.sla.deadlines import overdue_clause
from portal.models import Building, Case, Severity, Status, Unit, User
from portal.models.cases import OPEN_STATUSES
from portal.timeutil import local_zone, utcnow

SORTS = {
    "newest": (Case.received_at.desc(), Case.id.desc()),
    "oldest": (Case.received_at.asc(), Case.id.asc()),
    "updated": (Case.updated_at.desc(), Case.id.desc()),
    "due": (Case.due_at.is_(None), Case.due_at.asc(), Case.id.asc()),
    "promised": (Case.promised_at.is_(None), Case.promised_at.asc(), Case.id.asc()),
    "number": (Case.number.asc(),),
    # The department queue: new and returned work (dispatched, not yet accepted) first, then the
    # nearest deadline, so a new major case is never buried under old overdue ones.
    "queue": (Case.status != Status.DISPATCHED, Case.due_at.is_(None), Case.due_at.asc(), Case.id.asc()),
}


def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone())


def filtered(base_clause, f: dict):
    """A SELECT of cases matching the filter values (already validated)."""
    stmt = select(Case).where(base_clause)
    if f.get("status") == "open":
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    elif f.get("status"):
        stmt = stmt.where(Case.status == f["status"])
    for key, column in (("kind", Case.kind), ("channel", Case.channel),
                        ("category", Case.category_id), ("department", Case.department_id),
                        ("site", Case.estate_id)):
        if f.get(key):
            stmt = stmt.where(column == f[key])
    if f.get("severity"):
        stmt = stmt.where(Case.severity == Severity(f["severity"]))
    if f.get("overdue"):
        stmt = stmt.where(overdue_clause(utcnow()))
    if f.get("date_from"):
        stmt = stmt.where(Case.received_at >= _day_start(f["date_from"]))
    if f.get("date_to"):
        stmt = stmt.where(Case.received_at < _day_start(f["date_to"] + timedelta(days=1)))
    q = textquery.clean(f.get("q"))
    if q:
        like = textquery.contains(q)
        resident_ids = select(User.id).where(User.display_name.ilike(like, escape=textquery.ESCAPE)
                                             | User.phone.ilike(like, escape=textquery.ESCAPE))
        unit_ids = (select(Unit.id).join(Building)
                    .where(Unit.number.ilike(like, escape=textquery.ESCAPE)
                           | (Building.name + "-" + Unit.number).ilike(like, escape=textquery.ESCAPE)))
        # One set of ids (the bigram index's hits, the resident's and the unit's cases), then the
        # cases by primary key: no OR across the whole case table.
        matching = union(search.case_text_ids(q),
                         select(Case.id).where(Case.resident_id.in_(resident_ids)),
                         select(Case.id).where(Case.unit_id.in_(unit_ids)))
        stmt = stmt.where(Case.id.in_(matching))
    return stmt
