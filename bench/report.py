"""Dashboard and monthly report over a large history, computed in the database.

    .venv/bin/python bench/report.py [--cases 100000] [--callbacks 50000] [--database-url URL | --postgres]

Bulk-inserts a year of synthetic cases (with their first-reply and resolution
clocks) and callback tasks with answers into a fresh database (a temp SQLite file
unless --database-url names an empty PostgreSQL database or --postgres starts a
throw-away one, bench/_pg.py), then times the
manager's dashboard through the real app (median of 5 requests; its 12-month
trend panel loads separately: trend_ms with the finished months kept in month_figure,
trend_counted_ms with none kept) and the monthly report job (median of
3 runs), and prints
`n=100000 callbacks=50000 report_ms=... dashboard_ms=... trend_ms=... statements=...`.
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

from sqlalchemy import event, func, insert, select, text  # noqa: E402

from bench._pg import add_database_arguments, database_url, settle  # noqa: E402
from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.demo import seed_reference  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    CallbackRecord, CallbackTask, Case, Category, Deadline, Department, Estate, ReportRun, Role, Unit, User,
)
from portal.reports import monthly  # noqa: E402
from portal.reports.periods import current_month  # noqa: E402
from portal.timeutil import utcnow  # noqa: E402

BATCH = 5000


def _flush(model, rows: list) -> list:
    if rows:
        db.session.execute(insert(model), rows)
    return []


def fill_cases(total: int, rng: random.Random, days: int = 365) -> None:
    """`days` (a year) of cases; 70 % resolved with a measured time; two clocks each."""
    cats = db.session.scalars(select(Category.id)).all()
    deps = db.session.scalars(select(Department.id)).all()
    units = db.session.scalars(select(Unit.id)).all()
    estate = db.session.scalar(select(Estate.id))
    residents = db.session.scalars(select(User.id).where(User.role == Role.RESIDENT)).all()
    staff = db.session.scalars(select(User.id).where(User.role == Role.DEPARTMENT)).all()
    now = utcnow()
    cases, clocks = [], []
    for i in range(total):
        received = now - timedelta(minutes=rng.randint(0, int(60 * 24 * days)))
        resolved = received + timedelta(hours=rng.randint(1, 96)) if rng.random() < .7 else None
        if resolved and resolved > now:
            resolved = None
        cases.append({
            "id": i + 1, "number": f"BN-{i:08d}",
            "kind": rng.choice(["complaint", "repair", "enquiry", "suggestion"]),
            "channel": rng.choice(["phone", "online", "wechat", "walk_in"]),
            "status": "closed" if resolved else rng.choice(["registered", "dispatched", "in_progress", "invalid"]),
            "severity": rng.choice(["major", "important", "minor", None]), "urgent": False,
            "category_id": rng.choice(cats), "resident_id": rng.choice(residents), "unit_id": rng.choice(units),
            "estate_id": estate, "location_type": "unit", "location": "", "description": f"#{i}",
            "request": "", "contact_name": "", "contact_phone": "", "subject": "", "misconduct": False,
            "witnesses": "", "evidence": "", "department_id": rng.choice(deps), "received_at": received,
            "first_reply": "", "invalid_reason": "", "finding": "", "plan": "", "explanation": "",
            "third_party": "", "completion_note": "", "reopen_count": int(rng.random() < .05),
            "supervisor_visit": False, "repeat": rng.random() < .02, "updated_at": received, "version_id": 1,
            "resolved_at": resolved, "resolved_by_id": rng.choice(staff) if resolved else None,
            "resolve_work_seconds": rng.randint(1800, 40 * 3600) if resolved else None,
        })
        for clock, hours, met in (("first_reply", 2, received + timedelta(minutes=rng.randint(5, 200))),
                                  ("resolution", 27, resolved)):
            clocks.append({"case_id": i + 1, "clock": clock, "round": 0, "metric": "clock",
                           "budget_seconds": hours * 3600.0, "spent_seconds": 0.0, "started_at": received,
                           "segment_start": None if met else received, "paused_seconds": 0.0,
                           "due_at": received + timedelta(hours=hours), "met_at": met, "cancelled": False,
                           "stage": 0})
        if len(cases) >= BATCH:
            cases = _flush(Case, cases)
            clocks = _flush(Deadline, clocks)
    _flush(Case, cases)
    _flush(Deadline, clocks)
    db.session.commit()


def fill_callbacks(total: int, cases: int, rng: random.Random, days: int = 365) -> None:
    """Callback tasks on random cases due over `days`, most done with an answer."""
    now = utcnow()
    tasks, records = [], []
    for i in range(total):
        due = now - timedelta(minutes=rng.randint(0, int(60 * 24 * days)))
        status = rng.choice(["done", "done", "done", "done", "unreachable", "pending"])
        case_id = rng.randint(1, cases)
        tasks.append({"id": i + 1, "kind": rng.choice(["complaint", "repair", "routine"]), "status": status,
                      "case_id": case_id, "round": i, "assignee_role": "clerk", "due_at": due, "reason": "bench",
                      "reason_detail": "", "attempts": 1, "outcome": "", "created_at": due,
                      "closed_at": due if status != "pending" else None})
        if status == "done":
            records.append({"task_id": i + 1, "case_id": case_id, "at": due, "method": "phone", "reached": True,
                            "satisfaction": rng.choice(["very_satisfied", "satisfied", "neutral", "dissatisfied"]),
                            "shortcomings": "", "suggestions": "", "confirmed": True, "note": "",
                            "escalate": False})
        if len(tasks) >= BATCH:
            tasks = _flush(CallbackTask, tasks)
            records = _flush(CallbackRecord, records)
    _flush(CallbackTask, tasks)
    _flush(CallbackRecord, records)
    db.session.commit()


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100000)
    parser.add_argument("--callbacks", type=int, default=50000)
    add_database_arguments(parser)
    args = parser.parse_args()
    with database_url(args) as url:
        run(url, args.cases, args.callbacks)


def run(url: str | None, cases: int, callbacks: int) -> None:
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = url or f"sqlite:///{tmp}/bench.db"
    config.WTF_CSRF_ENABLED = False
    config.UPLOAD_DIR = tmp
    app = create_app(config)
    rng = random.Random(cases)
    with app.app_context():
        db.create_all()
        seed_reference()
        db.session.add(User(username="bench-eng", display_name="工程", role=Role.DEPARTMENT,
                            department_id=db.session.scalar(select(Department.id)), password_hash=""))
        # The company's dashboard (every estate), as before estates had their own managers.
        db.session.scalar(select(User).filter_by(username="manager1")).company_wide = True
        db.session.commit()
        fill_cases(cases, rng)
        fill_callbacks(callbacks, cases, rng)
        if db.engine.dialect.name == "sqlite":  # SQLite keeps no statistics unless asked
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        settle(db.engine)  # PostgreSQL: VACUUM ANALYZE, as autovacuum would have by now
    client = app.test_client()
    client.post("/login", data={"username": "manager1", "password": "demo12345"})
    with app.app_context():
        month = current_month()
    counter = {"n": 0}
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *a: counter.__setitem__("n", counter["n"] + 1))

    def dashboard():
        counter["n"] = 0
        assert client.get(f"/reports?month={month}").status_code == 200

    def report():
        from portal.reports.jobs import generate_report
        with app.app_context():
            report_run = ReportRun(month=month, steps=5)
            db.session.add(report_run)
            db.session.commit()
            generate_report(report_run.id)

    def trend():
        assert client.get(f"/reports/trend?month={month}").status_code == 200

    def trend_counted():
        """The panel with no finished month kept (the first view after a write touched them all)."""
        with app.app_context():
            monthly.forget()
            db.session.commit()
        trend()

    dashboard_ms = timed(dashboard, 5)
    statements = counter["n"]
    trend_counted_ms = timed(trend_counted, 3)
    trend_ms = timed(trend, 3)  # the eleven finished months read back from month_figure
    report_ms = timed(report, 3)
    print(f"n={cases} callbacks={callbacks} report_ms={report_ms:.1f} dashboard_ms={dashboard_ms:.1f} "
          f"trend_ms={trend_ms:.1f} trend_counted_ms={trend_counted_ms:.1f} statements={statements}", flush=True)
    engine.dispose()  # a throw-away server is stopped next: leave no pooled connection behind


if __name__ == "__main__":
    main()
