"""What a process loads at start: libraries only some processes use are imported where they are used.

Flask-Migrate (with Alembic, Mako, Pygments), redis and rq, Pillow and segno together held about
18 MB of every web and worker process that never migrated, never queued to Redis, never handled
a photo or drew a QR code (see docs/benchmarks.md, "Memory at start").
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from portal.extensions import db
from tests.test_migrations import keep_logging  # noqa: F401  (fixture: Alembic's env.py configures logging)

ROOT = Path(__file__).resolve().parent.parent
LAZY = ("flask_migrate", "alembic", "mako", "pygments", "redis", "rq", "PIL", "segno")

PROBE = """
import json, sys
from portal import create_app
from portal.config import TestConfig
config = TestConfig()
config.SQLALCHEMY_DATABASE_URI = "sqlite:///" + sys.argv[1]
config.UPLOAD_DIR = sys.argv[2]
app = create_app(config)
with app.test_request_context("/"):
    app.test_client().get("/login")
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in {lazy})))
"""


def test_a_started_app_without_redis_loads_none_of_the_lazy_libraries(tmp_path):
    probe = PROBE.replace("{lazy}", repr(set(LAZY)))
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "probe.db"), str(tmp_path / "uploads")],
                         cwd=ROOT, capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "REDIS_URL"})
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def _head(app) -> str:
    from alembic.script import ScriptDirectory
    return ScriptDirectory(app.extensions["migrate"].directory).get_current_head()


def test_the_db_commands_load_flask_migrate_when_asked(app):
    assert "migrate" not in app.extensions
    result = app.test_cli_runner().invoke(args=["db", "heads"])
    assert result.exit_code == 0, result.output
    assert app.extensions["migrate"].directory == str(ROOT / "migrations")


def test_db_upgrade_from_the_command_line_builds_the_schema(tmp_path, keep_logging):  # noqa: F811
    from portal import create_app
    from portal.config import TestConfig

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'cli.db'}"
    config.UPLOAD_DIR = str(tmp_path / "uploads")
    app = create_app(config)
    with app.app_context():  # as `flask db upgrade` runs: this app's context, whatever else a test pushed
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        revision = db.session.execute(db.text("SELECT version_num FROM alembic_version")).scalar()
        db.engine.dispose()
    assert revision == _head(app)
