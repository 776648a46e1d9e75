"""Without Redis, the running server scans deadlines itself (the one-command start reminds and escalates)."""
from __future__ import annotations

import sys
import time
from datetime import timedelta

import click
from sqlalchemy import select

from portal import config as portal_config
from portal import create_app, ticker
from portal.extensions import db
from portal.models import Alert, Role
from portal.timeutil import utcnow
from tests import factories


def test_only_a_serving_process_starts_the_ticker(monkeypatch):
    monkeypatch.delitem(sys.modules, "gunicorn.app.base", raising=False)
    assert not ticker.serving()                                   # a test, a script, an RQ worker
    for name, params, serving in (("seed-demo", {}, False), ("run", {"reload": False}, True),
                                  ("run", {"reload": True}, False)):   # the reloader's watcher serves nothing
        with click.Context(click.Command(name)) as ctx:
            ctx.params = params
            assert ticker.serving() is serving, name
    monkeypatch.setitem(sys.modules, "gunicorn.app.base", sys)
    assert ticker.serving()                                       # a gunicorn worker


def test_the_server_starts_the_in_process_scan_when_it_starts(tmp_path, monkeypatch):
    config = portal_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'ticker.db'}"  # shared with the ticker thread
    config.OUTBOX_DIR = str(tmp_path / "outbox")
    config.JOBS_TICKER = True
    app = create_app(config)
    assert "portal_ticker" not in app.extensions              # not serving: no thread
    with app.app_context():
        db.create_all()
        ref = factories.reference()
        factories.user(Role.MANAGER)
        resident = factories.user(Role.RESIDENT, unit=ref["units"][0])
        case = factories.case(resident, received_at=utcnow() - timedelta(days=2))
        db.session.commit()
        monkeypatch.setattr(ticker, "serving", lambda: True)
        served = create_app(config)                             # what gunicorn and `flask run` build
        try:
            assert served.extensions["portal_ticker"].is_alive()
            deadline = time.monotonic() + 15
            found = None
            while found is None and time.monotonic() < deadline:
                db.session.rollback()
                found = db.session.scalar(select(Alert).where(Alert.case_id == case.id, Alert.level == 1))
                time.sleep(0.2)
            assert found is not None, "the ticker did not escalate the overdue case"
        finally:
            ticker.stop_background(served)
            assert not served.extensions["portal_ticker"].is_alive()
        db.session.remove()
        db.engine.dispose()
