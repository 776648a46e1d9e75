"""Fixtures: app, client, people in every role, and login/post helpers."""
from __future__ import annotations

import os
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import Role
from tests import factories


def _database_url(suffix: str = "") -> str:
    """SQLite in memory, or one PostgreSQL database per xdist worker (and suffix)."""
    url = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    if not url.startswith("postgresql"):
        return url
    name = "portal_test_" + os.environ.get("PYTEST_XDIST_WORKER", "main") + suffix
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass, skip what runs on its own SQLite file: the SQLite pass ran it already.
    On a SQLite pass that `scripts/test` follows with a PostgreSQL pass, skip what that pass runs
    where it finds more (marker `postgres_pass`: the form fuzzer, PostgreSQL being the stricter)."""
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        if os.environ.get("PORTAL_POSTGRES_PASS_FOLLOWS") == "1":
            later = pytest.mark.skip(reason="runs on the PostgreSQL pass that follows (stricter: lengths, NUL bytes)")
            for item in items:
                if item.get_closest_marker("postgres_pass"):
                    item.add_marker(later)
        return
    same = pytest.mark.skip(reason="runs on its own SQLite file: identical on the SQLite pass")
    for item in items:
        if item.get_closest_marker("own_database"):
            item.add_marker(same)


@pytest.fixture(scope="session")
def database_url() -> str:
    return _database_url()


class RequestScopedClient(FlaskClient):
    """Every request runs in its own app context, as in production: a fresh `g` and db session.

    The `app` fixture keeps one app context pushed (tests use db.session) and Flask
    would reuse it for test requests; a shared `g` and session would leak caches and
    serve objects from the test's identity map instead of the database.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(tmp_path, database_url):
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.UPLOAD_DIR = str(tmp_path / "uploads")
    config.OUTBOX_DIR = str(tmp_path / "outbox")
    app = create_app(config)
    app.test_client_class = RequestScopedClient
    with app.app_context():
        _fresh_schema()
        yield app
        db.session.remove()
        _empty_schema()
        db.engine.dispose()


def _fresh_schema() -> None:
    """Create the tables; on PostgreSQL keep them between tests (create_all costs ~0.3 s there).

    The schema is reused only when it holds exactly the models' tables (a test that migrated,
    dropped or added a table leaves something else): otherwise it is rebuilt from scratch.
    """
    if db.engine.dialect.name != "postgresql":
        db.create_all()
        return
    with db.engine.connect() as conn:
        present = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    if present == set(db.metadata.tables):
        return
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.create_all()


def _empty_schema() -> None:
    """Leave an empty database for the next test: drop the tables, or on PostgreSQL truncate them
    (identities restarted, the rows `after_create` listeners insert put back)."""
    if db.engine.dialect.name != "postgresql":
        db.drop_all()
        return
    tables = db.metadata.sorted_tables
    try:
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            names = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            for table in tables:
                table.dispatch.after_create(table, conn)
    except Exception:  # something still holds a lock: rebuild instead (the next test checks the tables)
        db.engine.dispose()
        db.drop_all()


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible server on loopback (moto's standalone server), one per test process."""
    from tests.s3_server import running
    with running() as url:
        yield url


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def people(app):
    """One account per role, plus a second resident and a second department, all of the estate 测试花园."""
    return make_people()


def make_people() -> dict:
    """The `people` fixture's accounts, committed (also built once for tests/access_world.py)."""
    ref = factories.reference()
    p = {
        "ref": ref,
        "resident": factories.user(Role.RESIDENT, unit=ref["units"][0], name="张三"),
        "other_resident": factories.user(Role.RESIDENT, unit=ref["units"][1], name="李四"),
        "clerk": factories.user(Role.CLERK),  # staff work for the estate (every one that exists now)
        "manager": factories.user(Role.MANAGER, company_wide=True),  # the company-level manager
        "eng": factories.user(Role.DEPARTMENT, department=ref["eng"]),
        "sec": factories.user(Role.DEPARTMENT, department=ref["sec"]),
    }
    db.session.commit()
    return p


@pytest.fixture
def elsewhere(app, people):
    """A second estate 清风苑 with its own clerk, manager, engineer and resident; plus an estate manager
    of the first estate (people's manager is company-level) and a security guard of the same department
    as people["sec"] who works only for the second estate."""
    return make_elsewhere(people)


def make_elsewhere(people: dict) -> dict:
    """The `elsewhere` fixture's estate and accounts, committed."""
    ref = factories.estate()
    here = people["ref"]["estate"]
    p = {
        "ref": ref,
        "resident": factories.user(Role.RESIDENT, unit=ref["units"][0], name="王五"),
        "clerk": factories.user(Role.CLERK, estates=[ref["estate"]]),
        "manager": factories.user(Role.MANAGER, estates=[ref["estate"]]),
        "eng": factories.user(Role.DEPARTMENT, department=ref["eng"], estates=[ref["estate"]]),
        "sec": factories.user(Role.DEPARTMENT, department=people["ref"]["sec"], estates=[ref["estate"]]),
        "manager_here": factories.user(Role.MANAGER, estates=[here]),
    }
    db.session.commit()
    return p


def csrf_token(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login_as(client, user) -> None:
    """Log in through the real form (CSRF included)."""
    token = csrf_token(client)
    response = client.post("/login", data={"username": user.username, "password": factories.PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


def post(client, url, data=None, htmx_target: str | None = None, **kwargs):
    """POST with the CSRF token in the header, as htmx sends it."""
    headers = {"X-CSRFToken": csrf_token(client)}
    if htmx_target:
        headers.update({"HX-Request": "true", "HX-Target": htmx_target})
    return client.post(url, data=data or {}, headers=headers, **kwargs)


def htmx_get(client, url, target: str):
    return client.get(url, headers={"HX-Request": "true", "HX-Target": target})


@pytest.fixture
def as_(app, people):
    """as_("clerk") -> a client logged in as that person."""
    clients = {}

    def make(who: str):
        if who not in clients:
            db.session.commit()
            clients[who] = app.test_client()
            login_as(clients[who], people[who])
        return clients[who]
    return make
