"""Small builders for test data; they add and flush, tests decide when to commit."""
from __future__ import annotations

from datetime import date
from itertools import count

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from portal.cases.intake import register_case
from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import (
    Building, Category, Channel, Department, Estate, Kind, LocationType, Phrase, Relation, Residency, Role, Unit,
    User,
)

_seq = count(1)
PASSWORD = "secret-pass-1"
_HASH: dict[str, str] = {}


def reference() -> dict:
    """An estate with two units, two departments, two categories and standard phrases."""
    estate = Estate(name="测试花园")
    b = Building(estate=estate, name="1栋")
    units = [Unit(building=b, number="0101"), Unit(building=b, number="0202")]
    eng = Department(code="engineering", name="工程部")
    sec = Department(code="security", name="保安部")
    water = Category(code="utilities", name="水电", default_department=eng)
    parking = Category(code="parking", name="停车", default_department=sec)
    db.session.add_all([estate, b, *units, eng, sec, water, parking,
                        Phrase(text="我们会及时把处理结果通知您。", position=1)])
    db.session.flush()
    return {"estate": estate, "units": units, "eng": eng, "sec": sec, "water": water, "parking": parking}


def user(role: Role, *, unit=None, department=None, name=None, username=None, estates=None,
         company_wide: bool = False, relation: Relation = Relation.OWNER, moved_in: date = date(2000, 1, 1)) -> User:
    """An account. Staff work for every estate that exists now unless `estates=` (or `company_wide=True`)
    says otherwise; a resident made with `unit=` lives there (a Residency as `relation`, owner by default)."""
    n = next(_seq)
    if unit is not None and unit.id is None:
        db.session.add(unit)
        db.session.flush()
    u = User(username=username or f"{role.value}{n}", display_name=name or f"{role.value}-{n}", role=role,
             phone=f"138{n % 10**8:08d}", unit_id=unit.id if unit else None,
             department_id=department.id if department else None, company_wide=company_wide)
    if "h" not in _HASH:
        # Production hashes with scrypt (slow by design); a cheap method keeps logins fast in tests.
        _HASH["h"] = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    u.password_hash = _HASH["h"]
    if role != Role.RESIDENT and not company_wide:
        u.estates = list(estates) if estates is not None else list(db.session.scalars(select(Estate)))
    db.session.add(u)
    db.session.flush()
    if unit is not None:
        residency(u, unit, relation, moved_in)
    return u


def residency(resident: User, unit, relation: Relation = Relation.OWNER, moved_in: date = date(2000, 1, 1),
              moved_out: date | None = None) -> Residency:
    """A resident's tie to a unit."""
    r = Residency(user_id=resident.id, unit_id=unit.id, relation=relation, moved_in=moved_in, moved_out=moved_out)
    db.session.add(r)
    db.session.flush()
    return r


def estate(name: str = "清风苑") -> dict:
    """A second estate: one building, two units, its own engineering and security departments."""
    e = Estate(name=name)
    b = Building(estate=e, name="A座")
    units = [Unit(building=b, number="0101"), Unit(building=b, number="0202")]
    eng = Department(code=f"engineering-{next(_seq)}", name="工程部", estate=e)
    sec = Department(code=f"security-{next(_seq)}", name="保安部", estate=e)
    db.session.add_all([e, b, *units, eng, sec])
    db.session.flush()
    return {"estate": e, "units": units, "eng": eng, "sec": sec}


def case(resident: User, actor: User | None = None, *, kind=Kind.COMPLAINT, category=None,
         description="楼道灯坏了，晚上很黑。", **extra):
    c = register_case(actor=actor or resident, resident=resident, kind=kind, channel=Channel.ONLINE,
                      description=description, location_type=LocationType.UNIT,
                      category_id=category.id if category else None, **extra)
    db.session.flush()
    return c


def advance(c, steps, people: dict):
    """Walk a case through lifecycle steps with sensible data: steps like 'dispatch'."""
    from datetime import timedelta
    from portal.timeutil import utcnow
    for step in steps:
        if step in ("acknowledge", "mark_invalid", "overturn"):
            perform(c, people["clerk"] if step != "overturn" else people["manager"], step, {"note": "好的"})
        elif step == "classify":
            perform(c, people["clerk"], step, {"category_id": people["ref"]["water"].id, "severity": "minor"})
        elif step == "dispatch":
            perform(c, people["clerk"], step, {"department_id": people["ref"]["eng"].id})
        elif step in ("accept", "resume"):
            perform(c, people["eng"], step, {})
        elif step == "plan":
            perform(c, people["eng"], step, {"finding": "管道老化", "plan": "更换管道",
                                             "promised_at": utcnow() + timedelta(days=1)})
        elif step == "complete":
            perform(c, people["eng"], step, {"note": "已更换"})
        elif step in ("confirm", "reject"):
            perform(c, c.resident, step, {"note": "仍然漏水"})
        elif step == "close":
            perform(c, people["manager"], step, {})
        else:
            raise ValueError(step)
    db.session.flush()
    return c
