"""Load test: gunicorn + PostgreSQL with 100k cases, wrk on loopback, against a bare Flask floor.

    .venv/bin/python bench/load.py [--cases 100000] [--page-size 50] [--connections 20] [--duration 15]
                                   [--warmup 5] [--workers 2] [--worker-class sync] [--think-ms 0,1000]

Installs wrk with apt-get if it is missing, starts a throw-away PostgreSQL
(bench/_pg.py), runs the Alembic migrations (`flask db upgrade`) and
`flask seed-demo` (reference data, demo accounts, 200 demo cases with their
timelines), fills the case table to --cases with bench/board.py's bulk fill,
VACUUM ANALYZEs, then starts two gunicorns on loopback with --workers workers
each: the portal (PORTAL_ENV=production, the job ticker off, no Redis) and the
floor (bench/floor.py: Flask + Jinja rendering the same number of rows from a
Python list), plus a third, the portal with its list cache off
(LIST_CACHE_SIZE=0, see portal/board/listing.py). It logs in over HTTP as
clerk1 and resident1 (the login form with its CSRF token) and runs wrk
against, in turn: the board, the board with the cache off (board_cold: every
request counts 100k cases, selects and renders 50 rows), a case page (the demo
case with the longest timeline), the resident's list (and my_cases_cold), and
the board's 30-second htmx poll (the table fragment), with a floor run before and
after each; each page's ratio is to the mean of its two neighbouring floor
runs, so drift over the run cancels out. Every run is a warm-up, then the
measured run. One line per run:

    target=board think_ms=0 rps=... p50_ms=... p95_ms=... p99_ms=... ratio_to_floor=... rows=50 ...

then the verdict for the board: at least half the floor's requests/s, p95 at
most 100 ms. Any non-2xx answer (a 302 to /login: the cookie did not work)
aborts the run.

--think-ms gives the passes. 0 = wrk with 20 connections, each sending its
next request as soon as the last is answered: saturation, so throughput, and a
latency that is mostly queueing (20 / throughput). N = 20 users (threads in
this process, see users()) pausing 0.5N..1.5N ms between pages: the latency a
user sees while the others work.

wrk, both servers and PostgreSQL share this machine's cores, and other jobs
may run on it: before each run the bench waits until processes outside it
and other guests of the hypervisor (steal) take less than --quiet-cpu % of a
core, measures both during the run (other_cpu, steal), and repeats a
disturbed run (up to three times, keeping the quietest).

The board has no per-page parameter; its page size is the BOARD_PAGE_SIZE
setting (25 by default). The bench server sets it to --page-size (default 50,
the figure in the issue) on its Config instance (portal_app below), not in
app code, so the board, the resident's list and the floor all render the same
50 rows.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import resource
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._pg import add_setting_argument, free_port, settings, throwaway_postgres  # noqa: E402

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


def portal_app():
    """The portal as deployed (env-driven Config), with BOARD_PAGE_SIZE from BENCH_PAGE_SIZE."""
    from portal import create_app
    from portal.config import Config

    config = Config()
    config.BOARD_PAGE_SIZE = int(os.environ.get("BENCH_PAGE_SIZE", config.BOARD_PAGE_SIZE))
    return create_app(config)


def ensure_wrk() -> str:
    """wrk from Debian; installed on first use (root, or sudo)."""
    if not shutil.which("wrk"):
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], env=env).returncode != 0:
            subprocess.run([*sudo, "apt-get", "update", "-qq"], env=env, check=True)
            subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], env=env, check=True)
    return shutil.which("wrk") or sys.exit("wrk not found after apt-get install")


def loadavg() -> str:
    return "/".join(Path("/proc/loadavg").read_text().split()[:3])


# -- Whose CPU: everything busy on the machine minus the bench's own process trees.

def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, utime+stime ticks) for every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def _cpu_ticks() -> tuple[int, int]:
    """(busy, stolen) ticks over all cores; stolen = the hypervisor gave the core to another guest."""
    cpu = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = cpu
    return user + nice + system + irq + softirq, steal


class CpuWatch:
    """CPU used outside the bench (other agents' tests, ...) while a measurement runs."""

    def __init__(self, roots: list[int]):
        self.roots = set(roots)

    def _ours(self) -> float:
        """Seconds of CPU: the live process trees, plus children already reaped (wrk)."""
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        todo, total = list(self.roots), 0
        while todo:
            pid = todo.pop()
            if pid in table:
                total += table[pid][1]
            todo.extend(children.get(pid, []))
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        return total / os.sysconf("SC_CLK_TCK") + reaped.ru_utime + reaped.ru_stime

    def __enter__(self):
        self.t0, (self.busy0, self.steal0), self.ours0 = time.monotonic(), _cpu_ticks(), self._ours()
        return self

    def __exit__(self, *exc):
        seconds, hz = time.monotonic() - self.t0, os.sysconf("SC_CLK_TCK")
        busy, steal = _cpu_ticks()
        busy, ours = (busy - self.busy0) / hz, self._ours() - self.ours0
        self.steal_pct = 100 * (steal - self.steal0) / hz / seconds
        self.ours_pct = 100 * ours / seconds  # of one core
        self.other_pct = 100 * max(busy - ours, 0) / seconds
        self.disturbance = self.other_pct + self.steal_pct


def wait_quiet(roots: list[int], limit: float, max_wait: float) -> float:
    """Wait until others (processes outside the bench, and other guests: steal) take < `limit` % of a core.

    Measured over 3-second windows; returns the seconds waited.
    """
    start = time.monotonic()
    while True:
        with CpuWatch(roots) as cpu:
            time.sleep(3)
        if cpu.disturbance < limit or time.monotonic() - start > max_wait:
            return time.monotonic() - start


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


def gunicorn(app: str, port: int, args, env: dict, log: Path) -> subprocess.Popen:
    cmd = [str(VENV_BIN / "gunicorn"), "-w", str(args.workers), "-k", args.worker_class,
           "--threads", str(args.worker_threads), "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100000)
    parser.add_argument("--page-size", type=int, default=50, help="board/list rows, and the floor's rows")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=15, help="seconds measured per target")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of unmeasured load per target first")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--worker-threads", type=int, default=1, help="gunicorn --threads (gthread)")
    parser.add_argument("--targets", default="floor_1,board,floor_2,board_cold,floor_3,case,floor_4,my_cases,floor_5,"
                                              "my_cases_cold,floor_6,board_poll,floor_7",
                        help="in order; every name starting with 'floor' is a floor run, and each page is "
                             "compared with the floor runs just before and after it")
    parser.add_argument("--quiet-cpu", type=float, default=25,
                        help="CPU taken by others (processes outside the bench, plus steal), in %% of one core, "
                             "above which a measurement waits and is retried")
    parser.add_argument("--max-wait", type=float, default=900, help="seconds to wait for a quiet machine")
    parser.add_argument("--think-ms", default="0,1000",
                        help="passes: 0 = wrk, every connection sends its next request at once (saturation); "
                             "N = --connections users pausing 0.5N..1.5N ms between pages (bench.load.users)")
    add_setting_argument(parser)
    args = parser.parse_args()
    binary = ensure_wrk()
    print(f"# start loadavg={loadavg()} cores={os.cpu_count()} (wrk, gunicorn and PostgreSQL share these cores)",
          flush=True)
    with throwaway_postgres(settings(args)) as url, tempfile.TemporaryDirectory(prefix="portal-load-") as tmp:
        run(args, binary, url, Path(tmp))


