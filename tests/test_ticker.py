"""Without Redis, the running server scans deadlines itself (the one-command start reminds and escalates)."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from portal import config as portal_config
from portal import create_app
from portal.extensions import db
from portal.models import Alert, Role
from portal.timeutil import utcnow
from tests import factories


def test_first_request_starts_the_in_process_scan(tmp_path):
    config = portal_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'ticker.db'}"  # shared with the ticker thread
    config.OUTBOX_DIR = str(tmp_path / "outbox")
    config.JOBS_TICKER = True
    app = create_app(config)
    with app.app_context():
        db.create_all()
        ref = factories.reference()
        factories.user(Role.MANAGER)
        resident = factories.user(Role.RESIDENT, unit=ref["units"][0])
        case = factories.case(resident, received_at=utcnow() - timedelta(days=2))
        db.session.commit()
        assert "portal_ticker" not in app.extensions
        app.test_client().get("/login")
        assert app.extensions["portal_ticker"].is_alive()
        deadline = time.monotonic() + 15
        found = None
        while found is None and time.monotonic() < deadline:
            db.session.rollback()
            found = db.session.scalar(select(Alert).where(Alert.case_id == case.id, Alert.level == 1))
            time.sleep(0.2)
        assert found is not None, "the ticker did not escalate the overdue case"
        db.session.remove()
