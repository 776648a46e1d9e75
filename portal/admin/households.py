"""Residents and their households: add, edit, move out, deactivate (SPEC §9)."""
from __future__ import annotations

import re
import secrets
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.admin.changes import log_change, log_create
from portal.audit import record, snapshot
from portal.extensions import db
from portal.models import Building, Relation, Residency, Role, Unit, User

RESIDENT_FIELDS = ("display_name", "phone", "wechat_openid", "active")
RESIDENCY_FIELDS = ("unit_id", "user_id", "relation", "moved_in", "moved_out")
_SEPARATORS = re.compile(r"[\s\-‐‑–—()（）.]")
MOBILE = re.compile(r"1[0-9]{10}")


def normalise_mobile(text: str | None) -> str | None:
    """An 11-digit mainland mobile from what people type (+86, 0086, spaces, dashes); None if it is not one."""
    digits = _SEPARATORS.sub("", text or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
            break
    else:
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
    return digits if MOBILE.fullmatch(digits) else None


def find_unit(estate_id: int, label: str) -> Unit | None:
    """The estate's unit named "BUILDING-NUMBER" (the building's name may itself hold dashes)."""
    label = (label or "").strip()
    for i, ch in enumerate(label):
        if ch in "-－":
            building, number = label[:i].strip(), label[i + 1:].strip()
            unit = db.session.scalar(select(Unit).join(Building).where(
                Building.estate_id == estate_id, Building.name == building, Unit.number == number))
            if unit is not None:
                return unit
    return None


def current_clause(on: date):
    return (Residency.moved_in <= on) & (Residency.moved_out.is_(None) | (Residency.moved_out > on))


def resident_by_mobile(mobile: str) -> User | None:
    return db.session.scalar(select(User).where(User.role == Role.RESIDENT, User.phone == mobile)
                             .order_by(User.id).limit(1))


def _free_username(mobile: str) -> str:
    name, n = mobile, 1
    while db.session.scalar(select(func.count()).select_from(User).where(User.username == name)):
        n += 1
        name = f"{mobile}-{n}"
    return name


def add_resident(actor, name: str, mobile: str, unit: Unit, relation: Relation, moved_in: date):
    """The person with this mobile (created when new) moves into the unit; (residency, created?)."""
    person = resident_by_mobile(mobile)
    created = person is None
    if created:
        person = User(username=_free_username(mobile), display_name=name, role=Role.RESIDENT, phone=mobile,
                      unit_id=unit.id, active=True)
        # Residents sign in with their mobile (SPEC §9); the password is never told to anyone.
        person.set_password(secrets.token_urlsafe(24))
        db.session.add(person)
        db.session.flush()
        log_create(actor, "resident", person, RESIDENT_FIELDS, estate_id=unit.building.estate_id,
                   summary=f"{name} {mobile}")
    residency = add_residency(actor, person, unit, relation, moved_in)
    return residency, created, person


def add_residency(actor, person: User, unit: Unit, relation: Relation, moved_in: date) -> Residency:
    residency = Residency(unit_id=unit.id, user_id=person.id, relation=relation, moved_in=moved_in)
    db.session.add(residency)
    if person.unit_id is None:
        person.unit_id = unit.id
    db.session.flush()
    log_create(actor, "residency", residency, RESIDENCY_FIELDS, estate_id=unit.building.estate_id,
               summary=f"{person.display_name} {unit.label}")
    return residency


def lives_there(person: User, unit: Unit, on: date) -> bool:
    """True when the person already holds the unit (now or from a future move-in date)."""
    return bool(db.session.scalar(select(func.count()).select_from(Residency).where(
        Residency.user_id == person.id, Residency.unit_id == unit.id,
        Residency.moved_out.is_(None) | (Residency.moved_out > on))))


def move_out(actor, residency: Residency, on: date) -> None:
    """The resident leaves the unit on that day; their home unit moves to another current one, if any."""
    before = snapshot(residency, RESIDENCY_FIELDS)
    residency.moved_out = on
    person = residency.user
    if person.unit_id == residency.unit_id:
        other = db.session.scalar(select(Residency.unit_id).where(
            Residency.user_id == person.id, Residency.id != residency.id, current_clause(on)).limit(1))
        person.unit_id = other  # None when they hold no unit any more
    db.session.flush()
    log_change(actor, "residency", residency, RESIDENCY_FIELDS, before,
               estate_id=residency.unit.building.estate_id,
               summary=f"{person.display_name} {residency.unit.label}")


def set_active(actor, person: User, active: bool, estate_id: int | None) -> None:
    """Deactivate or reactivate an account; deactivation ends its sessions at once."""
    if bool(person.active) == active:
        return
    before = snapshot(person, ("active",))
    person.active = active
    if not active:
        person.end_sessions()
    record(actor, "resident" if person.role == Role.RESIDENT else "user", person.id,
           "reactivate" if active else "deactivate", before=before, after={"active": active},
           estate_id=estate_id, summary=person.display_name)


def mobile_taken(mobile: str, person: User) -> bool:
    """Another resident already has this mobile (it identifies a resident at sign-in)."""
    return bool(db.session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.RESIDENT, User.phone == mobile, User.id != person.id)))


def openid_taken(openid: str | None, person: User) -> bool:
    """Another account is already linked to this WeChat openid (one person per WeChat account)."""
    return bool(openid) and bool(db.session.scalar(select(func.count()).select_from(User).where(
        User.wechat_openid == openid, User.id != person.id)))


def message_bad_mobile() -> str:
    return _("Enter an 11-digit mobile number starting with 1 (+86, spaces and dashes are fine).")
