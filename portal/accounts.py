"""Creating an account from a script (`flask create-user`): role, estates, home unit, company level."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Building, Department, Estate, Relation, Residency, Role, Unit, User
from portal.timeutil import local_now


class AccountError(ValueError):
    """Input that names something that does not exist or does not fit the role."""


def _estates(names) -> list[Estate]:
    found = []
    for name in dict.fromkeys(n.strip() for n in names):
        estate = db.session.scalar(select(Estate).filter_by(name=name))
        if estate is None:
            known = ", ".join(db.session.scalars(select(Estate.name).order_by(Estate.name))) or "none yet"
            raise AccountError(f"unknown estate {name!r} (estates: {known})")
        found.append(estate)
    return found


def find_unit(estate: Estate, label: str) -> Unit:
    """The unit `BUILDING-UNIT` (such as 3栋-1201) of the estate."""
    building_name, _, number = label.strip().rpartition("-")
    if not building_name or not number:
        raise AccountError(f"--unit {label!r}: write BUILDING-UNIT, such as 3栋-1201")
    unit = db.session.scalar(select(Unit).join(Building).where(
        Building.estate_id == estate.id, Building.name == building_name, Unit.number == number))
    if unit is None:
        raise AccountError(f"unknown unit {label!r} in {estate.name}")
    return unit


def _staff_estates(role: Role, estates: list[Estate], dep: Department | None, company: bool) -> list[Estate]:
    if company or estates:
        return estates
    if dep is not None and dep.estate is not None:
        return [dep.estate]  # an estate department's staff work for its estate
    all_estates = db.session.scalars(select(Estate).where(Estate.active.is_(True)).limit(2)).all()
    if len(all_estates) == 1:
        return list(all_estates)  # a company with one estate: nothing to choose
    hint = "no estates yet: the first manager needs --company" if not all_estates else "which estate?"
    raise AccountError(f"{role.value} accounts need --estate NAME (repeatable) or --company ({hint})")


def create_account(username: str, role: str, display_name: str, password: str, *, department_code=None,
                   estate_names=(), unit_label=None, company=False, manager_level=1) -> User:
    """Add a new account with its estates (and a resident's owner residency); the caller commits."""
    role = Role(role)
    if db.session.scalar(select(User.id).filter_by(username=username)) is not None:
        raise AccountError(f"the username {username!r} is taken")
    estates = _estates(estate_names)
    dep = db.session.scalar(select(Department).filter_by(code=department_code)) if department_code else None
    if department_code and dep is None:
        raise AccountError(f"unknown department {department_code!r}")
    if role == Role.DEPARTMENT and dep is None:
        raise AccountError("department accounts need --department CODE")
    user = User(username=username, display_name=display_name, role=role, department_id=dep.id if dep else None,
                manager_level=manager_level if role == Role.MANAGER else 1)
    user.set_password(password)
    if role == Role.RESIDENT:
        if company:
            raise AccountError("--company is for staff, not residents")
        if unit_label is None and estates:
            raise AccountError("a resident's estate comes with their unit: add --unit BUILDING-UNIT")
        if unit_label is not None:
            if len(estates) != 1:
                raise AccountError("--unit needs exactly one --estate NAME")
            unit = find_unit(estates[0], unit_label)
            user.unit_id = unit.id
            db.session.add(Residency(unit=unit, user=user, relation=Relation.OWNER, moved_in=local_now().date()))
    else:
        if unit_label is not None:
            raise AccountError("--unit is for residents")
        for estate in _staff_estates(role, estates, dep, company):
            if dep is not None and dep.estate_id not in (None, estate.id):
                raise AccountError(f"department {dep.code!r} does not serve {estate.name}")
            user.estates.append(estate)
        user.company_wide = bool(company)
    db.session.add(user)
    db.session.flush()
    return user
