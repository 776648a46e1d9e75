"""Registering a case: readable numbers and the first event."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal import textquery, unitref
from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import Case, CaseSequence, Channel, Kind, LocationType, Role, User
from portal.models.cases import KIND_PREFIX
from portal.timeutil import local_zone, utcnow


def next_number(kind: Kind, day: date) -> str:
    """TS-20261122-0007: prefix, local date, per-day counter (atomic on every backend)."""
    prefix = KIND_PREFIX[Kind(kind)]
    bump = (
        update(CaseSequence)
        .where(CaseSequence.prefix == prefix, CaseSequence.day == day)
        .values(value=CaseSequence.value + 1)
        .returning(CaseSequence.value)
    )
    value = db.session.execute(bump).scalar()
    if value is None:
        try:
            with db.session.begin_nested():
                db.session.add(CaseSequence(prefix=prefix, day=day, value=1))
            value = 1
        except IntegrityError:  # someone else created today's row first
            value = db.session.execute(bump).scalar()
    return f"{prefix}-{day:%Y%m%d}-{value:04d}"


def register_case(*, actor: User, resident: User | None, kind: Kind, channel: Channel,
                  description: str, location_type: LocationType = LocationType.UNIT,
                  location: str = "", request: str = "", category_id: int | None = None,
                  severity=None, urgent: bool = False, subject: str = "",
                  misconduct: bool = False, witnesses: str = "", evidence: str = "",
                  contact_name: str = "", contact_phone: str = "",
                  received_at: datetime | None = None, estate_id: int | None = None,
                  unit_id: int | None = None, at: datetime | None = None, description_msg=None) -> Case:
    """Create a case at `at` (default now) in `unit_id` (else the resident's home unit) and enter it into
    the lifecycle (`register`). The caller commits. `description_msg`: a description the system wrote,
    as message items (portal.messages), shown in the reader's language; `description` is then its text."""
    at = at or utcnow()
    received = min(received_at or at, at)
    if unit_id is None:
        unit_id = resident.unit_id if resident is not None else None
    case = Case(
        number=next_number(kind, received.astimezone(local_zone()).date()),
        kind=Kind(kind), channel=Channel(channel),
        resident=resident, unit_id=unit_id, estate_id=estate_id or site_of(unit_id), location_type=LocationType(location_type),
        location=location.strip(), description=description.strip(), description_msg=description_msg or None,
        request=request.strip(),
        category_id=category_id, severity=severity or None, urgent=urgent,
        subject=subject.strip(), misconduct=misconduct, witnesses=witnesses.strip(),
        evidence=evidence.strip(),
        contact_name=contact_name.strip() or (resident.display_name if resident else ""),
        contact_phone=contact_phone.strip() or ((resident.phone or "") if resident else ""),
        received_at=received, registered_by=actor if actor.role != Role.RESIDENT else None,
    )
    db.session.add(case)
    perform(case, actor, "register", at=at)
    return case


def site_of(unit_id: int | None) -> int | None:
    """The estate of a unit; for a common area, the estate when there is only one."""
    from portal.models import Building, Estate, Unit
    if unit_id is not None:
        return db.session.scalar(select(Building.estate_id).join(Unit).where(Unit.id == unit_id))
    estates = db.session.scalars(select(Estate.id).limit(2)).all()
    return estates[0] if len(estates) == 1 else None


def find_residents(query: str, viewer: User, limit: int = 10) -> list[User]:
    """Residents of the viewer's estates matching a name, phone or unit such as `3栋-1201` or `1201`."""
    from portal.scopes import in_estates
    from portal.models import Building, Unit
    if not textquery.clean(query):
        return []
    like, esc = textquery.contains(query), textquery.ESCAPE
    matches = (User.display_name.ilike(like, escape=esc) | User.phone.ilike(like, escape=esc)
               | User.username.ilike(like, escape=esc) | Unit.number.ilike(like, escape=esc)
               | (Building.name + "-" + Unit.number).ilike(like, escape=esc))
    ref = unitref.parse(query)  # "5栋0802", "5-0802", "5栋 802", "5号楼802"
    if ref is not None:
        matches = matches | (Building.name.in_(unitref.building_names(ref)) & Unit.number.in_(unitref.unit_numbers(ref)))
    stmt = (
        select(User).outerjoin(Unit, User.unit_id == Unit.id).outerjoin(Building)
        .where(User.role == Role.RESIDENT, User.active.is_(True), in_estates(viewer, Building.estate_id))
        .where(matches)
        .order_by(User.display_name).limit(limit)
    )
    return list(db.session.scalars(stmt))
