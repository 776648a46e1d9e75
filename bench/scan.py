"""Deadline-scan speed: the cost must follow the number of due deadlines, not all cases.

    .venv/bin/python bench/scan.py [--sizes 10000,100000] [--due-percent 1]
                                   [--database-url URL | --postgres]

Bulk-inserts open cases, each with a running resolution deadline, into a fresh
database (a temp SQLite file unless --database-url names an empty PostgreSQL
database or --postgres starts a throw-away one, bench/_pg.py). For each size,
three different 1 % slices are made due and the real scan fires them (alerts, timeline events, outbox rows; deliveries are
only counted, not sent). Prints the median of the three:
`n=100000 due=1000 scan_ms=420.0 statements=7`, then the same size with
only 100 due, to show the cost follows what is due, not the table size.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, insert, select, update  # noqa: E402

from bench._pg import add_database_arguments, database_url, settle  # noqa: E402
from portal import config as portal_config  # noqa: E402
from portal import create_app  # noqa: E402
from portal.demo import seed_reference  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Case, Category, Deadline, Department, Role, Unit, User  # noqa: E402
from portal.sla.scan import scan  # noqa: E402
from portal.timeutil import utcnow  # noqa: E402


class CountingRunner:
    """Stands in for RQ: the bench measures the scan, not e-mail delivery."""

    def __init__(self):
        self.jobs = 0

    def submit(self, path, args):
        self.jobs += 1


def fill(total: int) -> None:
    have = db.session.scalar(select(func.count(Case.id)))
    rng = random.Random(total)
    cats = db.session.scalars(select(Category.id)).all()
    deps = db.session.scalars(select(Department.id)).all()
    units = db.session.scalars(select(Unit.id)).all()
    residents = db.session.scalars(select(User.id).where(User.role == Role.RESIDENT)).all()
    now = utcnow()
    cases, deadlines = [], []
    first_id = (db.session.scalar(select(func.max(Case.id))) or 0) + 1
    for offset, i in enumerate(range(have, total)):
        received = now - timedelta(hours=rng.randint(1, 48))
        due = now + timedelta(days=rng.randint(1, 30))
        cases.append({
            "id": first_id + offset, "number": f"SC-{i:08d}", "kind": "complaint", "channel": "phone",
            "status": "dispatched", "severity": "minor", "urgent": False, "category_id": rng.choice(cats),
            "resident_id": rng.choice(residents), "unit_id": rng.choice(units), "location_type": "unit",
            "location": "", "description": f"漏水 #{i}", "request": "", "contact_name": "", "contact_phone": "",
            "subject": "", "misconduct": False, "witnesses": "", "evidence": "", "department_id": rng.choice(deps),
            "received_at": received, "first_reply": "", "invalid_reason": "", "finding": "", "plan": "",
            "explanation": "", "third_party": "", "completion_note": "", "reopen_count": 0,
            "supervisor_visit": False, "updated_at": received, "version_id": 1, "due_at": due,
            "due_clock": "resolution",
        })
        deadlines.append({
            "case_id": first_id + offset, "clock": "resolution", "round": 0, "metric": "work",
            "budget_seconds": 3 * 9 * 3600.0, "spent_seconds": 0.0, "started_at": received,
            "segment_start": received, "paused_seconds": 0.0, "remind_at": due - timedelta(hours=6),
            "due_at": due, "level2_at": due + timedelta(days=1), "stage": 1, "next_check_at": due,
        })
        if len(cases) == 5000:
            db.session.execute(insert(Case), cases)
            db.session.execute(insert(Deadline), deadlines)
            cases, deadlines = [], []
    if cases:
        db.session.execute(insert(Case), cases)
        db.session.execute(insert(Deadline), deadlines)
    db.session.commit()


def make_due(every: int, slice_no: int) -> int:
    """Make a different slice (one deadline in `every`) overdue as of a minute ago."""
    past = utcnow() - timedelta(minutes=1)
    result = db.session.execute(
        update(Deadline).where((Deadline.id + slice_no) % every == 0, Deadline.stage == 1)
        .values(due_at=past, next_check_at=past)
    )
    db.session.commit()
    return result.rowcount


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--due-percent", type=float, default=1.0)
    add_database_arguments(parser)
    args = parser.parse_args()
    with database_url(args) as url:
        run(url, [int(s) for s in args.sizes.split(",")], args.due_percent)


def run(url: str | None, sizes: list[int], due_percent: float) -> None:
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    config = portal_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = url or f"sqlite:///{tmp}/bench.db"
    config.OUTBOX_DIR = tmp
    config.JOBS_SYNC = False
    app = create_app(config)
    runner = app.extensions["portal_runner"] = CountingRunner()
    with app.app_context():
        db.create_all()
        seed_reference()
        db.session.commit()
        engine = db.engine
    for size in sizes:
        with app.app_context():
            fill(size)
            settle(db.engine)
        # 1 % of the cases due, then a fixed 100 due: the second line shows the cost
        # does not grow with the table, only with what is due.
        for k, every in enumerate((int(100 / due_percent), max(size // 100, 1))):
            measure(app, engine, size, every, first_slice=10 + 3 * k)
    engine.dispose()  # a throw-away server is stopped next: leave no pooled connection behind


def measure(app, engine, size: int, every: int, first_slice: int) -> None:
    times, statements, due = [], [], 0
    for slice_no in range(3):
        with app.app_context():
            due = make_due(every, first_slice + slice_no)
        counter = {"n": 0}

        def count(*_args):
            counter["n"] += 1

        event.listen(engine, "before_cursor_execute", count)
        start = time.perf_counter()
        with app.app_context():
            fired = scan()
        times.append((time.perf_counter() - start) * 1000)
        event.remove(engine, "before_cursor_execute", count)
        statements.append(counter["n"])
        assert len(fired) == due, (len(fired), due)
    print(f"n={size} due={due} scan_ms={statistics.median(times):.1f} statements={max(statements)}", flush=True)


if __name__ == "__main__":
    main()
