"""The schema only changes through a migration: migrating from empty gives exactly the models."""
from __future__ import annotations

import logging
import warnings

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from portal import config as portal_config
from portal import create_app
from portal.extensions import db, init_migrations
from tests.upgrade_helpers import upgraded_app

# migrations/env.py (Flask-Migrate's stock template) tries the deprecated
# db.get_engine() before db.engine; harmless, and not what these tests are about.


@pytest.fixture
def keep_logging():
    """migrations/env.py calls logging.config.fileConfig, which replaces the root handlers
    and disables every existing logger; put it all back so later tests keep their logs."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {name: (lg.disabled, lg.level, list(lg.handlers), lg.propagate)
             for name, lg in logging.Logger.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    yield
    for name, lg in logging.Logger.manager.loggerDict.items():
        if not isinstance(lg, logging.Logger):
            continue
        if name in saved:
            lg.disabled, lg.level, handlers, lg.propagate = saved[name]
            lg.handlers[:] = handlers
        else:
            lg.handlers.clear()
    root.level = saved_root[0]
    root.handlers[:] = saved_root[1]


@pytest.fixture
def migrated_app(tmp_path, keep_logging):
    """An app on an empty SQLite file, not created with create_all."""
    class MigrationConfig(portal_config.TestConfig):
        def __init__(self) -> None:
            super().__init__()
            self.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'migrated.db'}"
            self.UPLOAD_DIR = str(tmp_path / "uploads")

    app = create_app(MigrationConfig())
    init_migrations(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _differences() -> list:
    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite's reflection cannot read an index on an expression: SQLAlchemy and Alembic warn and leave
        # ix_case_number_sequence out of the comparison; test_the_counter_index_is_migrated checks it.
        warnings.filterwarnings("ignore", message=r".*expression-based index '?ix_case_number_sequence")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_the_counter_index_is_migrated(tmp_path):
    """The index on the number's counter (an expression: the schema comparison cannot see it on SQLite),
    on either database, as the model declares it."""
    with upgraded_app(tmp_path):
        if db.engine.dialect.name == "postgresql":
            found = db.session.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_case_number_sequence'"))
            assert found and found.endswith("(substr((number)::text, 13) text_pattern_ops)"), found
        else:
            found = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'ix_case_number_sequence'"))
            assert found and found.endswith("(substr(number, 13))"), found


def _tables() -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names()) - {"alembic_version"}


def test_migrations_build_exactly_the_model_schema(migrated_app):
    assert _tables() == set()
    flask_migrate.upgrade()
    assert _tables() == set(db.metadata.tables)
    differences = _differences()
    assert differences == [], "models changed without a migration (flask db migrate):\n" + "\n".join(
        map(repr, differences))


def test_downgrade_to_base_and_upgrade_again(migrated_app):
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")
    assert _tables() == set()
    flask_migrate.upgrade()
    assert _differences() == []


def test_migration_history_has_a_single_head(migrated_app):
    from alembic.script import ScriptDirectory
    script = ScriptDirectory.from_config(migrated_app.extensions["migrate"].migrate.get_config())
    assert len(script.get_heads()) == 1


def _callback_levels() -> dict:
    with db.engine.connect() as conn:
        return {(k, s): (a, u) for k, s, a, u in conn.execute(text(
            "SELECT kind, severity, amount, unit FROM sla_rule WHERE clock = 'callback'"))}


def test_0009_keeps_a_managers_callback_days_as_the_service_level(migrated_app):
    flask_migrate.upgrade(revision="0007")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO setting (key, value, updated_at) VALUES "
                          "('callback_due_days', '10', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO sla_rule (kind, severity, clock, amount, unit) VALUES "
                          "('complaint', 'major', 'callback', 1, 'working_days')"))
    flask_migrate.upgrade()
    levels = _callback_levels()
    assert levels[("complaint", "major")] == (1, "working_days")  # the level a manager set wins
    assert levels[("complaint", "minor")] == levels[("repair", "")] == (10, "working_days")
    assert len(levels) == 8
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM setting WHERE key = 'callback_due_days'")).scalar() == 0
    flask_migrate.downgrade(revision="0007")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM setting WHERE key = 'callback_due_days'")).scalar() == "10"


def test_0009_leaves_the_default_alone(migrated_app):
    flask_migrate.upgrade(revision="0007")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO setting (key, value, updated_at) VALUES "
                          "('callback_due_days', '3', CURRENT_TIMESTAMP)"))
    flask_migrate.upgrade()
    assert _callback_levels() == {}
