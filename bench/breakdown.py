"""Where a page's time goes: SQL, template rendering and the rest, one request at a time.

    .venv/bin/python bench/breakdown.py [--cases 100000] [--page-size 50] [--runs 30]
                                        [--database-url URL [--reuse] | --postgres]

Seeds the demo estate (200 cases with timelines), bulk-fills to --cases
(bench/board.py), then requests each page --runs times through the real app,
in-process and unloaded, and prints the medians. The case lists are measured
twice: as served from the list cache (nothing changed since the last view), and
cold (`_cold`: the cache emptied before every request, so every request
counts, selects and renders):

    view=board total_ms=... sql_ms=... render_ms=... other_ms=... cpu_ms=... db_cpu_ms=... ratio_bound=...
               statements=... top_sql_ms=... top_sql="..."

sql_ms is the time inside the database driver (timed by SQLAlchemy cursor
events), render_ms the time between Flask's before_render_template and
template_rendered signals less the SQL run meanwhile (Jinja, and whatever the
templates call: url_for, translations, lazy relations), other_ms the rest (session and login, the
filter form, building ORM objects, the response). Meant for PostgreSQL, whose
driver has the whole result when execute() returns; SQLite fetches rows after
the cursor event, so there sql_ms leaves out most of the work. The floor page
(bench/floor.py) is measured the same way for comparison.

CPU, which is what bench/load.py's throughput ratio divides when the web
workers and PostgreSQL share the cores: cpu_ms is this process's CPU per request
(the web's share), db_cpu_ms the PostgreSQL server processes' (read from /proc
for the database's client backends: PostgreSQL on this machine), and
ratio_bound = floor cpu_ms / (floor cpu_ms + db_cpu_ms): the ratio to the floor
a page could reach at best, if the portal's own work cost no more than the
floor's and only the database's remained.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import before_render_template, template_rendered  # noqa: E402
from sqlalchemy import create_engine, event, func, inspect, select, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from bench._pg import add_database_arguments, database_url, settle  # noqa: E402
from bench.board import fill  # noqa: E402
from bench.floor import create_floor_app  # noqa: E402
from portal import create_app  # noqa: E402
from portal import stamp  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.demo import seed_demo  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Case, CaseEvent  # noqa: E402


class Clock:
    """Accumulates SQL and render time for the request in flight."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.sql, self.render, self.statements, self.by_sql = 0.0, 0.0, 0, {}
        self.starts: list[float] = []  # render_template calls in flight
        self.sql_in_render = 0.0

    def watch(self, app, engine=None):
        if engine is not None:
            @event.listens_for(engine, "before_cursor_execute")
            def _before(conn, cursor, statement, params, context, many):
                context._bench_start = time.perf_counter()

            @event.listens_for(engine, "after_cursor_execute")
            def _after(conn, cursor, statement, params, context, many):
                spent = time.perf_counter() - context._bench_start
                self.sql += spent
                self.statements += 1
                if self.starts:  # a lazy load from a template: SQL, not rendering
                    self.sql_in_render += spent
                key = " ".join(statement.split())[:70]
                self.by_sql[key] = self.by_sql.get(key, 0.0) + spent

        def rendering(sender, **kw):
            self.starts.append(time.perf_counter())

        def rendered(sender, **kw):
            start = self.starts.pop()
            if not self.starts:  # the outermost render_template only
                self.render += time.perf_counter() - start

        before_render_template.connect(rendering, app, weak=False)
        template_rendered.connect(rendered, app, weak=False)


