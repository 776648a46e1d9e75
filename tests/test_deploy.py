"""The production files (Procfile, systemd units, nginx, gunicorn config, env example) agree with
the code, and the Procfile's web command really serves the portal with its secure defaults."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

from portal.jobs import QUEUES
from tests.test_wsgi import _free_port, _wait_for

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: shlex.split(cmd) for name, cmd in (line.split(":", 1) for line in lines if line.strip())}


def unit_command(name: str) -> list[str]:
    text = (DEPLOY / "systemd" / name).read_text()
    return shlex.split(re.search(r"^ExecStart=(.+)$", text, re.M).group(1))


WORKERS = {f"worker-{q.removeprefix('portal-')}": q for q in QUEUES}


def test_procfile_runs_migrations_web_one_worker_per_queue_and_cron():
    procs = procfile()
    assert set(procs) == {"release", "web", "cron", *WORKERS}
    for argv in procs.values():
        assert (BIN / argv[0]).exists(), f"{argv[0]} is not installed by requirements.txt"
    assert procs["release"] == ["flask", "--app", "app", "db", "upgrade"]
    assert procs["web"] == ["gunicorn", "-c", "deploy/gunicorn.conf.py", "app:app"]
    for name, queue in WORKERS.items():
        argv = procs[name]
        # Each queue has capacity of its own: a notification backlog cannot starve portal-default.
        assert argv[-1] == queue and not set(argv[:-1]) & set(QUEUES), name
        assert "--with-scheduler" in argv and argv[argv.index("-w") + 1] == "portal.worker.PortalWorker"
    assert procs["cron"][:3] == ["rq", "cron", "portal.cron_config"]
    import portal.cron_config  # noqa: F401  (the module rq cron loads must import)
    from portal.worker import PortalWorker
    from rq import Worker
    assert issubclass(PortalWorker, Worker)


def test_systemd_units_run_the_procfile_commands():
    procs = procfile()
    strip = lambda argv: [Path(argv[0]).name] + [a.replace("${REDIS_URL}", "$REDIS_URL")  # noqa: E731
                                                  for a in argv[1:]]
    assert strip(unit_command("portal-web.service")) == procs["web"]
    assert strip(unit_command("portal-cron.service")) == procs["cron"]
    units = {u.name for u in (DEPLOY / "systemd").glob("portal-worker*.service")}
    assert units == {f"portal-{name}@.service" for name in WORKERS}
    for name in WORKERS:
        assert strip(unit_command(f"portal-{name}@.service")) == procs[name]
        assert "--name" not in unit_command(f"portal-{name}@.service"), "a fixed name blocks restarts after a kill"
    for unit in ("portal-web.service", "portal-cron.service", *(f"portal-{name}@.service" for name in WORKERS)):
        text = (DEPLOY / "systemd" / unit).read_text()
        assert "EnvironmentFile=/etc/portal/portal.env" in text and "Restart=always" in text
        assert "User=portal" in text and "NoNewPrivileges=true" in text


def test_env_example_names_only_settings_the_portal_reads():
    config_source = (ROOT / "portal" / "config.py").read_text() + (DEPLOY / "gunicorn.conf.py").read_text()
    keys = [line.split("=", 1)[0] for line in (DEPLOY / "portal.env.example").read_text().splitlines()
            if line and not line.startswith("#")]
    assert {"PORTAL_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PROXY_COUNT"} <= set(keys)
    unknown = [k for k in keys if f'"{k}"' not in config_source]
    assert unknown == []


def test_nginx_forwards_what_the_app_trusts_and_does_not_serve_uploads():
    conf = (DEPLOY / "nginx" / "portal.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme" in conf
    from portal.config import Config
    size = int(re.search(r"client_max_body_size (\d+)m", conf).group(1))
    assert size * 1024 * 1024 >= Config.MAX_CONTENT_LENGTH
    assert "upload" not in " ".join(re.findall(r"location\s+(\S+)", conf))


def test_the_procfile_web_command_serves_the_portal_with_secure_defaults(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    port = _free_port()
    env.update(PORTAL_INSTANCE_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'web.db'}",
               PORTAL_ENV="production", SECRET_KEY="f3c1a9e07b5d42c8961e0d7a4b2f8c35e6d09a17", PROXY_COUNT="1", BIND=f"127.0.0.1:{port}",
               WEB_CONCURRENCY="2", PATH=f"{BIN}:{env.get('PATH', '')}")
    release = subprocess.run(procfile()["release"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert release.returncode == 0, release.stderr
    proc = subprocess.Popen(procfile()["web"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_for(f"http://127.0.0.1:{port}/login", proc)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/login",
                                         headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
        with urllib.request.urlopen(request, timeout=5) as response:
            headers = response.headers
            assert "name=\"password\"" in response.read().decode()
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert "'nonce-" in headers["Content-Security-Policy"]
        cookie = headers["Set-Cookie"]
        assert cookie.startswith("__Host-portal=") and "Secure" in cookie and "HttpOnly" in cookie
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_nginx_compresses_text_and_the_pages_carry_a_favicon(client):
    """Issue 16, small things: gzip for text in nginx, and a favicon that is really served."""
    conf = (DEPLOY / "nginx" / "portal.conf").read_text()
    assert re.search(r"^\s*gzip on;", conf, re.M)
    types = re.search(r"^\s*gzip_types ([^;]+);", conf, re.M).group(1).split()
    assert {"text/css", "application/javascript", "application/json", "image/svg+xml"} <= set(types)
    page = client.get("/login").get_data(as_text=True)
    href = re.search(r'<link rel="icon"[^>]*href="([^"]+)"', page).group(1)
    icon = client.get(href)
    icon.close()  # a static file is streamed: close it
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


def test_start_refuses_a_taken_port_before_the_slow_setup(tmp_path):
    """`./scripts/start` checks the port first (a copy in an empty directory: nothing to install if it did not)."""
    import socket
    (tmp_path / "scripts").mkdir()
    start = tmp_path / "scripts" / "start"
    start.write_bytes((ROOT / "scripts" / "start").read_bytes())
    start.chmod(0o755)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([str(start)], env={**os.environ, "PORT": str(port)}, capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 1 and "already in use" in result.stderr
    assert not (tmp_path / ".venv").exists()  # it stopped before creating anything
