"""Residents claim a unit: a number the register lists for that unit is linked at once,
any other claim waits for the desk of the unit's estate."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.auth.phone import normalize_phone
from portal.extensions import db
from portal.messages import msg
from portal.models import (
    Building, ClaimStatus, Estate, Relation, Residency, Role, Unit, UnitClaim, User,
)
from portal.notify.outbox import notify
from portal.timeutil import local_now, utcnow


def find_unit(estate_id: int, building: str, number: str) -> Unit | None:
    """An active unit of an active estate, by the building and unit names residents type."""
    building = (building or "").strip()
    number = (number or "").strip()
    if not building or not number:
        return None
    names = {building, building.removesuffix("栋").removesuffix("号楼") + "栋"}
    return db.session.scalar(
        select(Unit).join(Building).join(Estate)
        .where(Estate.id == estate_id, Estate.active.is_(True), Building.active.is_(True), Unit.active.is_(True),
               Building.name.in_(names), Unit.number == number).limit(1))


def current_residencies(user: User, on=None) -> list[Residency]:
    today = on or local_now().date()
    rows = db.session.scalars(select(Residency).where(Residency.user_id == user.id).order_by(Residency.id))
    return [r for r in rows if r.current(today)]


def register_lists(user: User, unit: Unit) -> Residency | None:
    """A current residency at this unit of a person with the claimant's number (the register's word)."""
    phone = normalize_phone(user.phone)
    if phone is None:
        return None
    today = local_now().date()
    for r in db.session.scalars(select(Residency).join(User, Residency.user_id == User.id)
                                .where(Residency.unit_id == unit.id, User.phone.like(f"%{phone[-4:]}"))):
        if normalize_phone(r.user.phone) == phone and r.current(today):
            return r
    return None


@dataclass(frozen=True)
class Outcome:
    linked: bool
    claim: UnitClaim | None = None
    problem: str = ""  # "held": already the resident's, "pending": a request already waits


def _link(user: User, unit: Unit, relation: Relation) -> Residency:
    residency = Residency(unit_id=unit.id, user_id=user.id, relation=relation, moved_in=local_now().date())
    db.session.add(residency)
    if user.unit_id is None:
        user.unit_id = unit.id  # a new case defaults to it
    return residency


def claim_unit(user: User, unit: Unit, relation: Relation, note: str = "") -> Outcome:
    """Link the unit at once when the register lists the number for it, else leave a request for the desk."""
    if any(r.unit_id == unit.id for r in current_residencies(user)):
        return Outcome(False, problem="held")
    waiting = db.session.scalar(select(UnitClaim).where(UnitClaim.user_id == user.id, UnitClaim.unit_id == unit.id,
                                                        UnitClaim.status == ClaimStatus.PENDING))
    if waiting is not None:
        return Outcome(False, waiting, problem="pending")
    listed = register_lists(user, unit)
    if listed is not None:
        _link(user, unit, listed.relation)
        return Outcome(True)
    claim = UnitClaim(user_id=user.id, unit_id=unit.id, relation=relation, note=(note or "").strip()[:500])
    db.session.add(claim)
    db.session.flush()
    return Outcome(False, claim)


def desk_may_decide(staff: User, claim: UnitClaim) -> bool:
    """Clerks and managers of the unit's estate (company-level staff: every estate)."""
    if staff.role not in (Role.CLERK, Role.MANAGER):
        return False
    return bool(staff.company_wide) or not staff.estates or any(
        e.id == claim.unit.building.estate_id for e in staff.estates)


def waiting_claims(staff: User) -> list[UnitClaim]:
    """Pending claims the member of staff may decide, oldest first."""
    q = select(UnitClaim).where(UnitClaim.status == ClaimStatus.PENDING).order_by(UnitClaim.created_at, UnitClaim.id)
    if not staff.company_wide and staff.estates:
        q = q.join(Unit, UnitClaim.unit_id == Unit.id).join(Building).where(
            Building.estate_id.in_([e.id for e in staff.estates]))
    return list(db.session.scalars(q))


def _tell(claim: UnitClaim, subject: dict, body: dict) -> None:
    notify([claim.user], "resident_unit_claim", subject, body, f"claim:{claim.id}:{claim.status.value}")


def approve(claim: UnitClaim, staff: User, at: datetime | None = None) -> None:
    """Record the resident at the unit and tell them (in-app and SMS); the caller commits."""
    claim.status, claim.decided_by_id, claim.decided_at = ClaimStatus.APPROVED, staff.id, at or utcnow()
    if not any(r.unit_id == claim.unit_id for r in current_residencies(claim.user)):
        _link(claim.user, claim.unit, claim.relation)
    _tell(claim, msg("claim.confirmed"), msg("claim.confirmed_body", unit=claim.unit.label))


def refuse(claim: UnitClaim, staff: User, reason: str, at: datetime | None = None) -> None:
    """Refuse with a reason the resident reads (in-app and SMS); the caller commits."""
    claim.status, claim.decided_by_id, claim.decided_at = ClaimStatus.REFUSED, staff.id, at or utcnow()
    claim.reason = reason.strip()[:500]
    _tell(claim, msg("claim.refused"), msg("claim.refused_body", unit=claim.unit.label, reason=claim.reason))
