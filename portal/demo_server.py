"""A seeded demo portal served from a thread, for browser tests and screenshots."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

from portal import create_app
from portal.config import TestConfig
from portal.demo import seed_demo
from portal.extensions import db

CHROMIUM = "/usr/bin/chromium"  # Debian's package; never a downloaded browser
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class DemoServerConfig(TestConfig):
    """TestConfig on a SQLite file and upload folder that the server threads share."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.SQLALCHEMY_DATABASE_URI = f"sqlite:///{root / 'portal.db'}"
        self.UPLOAD_DIR = str(root / "uploads")


@contextmanager
def serve_demo(root: Path):
    """Yield (base URL, app) of a seeded demo server on 127.0.0.1 and a free port."""
    app = create_app(DemoServerConfig(root))
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="demo-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
