"""`flask create-user` with estates, a resident's unit and company-level accounts, through the CLI runner."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Building, Department, Estate, Relation, Residency, Unit, User


@pytest.fixture
def estates(app):
    """Two estates, each with building 3栋 and unit 1201; an estate department in the first."""
    found = {}
    for name in ("翠湖花园", "清风苑"):
        estate = Estate(name=name)
        building = Building(estate=estate, name="3栋")
        db.session.add_all([estate, building, Unit(building=building, number="1201")])
        found[name] = estate
    db.session.add(Department(code="cuihu_eng", name="工程部", estate=found["翠湖花园"]))
    db.session.commit()
    return found


def _run(runner, *args):
    return runner.invoke(args=["create-user", *args, "--password", "cli-pass-123"])


def _user(username) -> User:
    return db.session.scalar(select(User).filter_by(username=username))


def test_staff_work_for_the_estates_given(runner, estates):
    r = _run(runner, "wang", "--role", "clerk", "--name", "王芳", "--estate", "翠湖花园", "--estate", "清风苑")
    assert r.exit_code == 0, r.output
    user = _user("wang")
    assert [e.name for e in user.estates] == ["翠湖花园", "清风苑"] and not user.company_wide
    assert "翠湖花园, 清风苑" in r.output


def test_company_flag_makes_a_company_level_manager(runner, estates):
    r = _run(runner, "boss", "--role", "manager", "--name", "赵敏", "--company", "--manager-level", "2")
    assert r.exit_code == 0, r.output
    user = _user("boss")
    assert user.company_wide and user.manager_level == 2 and "company-level" in r.output


def test_a_resident_with_a_unit_becomes_its_owner(runner, estates):
    r = _run(runner, "zhang", "--role", "resident", "--name", "张伟", "--estate", "清风苑", "--unit", "3栋-1201")
    assert r.exit_code == 0, r.output
    user = _user("zhang")
    unit = db.session.scalar(select(Unit).join(Building).where(Building.estate_id == estates["清风苑"].id))
    assert user.unit_id == unit.id
    residency = db.session.scalar(select(Residency).filter_by(user_id=user.id))
    assert (residency.unit_id, residency.relation, residency.moved_out) == (unit.id, Relation.OWNER, None)


def test_department_staff_take_their_departments_estate(runner, estates):
    r = _run(runner, "liu", "--role", "department", "--name", "刘强", "--department", "cuihu_eng")
    assert r.exit_code == 0, r.output
    assert [e.name for e in _user("liu").estates] == ["翠湖花园"]


@pytest.mark.parametrize("args, message", [
    (["--role", "clerk", "--estate", "金沙湾"], "unknown estate '金沙湾'"),
    (["--role", "resident", "--estate", "清风苑", "--unit", "9栋-0101"], "unknown unit '9栋-0101' in 清风苑"),
    (["--role", "resident", "--estate", "清风苑", "--unit", "1201"], "write BUILDING-UNIT"),
    (["--role", "resident", "--unit", "3栋-1201"], "--unit needs exactly one --estate"),
    (["--role", "resident", "--estate", "清风苑"], "add --unit"),
    (["--role", "resident", "--company"], "--company is for staff"),
    (["--role", "clerk", "--estate", "清风苑", "--unit", "3栋-1201"], "--unit is for residents"),
    (["--role", "clerk"], "--estate NAME (repeatable) or --company"),
    (["--role", "department", "--department", "cuihu_eng", "--estate", "清风苑"], "does not serve 清风苑"),
    (["--role", "department", "--department", "nope", "--estate", "清风苑"], "unknown department 'nope'"),
])
def test_bad_names_get_a_clear_error_and_create_nothing(runner, estates, args, message):
    before = db.session.scalar(select(db.func.count(User.id)))
    r = _run(runner, "someone", "--name", "某人", *args)
    assert r.exit_code == 2 and message in r.output, r.output
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(User.id))) == before


def test_a_taken_username_is_refused(runner, estates):
    assert _run(runner, "wang", "--role", "clerk", "--name", "王芳", "--company").exit_code == 0
    r = _run(runner, "wang", "--role", "clerk", "--name", "王芳", "--company")
    assert r.exit_code == 2 and "taken" in r.output


def test_the_first_manager_of_a_new_installation_needs_company(runner, app):
    r = _run(runner, "boss", "--role", "manager", "--name", "赵敏")
    assert r.exit_code == 2 and "first manager needs --company" in r.output
    assert _run(runner, "boss", "--role", "manager", "--name", "赵敏", "--company").exit_code == 0
