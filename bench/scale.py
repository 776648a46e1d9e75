"""A company's scale on PostgreSQL: 50 estates, two years, a million cases (issue 18).

    .venv/bin/python bench/scale.py --cases 1000000 [--estates 50] [--runs 20] [--database-url URL | --postgres]
    .venv/bin/python bench/scale.py --reuse --only scan,report --database-url URL   # measure a filled one again

The company is filled by `bench/_scale_fill.py`: reference data through the app's own code, the
cases, their clocks, events, callbacks and the search index generated inside PostgreSQL
(`INSERT … SELECT generate_series(…)`), cases spread evenly over two years (older than 30 days
finished, the last 30 days in every state), then checked against what the app would write.

Then, with the list render cache off (LIST_CACHE_SIZE=0: every request counts, selects, renders),
it prints `n=… view=… p50_ms=… p95_ms=… statements=…` per list (company clerk's board and its
filters and searches, one estate's clerk, a resident's list, a department queue), the deadline
scan with ~1,000 deadlines due (median of 3 slices), last month's report job and dashboard,
and last month's XLSX export run in a fresh child process (peak resident memory from
/proc/self/status VmHWM, and the baseline before the export). PostgreSQL only.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select, text, update  # noqa: E402

from bench._pg import add_database_arguments, database_url  # noqa: E402
from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.demo import PASSWORD  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Alert, Case, Deadline, Estate, ReportRun, User  # noqa: E402
from portal.reports.periods import Scope, current_month, shift  # noqa: E402
from portal.timeutil import utcnow  # noqa: E402

from bench._scale_fill import check, fill, log, seed_company  # noqa: E402


# --- measuring ---------------------------------------------------------------------------------

class Counter:
    def __init__(self, engine):
        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args):
        self.n += 1


def pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure_list(client, counter: Counter, url: str, runs: int) -> tuple[float, float, int]:
    times, statements = [], set()
    client.get(url)  # the first request warms the process, not the database
    for _ in range(runs):
        counter.n = 0
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        statements.add(counter.n)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), pct(times, .95), max(statements)


def lists(app, counter: Counter, total: int, runs: int) -> None:
    with app.app_context():
        estate2 = db.session.scalar(select(Estate.id).where(Estate.name.like("第02项目%")))
        number = db.session.scalar(select(Case.number).where(Case.kind == "complaint").order_by(Case.id.desc()))
        resident = db.session.scalar(select(User.username).join(Case, Case.resident_id == User.id)
                                     .group_by(User.username).order_by(func.count(Case.id).desc()).limit(1))
    views = [
        ("clerk1", "board", "/board"),
        ("clerk1", "board_all_newest", "/board?" + urlencode({"status": "", "sort": "newest"})),
        ("clerk1", "board_open_major", "/board?status=open&severity=major"),
        ("clerk1", "board_page_40", "/board?" + urlencode({"status": "", "sort": "newest", "page": 40})),
        ("clerk1", "board_site", "/board?" + urlencode({"site": estate2})),
        ("clerk1", "board_search q=漏水", "/board?" + urlencode({"q": "漏水", "status": ""})),
        ("clerk1", "board_search q=电梯", "/board?" + urlencode({"q": "电梯", "status": ""})),
        ("clerk1", f"board_search q={number}", "/board?" + urlencode({"q": number, "status": ""})),
        ("clerk1", f"board_search q={number[:9]}", "/board?" + urlencode({"q": number[:9], "status": ""})),
        # Digits typed alone: a day's counter (every day's 42nd case) and a day (22 November, each year).
        ("clerk1", "board_search q=0042", "/board?" + urlencode({"q": "0042", "status": ""})),
        ("clerk1", "board_search q=1122-", "/board?" + urlencode({"q": "1122-", "status": ""})),
        ("clerk_e02", "board_estate", "/board"),
        ("clerk_e02", "board_estate_all", "/board?" + urlencode({"status": "", "sort": "newest"})),
        ("staff_e02_0", "dept_queue", "/dept"),
        (resident, "my_cases", "/my/cases"),
    ]
    clients = {}
    for username, view, url in views:
        if username not in clients:
            clients[username] = app.test_client()
            response = clients[username].post("/login", data={"username": username, "password": PASSWORD})
            assert response.status_code in (302, 303), (username, response.status_code)
        p50, p95, statements = measure_list(clients[username], counter, url, runs)
        log(f"n={total} view={view} p50_ms={p50:.1f} p95_ms={p95:.1f} statements={statements}")


def scan_figures(app, counter: Counter, total: int) -> None:
    from bench.scan import CountingRunner
    from portal.sla.scan import scan
    app.extensions["portal_runner"] = CountingRunner()
    with app.app_context():
        running = db.session.scalar(select(func.count(Deadline.id)).where(Deadline.next_check_at.is_not(None)))
    times, statements, dues = [], [], []
    for slice_no in range(3):  # three different slices of 1,000 running deadlines made due a minute ago
        with app.app_context():
            past = utcnow() - timedelta(minutes=1)
            fresh = ~select(Alert.id).where(Alert.case_id == Deadline.case_id).exists()  # not fired by a run before
            pick = (select(Deadline.id).where(Deadline.stage == 1, Deadline.next_check_at.is_not(None), fresh)
                    .order_by(func.md5(func.concat(Deadline.id, "-", slice_no))).limit(1000))
            dues.append(db.session.execute(update(Deadline).where(Deadline.id.in_(pick))
                                     .values(due_at=past, next_check_at=past)).rowcount)
            db.session.commit()
        counter.n = 0
        start = time.perf_counter()
        with app.app_context():
            fired = scan()
        times.append((time.perf_counter() - start) * 1000)
        statements.append(counter.n)
        assert len(fired) == dues[-1], (len(fired), dues[-1])
    log(f"n={total} view=scan running={running} due={max(dues)} scan_ms={statistics.median(times):.1f} "
        f"statements={max(statements)}")


def report_figures(app, counter: Counter, total: int) -> None:
    from portal.reports import monthly
    from portal.reports.jobs import generate_report
    with app.app_context():
        month = shift(current_month(), -1)
        estate2 = db.session.scalar(select(Estate.id).where(Estate.name.like("第02项目%")))
    for label, estate_id in (("company", None), ("estate", estate2)):
        with app.app_context():
            monthly.forget()  # the first run counts the trend's finished months, the next ones read them back
            db.session.commit()
        times = []
        for _ in range(4):
            with app.app_context():
                run = ReportRun(month=month, steps=5, estate_id=estate_id)
                db.session.add(run)
                db.session.commit()
                counter.n = 0
                start = time.perf_counter()
                generate_report(run.id)
                times.append((time.perf_counter() - start) * 1000)
        log(f"n={total} view=report month={month} scope={label} first_ms={times[0]:.1f} "
            f"report_ms={statistics.median(times[1:]):.1f} statements={counter.n}")
    client = app.test_client()
    client.post("/login", data={"username": "manager1", "password": PASSWORD})
    for view, url in (("dashboard", f"/reports?month={month}"), ("trend", f"/reports/trend?month={month}")):
        times = []
        for _ in range(3):
            counter.n = 0
            start = time.perf_counter()
            assert client.get(url).status_code == 200, url
            times.append((time.perf_counter() - start) * 1000)
        log(f"n={total} view={view} ms={statistics.median(times):.1f} statements={counter.n}")


def export_figures(url: str, total: int) -> None:
    """Last month's workbook written in a fresh interpreter: its peak resident memory and time."""
    out = subprocess.run([sys.executable, __file__, "--export-child", "--database-url", url],
                         capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    log(f"n={total} view=export month={figures['month']} cases={figures['cases']} callbacks={figures['callbacks']} "
        f"file_kb={figures['file_kb']} seconds={figures['seconds']:.1f} rss_before_mb={figures['rss_before_mb']:.1f} "
        f"peak_rss_mb={figures['peak_rss_mb']:.1f} statements={figures['statements']}")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def export_child(url: str) -> None:
    from portal.models import CallbackTask
    from portal.reports import export
    from portal.reports.stats import case_scope
    app = create_app(_config(url))
    with app.app_context():
        scope = Scope(shift(current_month(), -1))
        cases = db.session.scalar(select(func.count(Case.id)).where(case_scope(scope)))
        callbacks = db.session.scalar(select(func.count(CallbackTask.id)).where(
            CallbackTask.due_at >= scope.start, CallbackTask.due_at < scope.end))
        db.session.close()
        counter = Counter(db.engine)
        before = _status_mb("VmRSS")
        start = time.perf_counter()
        path = export.month_file(scope)
        seconds = time.perf_counter() - start
        peak = _status_mb("VmHWM")
        size = os.path.getsize(path)
        export.remove(path)
        db.engine.dispose()
    print(json.dumps({"month": scope.month, "cases": cases, "callbacks": callbacks, "file_kb": size // 1024,
                      "seconds": seconds, "rss_before_mb": before, "peak_rss_mb": peak, "statements": counter.n}))


def _config(url: str) -> TestConfig:
    config = TestConfig()
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    config.SQLALCHEMY_DATABASE_URI = url
    config.WTF_CSRF_ENABLED = False
    config.UPLOAD_DIR = tmp
    config.OUTBOX_DIR = tmp
    config.JOBS_SYNC = False
    config.LIST_CACHE_SIZE = 0  # every list request counts, selects and renders
    return config


def run(url: str, total: int, estates: int, runs: int, export: bool, reuse: bool = False,
        only: set[str] = frozenset({"lists", "scan", "report", "export"})) -> None:
    app = create_app(_config(url))
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            raise SystemExit("bench/scale.py runs on PostgreSQL: --postgres or --database-url postgresql+psycopg://…")
        filled = reuse and db.inspect(engine).has_table("case") and db.session.scalar(select(func.count(Case.id)))
        if filled:
            total = filled
            log(f"# reusing the {filled} cases already there (no fill)")
        else:
            start = time.perf_counter()
            db.create_all()
            seed_company(estates)
            reference = time.perf_counter() - start
            spent = fill(engine, total)
            check(total)
            fill_s = reference + sum(spent.values())
            log(f"n={total} estates={estates} fill_s={fill_s:.1f} reference_s={reference:.1f} "
                + " ".join(f"{k}_s={v:.1f}" for k, v in spent.items()))
    with engine.connect() as conn:
        sizes = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database())), "
                                  "(SELECT count(*) FROM case_term), (SELECT count(*) FROM deadline WHERE "
                                  "next_check_at IS NOT NULL), (SELECT count(*) FROM callback_task)")).one()
    log(f"n={total} database={sizes[0]} case_terms={sizes[1]} running_deadlines={sizes[2]} callback_tasks={sizes[3]}")
    counter = Counter(engine)
    if "lists" in only:
        lists(app, counter, total, runs)
    if "scan" in only:
        scan_figures(app, counter, total)
    if "report" in only:
        report_figures(app, counter, total)
    if export and "export" in only:
        export_figures(url, total)
    log(f"# measured by {time.strftime('%H:%M:%S UTC', time.gmtime())} load average {os.getloadavg()}")
    engine.dispose()  # a throw-away server is stopped next: leave no pooled connection behind


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--estates", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20, help="requests per list (p50, p95)")
    parser.add_argument("--no-export", action="store_true", help="skip the XLSX export")
    parser.add_argument("--reuse", action="store_true",
                        help="with --database-url: measure the cases already there (no fill)")
    parser.add_argument("--only", default="lists,scan,report,export",
                        help="what to measure: lists, scan, report, export (comma-separated)")
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    add_database_arguments(parser)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.database_url)
        return
    if not (args.postgres or args.database_url):
        raise SystemExit("bench/scale.py runs on PostgreSQL: --postgres or --database-url postgresql+psycopg://…")
    log(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} load average {os.getloadavg()}")
    with database_url(args) as url:
        run(url, args.cases, args.estates, args.runs, not args.no_export, args.reuse, set(args.only.split(",")))
    log(f"# done {time.strftime('%H:%M:%S UTC', time.gmtime())} load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
