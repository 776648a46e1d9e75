"""Upgrading to 0013 (audience): existing events' internal notes leave what residents read.

SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (a database of its own).
"""
from __future__ import annotations

from datetime import datetime, timezone

import flask_migrate
import pytest
from sqlalchemy import text

from portal.extensions import db
from portal.models import Role
from tests import factories
from tests.test_migrations import keep_logging  # noqa: F401  (a fixture)
from tests.upgrade_helpers import upgraded_app

AT = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def migrated(tmp_path, keep_logging):  # noqa: F811
    with upgraded_app(tmp_path) as app:
        yield app


def test_0013_moves_internal_notes_out_of_the_residents_text(migrated):
    ref = factories.reference()
    resident = factories.user(Role.RESIDENT, unit=ref["units"][0])
    case = factories.case(resident)
    db.session.commit()
    case_id = case.id
    db.session.remove()
    flask_migrate.downgrade(revision="0016")
    rows = [("dispatch", True, "工程部 重大投诉，请今天内上门"), ("classify", True, "水电 / 重大 / 群体投诉"),
            ("callback", True, "业主说还行"), ("instruct", False, "今天必须处理"),
            ("acknowledge", True, "您好，已收到"), ("plan", True, "管道老化\n更换管道")]
    with db.engine.begin() as conn:
        for action, public, note in rows:
            conn.execute(text("INSERT INTO case_event (case_id, at, action, note, public) "
                              "VALUES (:c, :at, :a, :n, :p)"), {"c": case_id, "at": AT, "a": action, "n": note, "p": public})
    flask_migrate.upgrade()
    with db.engine.connect() as conn:
        got = {a: (n, i) for a, n, i in conn.execute(text(
            "SELECT action, note, internal_note FROM case_event WHERE case_id = :c AND action != 'register'"),
            {"c": case_id})}
    assert got["dispatch"] == ("", "工程部 重大投诉，请今天内上门")
    assert got["classify"] == ("", "水电 / 重大 / 群体投诉")
    assert got["callback"] == ("", "业主说还行")
    assert got["instruct"] == ("", "今天必须处理")
    assert got["acknowledge"] == ("您好，已收到", "")  # public text stays public
    assert got["plan"] == ("管道老化\n更换管道", "")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM phone_reveal")).scalar() == 0
