"""Filtering and sorting cases (portal.board.listing counts, pages and renders them)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import or_, select, union

from portal import search, textquery, unitref
from portal.extensions import db, read_memo
from portal.sla.deadlines import overdue_clause
from portal.models import Building, Case, Severity, Status, Unit, User
from portal.models.cases import OPEN_STATUSES
from portal.timeutil import local_zone, utcnow

# "To dispatch": the states the dispatch action starts from (portal.cases.actions).
TO_DISPATCH = (Status.REGISTERED, Status.ACKNOWLEDGED)

SORTS = {
    "newest": (Case.received_at.desc(), Case.id.desc()),
    "oldest": (Case.received_at.asc(), Case.id.asc()),
    "updated": (Case.updated_at.desc(), Case.id.desc()),
    # Cases without a deadline last, written as NULLS LAST (not `due_at IS NULL` first): both databases then
    # read the page from the due_at index and stop, where they sorted every open case (98 ms at 100k).
    "due": (Case.due_at.asc().nulls_last(), Case.id.asc()),
    "promised": (Case.promised_at.asc().nulls_last(), Case.id.asc()),
    "number": (Case.number.asc(),),
    # The department queue: new and returned work (dispatched, not yet accepted) first, then the
    # nearest deadline, so a new major case is never buried under old overdue ones.
    "queue": (Case.status != Status.DISPATCHED, Case.due_at.is_(None), Case.due_at.asc(), Case.id.asc()),
}


# Residents and units a search names, looked up once per request as a list of ids when there are at most
# this many: the list's count and its page then read no account or unit (each was a scan of every
# resident's name and phone and every unit's "building-number": ~65 ms a statement for a company of
# 20k residents and units, docs/benchmarks.md). More stay a subquery.
FEW_IDS = 1000


def _few_ids(stmt, name: str, q: str):
    """The ids `stmt` selects, as a list when at most FEW_IDS (read once per request), else `stmt` itself."""
    memo = read_memo("search")
    if (name, q) not in memo:
        ids = db.session.scalars(stmt.limit(FEW_IDS + 1)).all()
        memo[(name, q)] = ids if len(ids) <= FEW_IDS else None
    found = memo[(name, q)]
    return stmt if found is None else found


def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone())


def filtered(base_clause, f: dict, user_id: int | None = None, now: datetime | None = None):
    """A SELECT of cases matching the filter values (already validated); `mine` needs the viewer's id."""
    stmt = select(Case).where(base_clause)
    if f.get("status") == "open":
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    elif f.get("status") == "to_dispatch":
        stmt = stmt.where(Case.status.in_(TO_DISPATCH))
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
    if f.get("due") == "today":
        today = (now or utcnow()).astimezone(local_zone()).date()
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES), Case.due_at >= _day_start(today),
                          Case.due_at < _day_start(today + timedelta(days=1)))
    if f.get("mine"):
        stmt = stmt.where(Case.registered_by_id == user_id)
    if f.get("date_from"):
        stmt = stmt.where(Case.received_at >= _day_start(f["date_from"]))
    if f.get("date_to"):
        stmt = stmt.where(Case.received_at < _day_start(f["date_to"] + timedelta(days=1)))
    q = textquery.clean(f.get("q"))
    if q:
        like = textquery.contains(q)
        resident_ids = select(User.id).where(User.display_name.ilike(like, escape=textquery.ESCAPE)
                                             | User.phone.ilike(like, escape=textquery.ESCAPE))
        unit_match = (Unit.number.ilike(like, escape=textquery.ESCAPE)
                      | (Building.name + "-" + Unit.number).ilike(like, escape=textquery.ESCAPE))
        ref = unitref.parse(q)  # "5栋0802", "5-0802", "5号楼802"
        if ref is not None:
            unit_match = unit_match | (Building.name.in_(unitref.building_names(ref))
                                       & Unit.number.in_(unitref.unit_numbers(ref)))
        unit_ids = select(Unit.id).join(Building).where(unit_match)
        residents = Case.resident_id.in_(_few_ids(resident_ids, "residents", q))
        units = Case.unit_id.in_(_few_ids(unit_ids, "units", q))
        if search.many_hits(q):
            # Many hits (a common bigram, a year's case numbers): each case checked as the list walks its
            # order, so the page and the capped count stop early instead of waiting for every hit.
            stmt = stmt.where(or_(search.case_text_condition(q), residents, units))
        else:
            # Few: one set of ids (the bigram index's hits, the resident's and the unit's cases), then the
            # cases by primary key: no OR across the whole case table.
            stmt = stmt.where(search.id_among(union(*search.case_text_selects(q), select(Case.id).where(residents),
                                                    select(Case.id).where(units))))
    return stmt
