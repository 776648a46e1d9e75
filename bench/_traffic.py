"""Load on loopback: gunicorn servers, logging in over HTTP, wrk (saturation) and paced users."""
from __future__ import annotations

import http.client
import os
import re
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
USER_AGENT = "portal-bench/1"  # the same on login and under wrk: Flask-Login ties the session to it


WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; first_bad = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
    if first_bad == 0 then first_bad = status end
  end
end
function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("bad")
    if t:get("first_bad") ~= 0 then first = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d bytes=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d " ..
    "non2xx=%d first_bad=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, bad, first, e.connect, e.read, e.write, e.timeout))
end
"""


def ensure_wrk() -> str:
    """wrk from Debian; installed on first use (root, or sudo)."""
    if not shutil.which("wrk"):
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], env=env).returncode != 0:
            subprocess.run([*sudo, "apt-get", "update", "-qq"], env=env, check=True)
            subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], env=env, check=True)
    return shutil.which("wrk") or sys.exit("wrk not found after apt-get install")


# -- Servers and sessions

def wait_http(port: int, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def gunicorn(app: str, port: int, args, env: dict, log: Path, root: Path = ROOT) -> subprocess.Popen:
    cmd = [str(VENV_BIN / "gunicorn"), "-w", str(args.workers), "-k", args.worker_class,
           "--threads", str(args.worker_threads), "-b", f"127.0.0.1:{port}", "--chdir", str(root),
           "--log-level", "warning", app]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _cookie(response: http.client.HTTPResponse, jar: dict) -> None:
    # Read by hand: the production session cookie is Secure, which http.cookiejar
    # would not send back over plain HTTP (wrk sends whatever header it is given).
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, value = header.split(";", 1)[0].partition("=")
        jar[name.strip()] = value.strip()


def _cookie_header(jar: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def login(port: int, username: str, password: str) -> str:
    """Log in through the real form (CSRF token included); the Cookie header for wrk."""
    jar: dict = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login", headers={"User-Agent": USER_AGENT})
    response = conn.getresponse()
    page = response.read().decode()
    _cookie(response, jar)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    if not token:
        sys.exit("no CSRF token on the login page")
    body = urlencode({"csrf_token": token.group(1), "username": username, "password": password, "next": ""})
    conn.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": _cookie_header(jar), "User-Agent": USER_AGENT})
    response = conn.getresponse()
    response.read()
    _cookie(response, jar)
    where = response.headers.get("Location", "")
    if response.status != 302 or "/login" in where:
        sys.exit(f"login as {username} failed: {response.status} {where}")
    return _cookie_header(jar)


def fetch(port: int, path: str, headers: dict) -> tuple[int, str]:
    """One GET on a new connection: (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


# -- Measuring

def wrk(binary: str, script: Path, url: str, headers: dict, args, seconds: int) -> dict:
    """Saturation: every connection sends its next request as soon as the last is answered."""
    cmd = [binary, "-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds}s", "--timeout", "30s",
           "-s", str(script)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("WRK ")), None)
    if line is None:
        sys.exit(f"no result line from wrk:\n{out}")
    result = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    if result["non2xx"] or result["timeout"] or result["connect"]:
        sys.exit(f"{url}: {result['non2xx']} non-2xx answers (first: {result['first_bad']}), "
                 f"{result['timeout']} timeouts, {result['connect']} connect errors — "
                 "a 302 means the session cookie was not accepted\n" + out)
    return result


def users(port: int, path: str, headers: dict, count: int, think_ms: int, seconds: float) -> dict:
    """`count` users, each pausing 0.5..1.5 x think_ms between pages; wrk's figures, from Python.

    Not wrk: wrk's delay() keeps the connection open while it waits, and an idle
    open connection holds a gunicorn sync worker until the request arrives (in
    production nginx buffers requests, so it never does). A user here opens its
    connection when it asks for the page, as a browser behind nginx effectively does.
    """
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    failures: list[str] = []
    received = [0]
    lock = threading.Lock()

    def user(seed: int) -> None:
        rng = random.Random(seed)
        time.sleep(rng.uniform(0, think_ms / 1000))  # users do not all start at once
        while not failures and time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                status, body = fetch(port, path, headers)
            except OSError as exc:
                status, body = 0, repr(exc)
            spent = time.perf_counter() - start
            with lock:
                if status != 200:
                    failures.append(f"{status} {body[:200]}")
                latencies.append(spent)
                received[0] += len(body.encode())
            time.sleep(rng.uniform(think_ms / 2000, think_ms * 3 / 2000))

    started = time.monotonic()
    workers = [threading.Thread(target=user, args=(i,)) for i in range(count)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failures:
        sys.exit(f"{path}: {len(failures)} non-200 answers, first: {failures[0]}")
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"requests": len(latencies), "duration_us": int((time.monotonic() - started) * 1e6),
            "bytes": received[0], "p50_us": int(q[49] * 1e6), "p95_us": int(q[94] * 1e6),
            "p99_us": int(q[98] * 1e6), "max_us": int(max(latencies) * 1e6)}
