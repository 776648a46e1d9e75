"""`flask --app app` and `gunicorn app:app` both run the real app, as in production."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "PORTAL_ENV", "REDIS_URL")}
    env.update(PORTAL_INSTANCE_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'wsgi.db'}", **extra)
    return env


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 60) -> str:
    """The server's first answer; a loaded 2-core CI machine needs well over 20 s to import and boot it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not answer in time")


def test_flask_cli_migrates_and_gunicorn_serves_the_portal(tmp_path):
    env = _env(tmp_path)
    upgrade = subprocess.run([BIN / "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert upgrade.returncode == 0, upgrade.stderr
    port = _free_port()
    proc = subprocess.Popen([BIN / "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "app:app"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page = _wait_for(f"http://127.0.0.1:{port}/login", proc)
        assert 'name="csrf-token"' in page and 'name="username"' in page and 'name="password"' in page
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_production_without_secret_key_refuses_to_start(tmp_path):
    env = _env(tmp_path, PORTAL_ENV="production")
    result = subprocess.run([BIN / "flask", "--app", "app", "routes"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
