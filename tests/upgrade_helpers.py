"""An app on an empty database of its own, migrated to a revision: the upgrade tests' starting point.

SQLite always (a file under the test's tmp_path); PostgreSQL when TEST_DATABASE_URL is set (a
database per xdist worker, dropped and created empty for each test).
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import flask_migrate
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import config as portal_config
from portal import create_app
from portal.extensions import db, init_migrations
from tests.conftest import RequestScopedClient


def _empty_database(tmp_path) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'upgrade.db'}"
    name = "portal_upgrade_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@contextmanager
def upgraded_app(tmp_path, revision: str = "head"):
    """The app, its context pushed, on an empty database upgraded to `revision`."""
    class UpgradeConfig(portal_config.TestConfig):
        def __init__(self) -> None:
            super().__init__()
            self.SQLALCHEMY_DATABASE_URI = _empty_database(tmp_path)
            self.UPLOAD_DIR = str(tmp_path / "uploads")
            self.OUTBOX_DIR = str(tmp_path / "outbox")

    app = create_app(UpgradeConfig())
    app.test_client_class = RequestScopedClient
    init_migrations(app)
    with app.app_context():
        flask_migrate.upgrade(revision=revision)
        yield app
        db.session.remove()
        db.engine.dispose()