class DatabaseCpu:
    """CPU time (user + system) of the PostgreSQL server processes serving this database's clients.

    Read from /proc (the throw-away server runs on this machine): the database's share of a page's cost
    on cores it shares with the web process, which a wall-clock sql_ms cannot tell apart from waiting."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, engine):
        # Its own connection, outside the app's pool: the app's connections are the ones measured.
        self.engine = create_engine(engine.url, poolclass=NullPool)

    def ticks(self) -> dict[int, int]:
        """Each client backend's CPU ticks so far (user + system), by process id."""
        with self.engine.connect() as conn:
            pids = list(conn.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")))
        found = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the backend has just ended
                continue
            found[pid] = int(fields[11]) + int(fields[12])  # utime, stime
        return found

    def since(self, before: dict[int, int]) -> float:
        """Seconds of CPU the backends used since `before` (a backend started meanwhile: all of its time)."""
        return sum(t - before.get(pid, 0) for pid, t in self.ticks().items()) / self.TICK


def measure(client, clock: Clock, path: str, runs: int, headers=None, before=None, db_cpu=None) -> dict:
    for _ in range(5):  # warm: compiled templates, cached choices, prepared plans
        assert client.get(path, headers=headers).status_code == 200
    totals, sqls, renders, statements, top = [], [], [], [], {}
    cpu_start, db_start = time.process_time(), db_cpu.ticks() if db_cpu else {}
    for _ in range(runs):
        if before:
            before()
        clock.reset()
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        totals.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
        sqls.append(clock.sql)
        renders.append(clock.render - clock.sql_in_render)
        statements.append(clock.statements)
        for key, spent in clock.by_sql.items():
            top.setdefault(key, []).append(spent)
    cpu = (time.process_time() - cpu_start) / runs * 1000  # this process: the web's share (before() too)
    db = db_cpu.since(db_start) / runs * 1000 if db_cpu else 0.0
    med = {k: statistics.median(v) * 1000 for k, v in (("total", totals), ("sql", sqls), ("render", renders))}
    slowest = max(top.items(), key=lambda kv: statistics.median(kv[1]), default=("", [0.0]))
    return med | {"cpu": cpu, "db_cpu": db, "statements": max(statements), "top_sql": slowest[0],
                  "top_sql_ms": statistics.median(slowest[1]) * 1000, "bytes": len(response.data)}


def login(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": "demo12345", "csrf_token": token})
    assert response.status_code == 302, response.status_code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100000)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reuse", action="store_true",
                        help="with --database-url: skip seeding when the database already holds --cases cases")
    add_database_arguments(parser)
    args = parser.parse_args()
    with database_url(args) as url:
        run(url, args)


def run(url: str | None, args) -> None:
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = url or f"sqlite:///{tmp}/bench.db"
    config.UPLOAD_DIR = config.OUTBOX_DIR = tmp
    config.BOARD_PAGE_SIZE = args.page_size
    app = create_app(config)
    with app.app_context():
        if args.reuse and inspect(db.engine).has_table("cases") and db.session.scalar(
                select(func.count()).select_from(Case)) >= args.cases:
            print(f"# reusing the filled database ({args.cases} cases)", flush=True)
        else:
            db.create_all()
            seed_demo()
            fill(args.cases)
            settle(db.engine)
        case_id = db.session.execute(select(CaseEvent.case_id).group_by(CaseEvent.case_id)
                                     .order_by(func.count().desc(), CaseEvent.case_id).limit(1)).scalar()
        engine = db.engine
    clock = Clock()
    clock.watch(app, engine)
    clerk, resident = app.test_client(), app.test_client()
    login(clerk, "clerk1")
    login(resident, "resident1")
    poll = {"HX-Request": "true", "HX-Target": "case-table"}

    def cold():
        with app.app_context():
            stamp.cache().clear()

    views = [("board", clerk, "/board", None, None), ("board_cold", clerk, "/board", None, cold),
             ("board_poll", clerk, "/board", poll, None), ("board_poll_cold", clerk, "/board", poll, cold),
             ("case", clerk, f"/cases/{case_id}", None, None), ("my_cases", resident, "/my/cases", None, None),
             ("my_cases_cold", resident, "/my/cases", None, cold)]
    db_cpu = DatabaseCpu(engine) if engine.dialect.name == "postgresql" else None
    results = [(name, measure(client, clock, path, args.runs, headers, before, db_cpu))
               for name, client, path, headers, before in views]
    os.environ["FLOOR_ROWS"] = str(args.page_size)
    floor = create_floor_app()
    floor_clock = Clock()
    floor_clock.watch(floor)
    results.append(("floor", measure(floor.test_client(), floor_clock, "/floor", args.runs)))
    floor_cpu = results[-1][1]["cpu"]
    for name, m in results:
        other = m["total"] - m["sql"] - m["render"]
        # bound: the ratio to the floor this page would reach if the web's own work cost only what the
        # floor's does, the database's CPU remaining (everything on the same cores, as in bench/load.py).
        cpu = (f" cpu_ms={m['cpu']:.1f} db_cpu_ms={m['db_cpu']:.1f} ratio_bound={floor_cpu / (floor_cpu + m['db_cpu']):.2f}"
               if db_cpu else f" cpu_ms={m['cpu']:.1f}")
        print(f"n={args.cases} view={name} total_ms={m['total']:.1f} sql_ms={m['sql']:.1f} "
              f"render_ms={m['render']:.1f} other_ms={other:.1f}{cpu} statements={m['statements']} "
              f"kb={m['bytes'] / 1024:.1f} top_sql_ms={m['top_sql_ms']:.1f} top_sql=\"{m['top_sql']}\"", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