def prepare(url: str, env: dict, cases: int) -> tuple[int, int]:
    """Migrate, seed the demo estate, fill to `cases`.

    Returns the case to load (the demo case with the longest timeline) and the
    PostgreSQL server's pid (its CPU counts as the bench's own).
    """
    flask = [str(VENV_BIN / "flask"), "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    from sqlalchemy import text

    from bench._pg import settle
    from bench.board import fill
    from portal import create_app
    from portal.config import TestConfig
    from portal.extensions import db

    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = url
    app = create_app(config)
    with app.app_context():
        started = time.perf_counter()
        fill(cases)
        settle(db.engine)
        case_id = db.session.execute(text(
            "SELECT case_id FROM case_event GROUP BY case_id ORDER BY count(*) DESC, case_id LIMIT 1")).scalar()
        total = db.session.execute(text('SELECT count(*) FROM "case"')).scalar()
        data_dir = db.session.execute(text("SHOW data_directory")).scalar()
        print(f"# filled {total} cases in {time.perf_counter() - started:.0f} s; case page: /cases/{case_id}",
              flush=True)
        db.engine.dispose()
    postmaster = int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
    return case_id, postmaster


def run(args, binary: str, url: str, tmp: Path) -> None:
    env = dict(os.environ, DATABASE_URL=url, PORTAL_ENV="production", SECRET_KEY=secrets.token_hex(32),
               PORTAL_JOBS_TICKER="0", PORTAL_INSTANCE_DIR=str(tmp), UPLOAD_DIR=str(tmp / "uploads"),
               OUTBOX_DIR=str(tmp / "outbox"), BENCH_PAGE_SIZE=str(args.page_size), FLOOR_ROWS=str(args.page_size))
    env.pop("REDIS_URL", None)
    case_id, postmaster = prepare(url, env, args.cases)
    portal_port, cold_port, floor_port = free_port(), free_port(), free_port()
    servers = [gunicorn("bench.load:portal_app()", portal_port, args, env, tmp / "portal.log"),
               # The same portal with its list cache off: every list request counts, selects and renders.
               gunicorn("bench.load:portal_app()", cold_port, args, env | {"LIST_CACHE_SIZE": "0"},
                        tmp / "portal-cold.log"),
               gunicorn("bench.floor:create_floor_app()", floor_port, args, env, tmp / "floor.log")]
    try:
        wait_http(portal_port, "/login")
        wait_http(cold_port, "/login")
        wait_http(floor_port, "/floor")
        ua = {"User-Agent": USER_AGENT}
        clerk = ua | {"Cookie": login(portal_port, "clerk1", "demo12345")}
        resident = ua | {"Cookie": login(portal_port, "resident1", "demo12345")}
        targets = {
            "floor": (floor_port, "/floor", ua), "board": (portal_port, "/board", clerk),
            "case": (portal_port, f"/cases/{case_id}", clerk), "my_cases": (portal_port, "/my/cases", resident),
            # What an open board sends every 30 s: htmx asks for the table fragment only.
            "board_poll": (portal_port, "/board", clerk | {"HX-Request": "true", "HX-Target": "case-table"}),
            # The cache-off server (same database, same secret key: the same session cookies work).
            "board_cold": (cold_port, "/board", clerk), "my_cases_cold": (cold_port, "/my/cases", resident),
        }
        script = tmp / "report.lua"
        script.write_text(WRK_SCRIPT)
        watch_roots = [os.getpid(), postmaster]
        print(f"# gunicorn -w {args.workers} -k {args.worker_class} --threads {args.worker_threads}; "
              f"wrk -t {args.threads} -c {args.connections} -d {args.duration}s after {args.warmup}s warm-up; "
              f"{args.page_size} rows per list page", flush=True)
        for think_ms in (int(t) for t in args.think_ms.split(",")):
            results = {}
            for name in args.targets.split(","):
                port, path, headers = targets["floor" if name.startswith("floor") else name]
                status, page = fetch(port, path, headers)
                if status != 200:
                    sys.exit(f"{name}: GET {path} answered {status} (not logged in?)")
                rows = len(re.findall(r'<tr id="row-', page))
                target_url = f"http://127.0.0.1:{port}{path}"
                # Other agents share this machine: wait for it to be quiet, retry a run they disturbed,
                # keep the least disturbed of three.
                best = None
                for _attempt in range(3):
                    waited = wait_quiet(watch_roots, args.quiet_cpu, args.max_wait)
                    if think_ms:
                        users(port, path, headers, args.connections, think_ms, args.warmup)
                    else:
                        wrk(binary, script, target_url, headers, args, args.warmup)
                    before = loadavg()
                    with CpuWatch(watch_roots) as cpu:
                        r = users(port, path, headers, args.connections, think_ms, args.duration) if think_ms \
                            else wrk(binary, script, target_url, headers, args, args.duration)
                    r.update(rows=rows, loadavg=before, ours=cpu.ours_pct, other=cpu.other_pct,
                             steal=cpu.steal_pct, think=think_ms, waited=waited)
                    if best is None or r["other"] + r["steal"] < best["other"] + best["steal"]:
                        best = r
                    if r["other"] + r["steal"] < args.quiet_cpu:
                        break
                r = best
                results[name] = r
                print(f"# measured {name} think_ms={think_ms} other_cpu={r['other']:.0f}% "
                      f"waited_s={r['waited']:.0f}", flush=True)
            for name, r in results.items():
                report(name, r, results)
            verdict(results, args)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


def _rps(r: dict) -> float:
    return r["requests"] / (r["duration_us"] / 1e6)


def _floor_rps(results: dict, name: str) -> float | None:
    """The mean of the floor runs just before and just after `name` (the machine drifts over a run)."""
    names = list(results)
    i = names.index(name)
    before = next((n for n in reversed(names[:i]) if n.startswith("floor")), None)
    after = next((n for n in names[i + 1:] if n.startswith("floor")), None)
    floors = [_rps(results[n]) for n in (before, after) if n]
    return sum(floors) / len(floors) if floors else None


def report(name: str, r: dict, results: dict) -> None:
    rps = _rps(r)
    floor = None if name.startswith("floor") or r["think"] else _floor_rps(results, name)
    ratio = f"{rps / floor:.2f}" if floor else "-"
    print(f"target={name} think_ms={r['think']} rps={rps:.1f} p50_ms={r['p50_us'] / 1000:.1f} "
          f"p95_ms={r['p95_us'] / 1000:.1f} p99_ms={r['p99_us'] / 1000:.1f} max_ms={r['max_us'] / 1000:.0f} "
          f"ratio_to_floor={ratio} rows={r['rows']} kb={r['bytes'] / max(r['requests'], 1) / 1024:.1f} "
          f"requests={r['requests']} loadavg={r['loadavg']} bench_cpu={r['ours']:.0f}% "
          f"other_cpu={r['other']:.0f}% steal={r['steal']:.0f}% waited_s={r['waited']:.0f}", flush=True)


def verdict(results: dict, args) -> None:
    """The issue's target for the board: >= half the floor's requests/s, and p95 <= 100 ms."""
    board = results.get("board")
    floor = _floor_rps(results, "board") if board else None
    if not board or not floor:
        return
    rps = _rps(board)
    p95 = board["p95_us"] / 1000
    who = f"{args.connections} users pausing ~{board['think']} ms" if board["think"] else \
        f"{args.connections} connections without pause"
    if board["think"]:  # throughput is set by the users' pace here: only the latency half applies
        print(f"verdict board ({who}): {rps:.1f} req/s offered and served, p95 {p95:.1f} ms (target <= 100) -> "
              f"{'MET' if p95 <= 100 else 'MISSED'}; loadavg at end {loadavg()}", flush=True)
        return
    ratio = rps / floor
    print(f"verdict board ({who}): {rps:.1f} req/s = {ratio:.2f} x floor ({floor:.1f} req/s, the floor runs "
          f"around it; target >= 0.50) -> {'MET' if ratio >= 0.5 else 'MISSED'}; p95 {p95:.1f} ms "
          f"(target <= 100) -> {'MET' if p95 <= 100 else 'MISSED'}; loadavg at end {loadavg()}", flush=True)


if __name__ == "__main__":
    main()
