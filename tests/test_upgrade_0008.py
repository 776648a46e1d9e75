"""Upgrading an installation filled at migration 0007 to the company model (0008): nobody loses access.

Rows are inserted with SQL at revision 0007 (today's code no longer fits that schema), then the
database is upgraded to head and read through today's models. SQLite always; PostgreSQL too when
TEST_DATABASE_URL is set (a database of its own, created empty for the test).
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from portal.extensions import db
from portal.models import Case, Category, Department, Estate, Phrase, Relation, Residency, Role, User
from portal.sla import policy
from tests.conftest import csrf_token
from tests.upgrade_helpers import upgraded_app
from tests.test_migrations import keep_logging  # noqa: F401  (a fixture)

PASSWORD = "upgrade-pass-1"
CREATED = datetime(2025, 5, 6, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def app_at_0007(tmp_path, keep_logging):  # noqa: F811
    """An app on an empty database migrated to 0007."""
    with upgraded_app(tmp_path, "0007") as app:
        yield app


def _insert(conn, table: str, **values) -> None:
    t = sa.Table(table, sa.MetaData(), autoload_with=conn)
    conn.execute(t.insert().values(**values))


def _user(conn, uid, username, role, manager_level=1, **extra):
    _insert(conn, "user", id=uid, username=username, password_hash=generate_password_hash(PASSWORD),
            display_name=username, role=role, active=True, created_at=CREATED, manager_level=manager_level,
            **extra)


def _case(conn, cid, resident_id=None, unit_id=None, estate_id=None, registered_by_id=None):
    text_cols = ("location", "description", "request", "contact_name", "contact_phone", "subject", "witnesses",
                 "evidence", "first_reply", "invalid_reason", "finding", "plan", "explanation", "third_party",
                 "completion_note")
    _insert(conn, "case", id=cid, number=f"TS-20250506-{cid:04d}", kind="complaint", channel="phone",
            status="registered", urgent=False, location_type="unit" if unit_id else "common",
            received_at=CREATED, reopen_count=0, supervisor_visit=False, misconduct=False, updated_at=CREATED, version_id=1,
            group_complaint=False, agitated=False, repeat=False, sla_paused=False, resident_id=resident_id,
            unit_id=unit_id, estate_id=estate_id, registered_by_id=registered_by_id,
            **{c: "楼道灯坏了" if c == "description" else "" for c in text_cols})


def _fill(estates: list[str]) -> None:
    """What a 0007 installation holds: estates, units, departments, people, cases, phrases, a rule."""
    with db.engine.begin() as conn:
        for eid, name in enumerate(estates, start=1):
            _insert(conn, "estate", id=eid, name=name)
            _insert(conn, "building", id=eid, estate_id=eid, name="3栋")
            _insert(conn, "unit", id=eid * 10 + 1, building_id=eid, number="1201")
            _insert(conn, "unit", id=eid * 10 + 2, building_id=eid, number="1202")
        _insert(conn, "department", id=1, code="engineering", name="工程部")
        _insert(conn, "department", id=2, code="security", name="保安部")
        _insert(conn, "category", id=1, code="utilities", name="水电", active=True, default_department_id=1)
        _user(conn, 1, "owner", "resident", unit_id=11, phone="13800000001")
        _user(conn, 2, "nounit", "resident")
        _user(conn, 3, "clerk", "clerk")
        _user(conn, 4, "eng", "department", department_id=1)
        _user(conn, 5, "cs_manager", "manager")
        _user(conn, 6, "site_manager", "manager", manager_level=2)
        _user(conn, 7, "far_owner", "resident", unit_id=len(estates) * 10 + 2)
        _case(conn, 1, resident_id=1, unit_id=11, estate_id=1, registered_by_id=3)
        _case(conn, 2, resident_id=1, unit_id=11)                      # no estate yet: its unit's
        _case(conn, 3, registered_by_id=3)                               # common area, no estate
        _case(conn, 4, resident_id=7, unit_id=len(estates) * 10 + 2)
        _insert(conn, "phrase", id=1, text="您好！", position=0, active=True)
        _insert(conn, "sla_rule", id=1, kind="complaint", severity="minor", clock="resolution", amount=5,
                unit="working_days")


def _users() -> dict[str, User]:
    return {u.username: u for u in db.session.scalars(select(User))}


def _logs_in(client, username: str) -> bool:
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    return r.status_code == 302


def test_one_estate_installation_keeps_everyones_access(app_at_0007):
    _fill(["翠湖花园"])
    flask_migrate.upgrade()
    estate = db.session.scalar(select(Estate))
    assert estate.active and estate.created_at is not None
    users = _users()
    for name in ("clerk", "eng", "cs_manager", "site_manager"):
        assert [e.id for e in users[name].estates] == [estate.id], name
    assert users["cs_manager"].company_wide and users["site_manager"].company_wide
    assert not users["clerk"].company_wide and not users["eng"].company_wide
    assert (users["cs_manager"].manager_level, users["site_manager"].manager_level) == (1, 2)
    assert users["owner"].estates == [] and users["owner"].unit_id == 11
    homes = {(r.user_id, r.unit_id, r.relation, r.moved_in, r.moved_out) for r in db.session.scalars(select(Residency))}
    assert homes == {(1, 11, Relation.OWNER, date(2025, 5, 6), None), (7, 12, Relation.OWNER, date(2025, 5, 6), None)}
    assert set(db.session.scalars(select(Case.estate_id))) == {estate.id}
    assert {d.estate_id for d in db.session.scalars(select(Department))} == {estate.id}
    assert all(d.active for d in db.session.scalars(select(Department)))
    category = db.session.scalar(select(Category))
    assert (category.estate_id, category.default_department_id, category.position) == (None, 1, 0)
    assert db.session.scalar(select(Phrase)).estate_id is None
    assert policy.level("complaint", "minor", "resolution", estate.id) == policy.Level(5, "working_days")
    client = app_at_0007.test_client()
    for name in ("clerk", "owner", "cs_manager"):
        assert _logs_in(client, name), name
        client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert _logs_in(client, "owner")
    assert client.get("/cases/1").status_code == 200


def test_several_estates_staff_get_them_all_departments_become_company_wide(app_at_0007):
    _fill(["翠湖花园", "清风苑"])
    flask_migrate.upgrade()
    ids = set(db.session.scalars(select(Estate.id)))
    users = _users()
    for name in ("clerk", "eng", "cs_manager", "site_manager"):
        assert {e.id for e in users[name].estates} == ids, name
    assert {d.estate_id for d in db.session.scalars(select(Department))} == {None}
    estates = {c.id: c.estate_id for c in db.session.scalars(select(Case))}
    assert estates == {1: 1, 2: 1, 3: None, 4: 2}   # a common-area case without an estate stays unassigned
    assert db.session.scalar(select(Residency).filter_by(user_id=7)).unit_id == 22
    assert users["nounit"].role == Role.RESIDENT and users["nounit"].active
