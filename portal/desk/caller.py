"""What a hotline clerk sees beside the registration form: the caller's household and cases, and
open cases that a new registration would duplicate. Read-only; scoped to the clerk's estates."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Building, Case, Residency, Role, Unit, User
from portal.models.cases import OPEN_STATUSES, LocationType
from portal.scopes import estate_ids, visible_cases_clause


def resident_in_scope(viewer: User, resident: User | None) -> bool:
    """A resident whose home unit or any household stay is in one of the viewer's estates."""
    if resident is None or resident.role != Role.RESIDENT:
        return False
    ids = estate_ids(viewer)
    if ids is None:
        return True
    if resident.unit is not None and resident.unit.building.estate_id in ids:
        return True
    return db.session.scalar(select(Residency.id).join(Residency.unit).join(Unit.building).where(
        Residency.user_id == resident.id, Building.estate_id.in_(ids)).limit(1)) is not None


def household(resident: User) -> list[Residency]:
    """Everyone living in the resident's home unit now (the resident included)."""
    if resident.unit_id is None:
        return []
    return list(db.session.scalars(
        select(Residency).options(joinedload(Residency.user))
        .where(Residency.unit_id == resident.unit_id, Residency.moved_out.is_(None)).order_by(Residency.id)))


def caller_cases(resident: User, viewer: User, limit: int = 8) -> tuple[list[Case], list[Case]]:
    """(open cases, earlier closed-or-finished cases) of the resident or their home unit that the viewer may see."""
    mine = or_(Case.resident_id == resident.id,
               *([Case.unit_id == resident.unit_id] if resident.unit_id is not None else []))
    base = select(Case).where(mine, visible_cases_clause(viewer)).options(joinedload(Case.category))
    open_cases = list(db.session.scalars(base.where(Case.status.in_(OPEN_STATUSES))
                                         .order_by(Case.received_at.desc()).limit(limit)))
    earlier = list(db.session.scalars(base.where(Case.status.not_in(OPEN_STATUSES))
                                      .order_by(Case.received_at.desc()).limit(limit)))
    return open_cases, earlier


def duplicates(viewer: User, *, category_id: int, location_type: str, unit_id: int | None,
               estate_id: int | None, location: str, limit: int = 5) -> list[Case]:
    """Open cases of the same category at the same place (the unit; or, for a common area, the same
    estate and the same place text) that the viewer may see."""
    stmt = select(Case).where(visible_cases_clause(viewer), Case.status.in_(OPEN_STATUSES),
                              Case.category_id == category_id)
    if location_type == LocationType.UNIT.value and unit_id is not None:
        stmt = stmt.where(Case.unit_id == unit_id, Case.location_type == LocationType.UNIT)
    else:
        place = (location or "").strip().lower()
        if not place or estate_id is None:
            return []
        stmt = stmt.where(Case.estate_id == estate_id, Case.location_type == LocationType.COMMON,
                          func.lower(func.trim(Case.location)) == place)
    return list(db.session.scalars(stmt.order_by(Case.received_at.desc()).limit(limit)))
