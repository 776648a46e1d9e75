"""`flask doctor` says plainly what is wrong with an installation (Redis/worker checks: test_rq.py)."""
from __future__ import annotations

from datetime import date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import flask_migrate
import pytest
from flask import g

from portal.doctor import FAIL, OK, WARN, check_calendar, run_checks
from portal.extensions import db
from portal.models import CalendarDay
from tests.test_migrations import keep_logging, migrated_app  # noqa: F401  (fixtures)


def _by_topic(findings, topic):
    return [(f.level, f.message) for f in findings if f.topic == topic]


def test_a_database_built_without_migrations_fails_with_the_command_to_run(app, runner):
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "[FAIL] database" in result.output and "no schema revision" in result.output
    assert "flask --app app db upgrade" in result.output
    assert "1 problem(s)" in result.output


def test_a_migrated_database_passes_and_a_stale_one_names_both_revisions(migrated_app):
    flask_migrate.upgrade()
    level, message = _by_topic(run_checks(migrated_app), "database")[0]
    assert level == OK and "(latest)" in message
    flask_migrate.downgrade(revision="0005_reports")
    level, message = _by_topic(run_checks(migrated_app), "database")[0]
    assert level == FAIL and "0005_reports" in message and "db upgrade" in message


def test_an_unreachable_database_is_reported_not_raised(app):
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    from sqlalchemy import create_engine
    broken = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with mock.patch.object(type(db), "engine", new_callable=mock.PropertyMock, return_value=broken):
        findings = run_checks(app)
    level, message = _by_topic(findings, "database")[0]
    assert level == FAIL and "cannot connect" in message and "127.0.0.1:1" in message
    assert _by_topic(findings, "calendar") == [(WARN, "not checked: the database is not ready")]


def test_production_without_postgresql_redis_or_proxy_says_what_to_set(app):
    app.config.update(ENV_NAME="production", SQLALCHEMY_DATABASE_URI="sqlite:///x.db", REDIS_URL=None,
                      PROXY_COUNT=0, MAIL_BACKEND="file")
    config = _by_topic(run_checks(app), "config")
    assert any(level == FAIL and m.startswith("DATABASE_URL is not PostgreSQL") for level, m in config)
    assert any(level == FAIL and "REDIS_URL is not set" in m and "rq cron" in m for level, m in config)
    assert any(level == WARN and "PROXY_COUNT" in m for level, m in config)
    assert any(level == WARN and "MAIL_BACKEND=file" in m for level, m in config)


def test_uploads_under_static_and_unwritable_directories_fail(app, tmp_path):
    app.config["UPLOAD_DIR"] = app.static_folder + "/uploads"
    assert any(level == FAIL and "under static/" in m for level, m in _by_topic(run_checks(app), "config"))
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    app.config["UPLOAD_DIR"] = str(locked / "uploads")
    with mock.patch("pathlib.Path.mkdir", side_effect=PermissionError(13, "Permission denied")):
        findings = _by_topic(run_checks(app), "config")
    assert any(level == FAIL and "not writable" in m and "Permission denied" in m for level, m in findings)


def test_bad_time_zone_and_mail_backend_fail(app):
    app.config.update(TIMEZONE="Mars/Olympus", MAIL_BACKEND="pigeon")
    messages = [m for level, m in _by_topic(run_checks(app), "config") if level == FAIL]
    assert any("Mars/Olympus" in m for m in messages) and any("pigeon" in m for m in messages)


@pytest.mark.parametrize("today, missing", [(date(2026, 11, 22), "2027"), (date(2025, 6, 1), None)])
def test_calendar_warns_about_years_without_official_holidays(app, today, missing):
    now = datetime(today.year, today.month, today.day, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    with mock.patch("portal.timeutil.local_now", return_value=now):
        [(level, message)] = _by_topic(check_calendar(app), "calendar")
    if missing:
        assert level == WARN and f"no official holidays for {missing}" in message and "/admin/calendar" in message
    else:
        assert level == OK and message.startswith("data for 2004–")


def test_a_manager_entered_year_satisfies_the_calendar_check(app):
    db.session.add(CalendarDay(day=date(2027, 1, 1), year=2027, working=False, name="元旦"))
    db.session.commit()
    g.pop("_work_calendar", None)
    now = datetime(2026, 11, 22, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    with mock.patch("portal.timeutil.local_now", return_value=now):
        [(level, message)] = _by_topic(check_calendar(app), "calendar")
    assert level == OK and message == "data for 2004–2027"
