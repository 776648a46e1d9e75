"""Two web processes on different instance folders, sharing one database and one bucket, serve the
same photos and lists: a photo filed through one is listed and served by the other, with the
thumbnail the first one's job made."""
from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from portal import create_app
from portal import config as portal_config
from portal.extensions import db
from portal.models import Role
from tests import factories
from tests.test_photo_storage_s3 import bucket_for, jpeg

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _people(db_url: str) -> dict:
    """An estate with a resident and their neighbour, written into the shared database."""
    config = portal_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = db_url
    app = create_app(config)
    with app.app_context():
        ref = factories.reference()
        found = {"resident": factories.user(Role.RESIDENT, unit=ref["units"][0]).username,
                 "neighbour": factories.user(Role.RESIDENT, unit=ref["units"][1]).username,
                 "water": ref["water"].id}
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return found


def _signed_in(base: str, username: str) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="csrf-token" content="([^"]+)"', s.get(base + "/login", timeout=30).text).group(1)
    r = s.post(base + "/login", data={"username": username, "password": factories.PASSWORD, "csrf_token": token},
               allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[:500]
    # Signing in starts a new session: the token comes from a page of that session.
    page = s.get(base + "/cases/new", timeout=30).text
    s.headers["X-CSRFToken"] = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return s


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = predicate()
        except (requests.ConnectionError, OSError):
            found = None
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.own_database
def test_two_web_processes_share_one_database_and_bucket(tmp_path, s3_endpoint):
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLASK_DEBUG", "TEST_DATABASE_URL")}
    env.update(DATABASE_URL=db_url, FLASK_APP="app", PYTHONPATH=str(ROOT), MAIL_BACKEND="file", SMS_BACKEND="file",
               SECRET_KEY="two-servers-one-secret-key-0123456789abcdef", PORTAL_JOBS_TICKER="1",
               PHOTO_STORAGE="s3", S3_ENDPOINT_URL=s3_endpoint, S3_BUCKET=bucket_for(s3_endpoint),
               S3_ACCESS_KEY_ID="test", S3_SECRET_ACCESS_KEY="test", S3_REGION="us-east-1")
    done = subprocess.run([FLASK, "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    people = _people(db_url)
    servers, bases = [], []
    try:
        for name in ("a", "b"):
            port = _port()
            own = dict(env, PORTAL_INSTANCE_DIR=str(tmp_path / name), UPLOAD_DIR=str(tmp_path / name / "uploads"),
                       OUTBOX_DIR=str(tmp_path / name / "outbox"))
            servers.append(subprocess.Popen([FLASK, "run", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
                                            cwd=ROOT, env=own, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                            start_new_session=True))
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            _wait(lambda: requests.get(base + "/login", timeout=5).status_code == 200, 90, f"{base} to start")
        a, b = (_signed_in(base, people["resident"]) for base in bases)

        r = a.post(bases[0] + "/cases/new", allow_redirects=False, timeout=60, data={
            "kind": "complaint", "category_id": people["water"], "location_type": "unit",
            "description": "两台服务器共用一个桶"}, files={"photos": ("leak.jpg", io.BytesIO(jpeg()), "image/jpeg")})
        assert r.status_code == 302, r.text[:500]

        listed = b.get(bases[1] + "/my/cases", timeout=30).text
        case_link = re.search(r'href="/cases/(\d+)"', listed)
        assert case_link and "两台服务器共用一个桶" in listed
        page = b.get(f"{bases[1]}/cases/{case_link.group(1)}", timeout=30).text
        photo = re.search(r'href="(/attachments/\d+)"', page).group(1)
        full = b.get(bases[1] + photo, timeout=30)
        assert full.status_code == 200 and Image.open(io.BytesIO(full.content)).size == (800, 600)
        thumb = _wait(lambda: (t := b.get(bases[1] + photo + "?size=thumb", timeout=30)).status_code == 200
                      and Image.open(io.BytesIO(t.content)).size == (320, 240) and t, 60, "the thumbnail job")
        assert thumb.headers["Content-Type"] == "image/jpeg"
        assert not list((tmp_path / "a").glob("uploads/*")) and not list((tmp_path / "b").glob("uploads/*"))

        neighbour = _signed_in(bases[0], people["neighbour"])
        assert neighbour.get(bases[0] + photo, timeout=30).status_code == 404
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
