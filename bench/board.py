"""Board speed as data grows: prints one line per size and filter.

    .venv/bin/python bench/board.py [--sizes 1000,10000,100000] [--database-url URL | --postgres]

Bulk-inserts synthetic cases (core INSERTs, not the ORM) into a fresh
database (a temp SQLite file unless --database-url names an empty
PostgreSQL database or --postgres starts a throw-away one, bench/_pg.py),
then renders the board through the real app as a clerk and prints the
median time and the SQL statements per request:
`n=100000 view=board board_ms=41.2 statements=5`; `view=board_search q=… ms=…` lines are the board
searched; the `view=search` lines time the search's own queries (count and first page) without rendering.

Each request starts with the list cache emptied (portal.stamp), so every one
counts, selects and renders: the cost after any change to the data. The
`board_cached` line is the default board served again with nothing changed.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from urllib.parse import urlencode
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, insert, select  # noqa: E402

from bench._pg import add_database_arguments, database_url, settle  # noqa: E402
from flask import current_app  # noqa: E402

from portal import create_app, pagination, search, stamp  # noqa: E402
from portal.board.query import filtered  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.demo import seed_reference  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Building, Case, Category, Department, Role, Status, Unit, User  # noqa: E402
from portal.models.cases import KIND_PREFIX, Kind  # noqa: E402
from portal.timeutil import local_zone, utcnow  # noqa: E402

VIEWS = {
    "board": "/board",
    "board_open_major": "/board?status=open&severity=major",
    "board_page_40": "/board?page=40",
}
# Searches, each printed as `view=board_search q=…`: two characters, a phrase whose every bigram is
# common (a sixth of the cases have each), a case-number prefix (a month's repairs), one whole number
# (filled in by `run`: today's first complaint), a number prefix in lower case, and digits typed alone:
# a day's counter (every day's 42nd case), a day (22 November) and a counter with its dash; "0802" is
# also a unit (every case of unit 0802) as clerks type it.
SEARCHES = ["漏水", "电梯", "厨房水管漏水", "BX-202611", "bx-2026", None, "0042", "1122", "-0042", "0802"]


def fill(total: int) -> None:
    """Grow the case table to `total` rows with varied states, departments and dates."""
    have = db.session.scalar(select(func.count(Case.id)))
    rng = random.Random(total)
    cats = db.session.scalars(select(Category.id)).all()
    deps = db.session.scalars(select(Department.id)).all()
    # Each case in its unit's estate, as intake files it: staff lists are scoped by estate, and a case
    # without one is in no clerk's list (the board would measure the demo's cases only).
    units = db.session.execute(select(Unit.id, Building.estate_id).join(Building)).all()
    residents = db.session.scalars(select(User.id).where(User.role == Role.RESIDENT)).all()
    statuses = [s.value for s in Status]
    now = utcnow()
    texts = ["厨房水管漏水", "电梯停顿", "楼道垃圾未清运", "门禁损坏", "噪音扰民", "车位被占"]
    batch = []
    counters: dict = {}
    taken = set(db.session.scalars(select(Case.number)))
    for i in range(have, total):
        received = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
        kind = rng.choice(["complaint", "repair", "enquiry", "suggestion"])
        day = received.astimezone(local_zone()).date()
        while True:  # numbers as the app makes them (portal.cases.intake.next_number): TS-20261130-0007
            key = (kind, day)
            counters[key] = counters.get(key, 0) + 1
            number = f"{KIND_PREFIX[Kind(kind)]}-{day:%Y%m%d}-{counters[key]:04d}"
            if number not in taken:
                break
        unit_id, estate_id = rng.choice(units)
        batch.append({
            "number": number, "unit_id": unit_id, "estate_id": estate_id, "kind": kind,
            "channel": rng.choice(["phone", "online", "wechat", "walk_in"]), "status": rng.choice(statuses),
            "severity": rng.choice(["major", "important", "minor", None]), "urgent": False,
            "category_id": rng.choice(cats), "resident_id": rng.choice(residents),
            "location_type": "unit", "location": "", "description": rng.choice(texts) + f" #{i}",
            "request": "", "contact_name": "", "contact_phone": "", "subject": "", "misconduct": False,
            "witnesses": "", "evidence": "", "department_id": rng.choice(deps), "received_at": received,
            "first_reply": "", "invalid_reason": "", "finding": "", "plan": "", "explanation": "",
            "third_party": "", "completion_note": "", "reopen_count": 0, "supervisor_visit": False,
            "updated_at": received, "version_id": 1,
            "promised_at": received + timedelta(days=rng.randint(1, 5)) if rng.random() < .5 else None,
        })
        if len(batch) == 5000:
            db.session.execute(insert(Case), batch)
            batch = []
    if batch:
        db.session.execute(insert(Case), batch)
    db.session.commit()
    search.reindex(only_missing=True)  # core INSERTs bypass the ORM events that keep the search terms



def search_ms(q: str, runs: int = 7) -> float:
    """The search alone, as the board runs it: the count (capped at SEARCH_COUNT_LIMIT) and the first page's ids."""
    stmt = filtered(Case.id > 0, {"q": q}).with_only_columns(Case.id)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        pagination.count(stmt, current_app.config["SEARCH_COUNT_LIMIT"])
        db.session.scalars(stmt.order_by(Case.received_at.desc()).limit(25)).all()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(app, client, url: str, runs: int = 7, cold: bool = True) -> tuple[float, int]:
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    times = []
    for _ in range(runs):
        counter["n"] = 0
        with app.app_context():
            engine = db.engine
            if cold:
                stamp.cache().clear()
        event.listen(engine, "before_cursor_execute", count)
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, response.status_code
    return statistics.median(times), counter["n"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    add_database_arguments(parser)
    args = parser.parse_args()
    with database_url(args) as url:
        run(url, [int(s) for s in args.sizes.split(",")])


def run(url: str | None, sizes: list[int]) -> None:
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = url or f"sqlite:///{tmp}/bench.db"
    config.WTF_CSRF_ENABLED = False
    config.UPLOAD_DIR = tmp
    app = create_app(config)
    with app.app_context():
        db.create_all()
        seed_reference()
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "clerk1", "password": "demo12345"})
    for size in sizes:
        with app.app_context():  # requests below run in their own contexts, as in production
            fill(size)
            settle(db.engine)
        for view, path in VIEWS.items():
            ms, statements = measure(app, client, path)
            print(f"n={size} view={view} board_ms={ms:.1f} statements={statements}", flush=True)
        with app.app_context():
            first = db.session.scalar(select(Case.number).where(Case.kind == "complaint").order_by(Case.number.desc()))
        for q in SEARCHES:
            q = q or first
            ms, statements = measure(app, client, "/board?" + urlencode({"q": q}))
            print(f"n={size} view=board_search q={q} ms={ms:.1f} statements={statements}", flush=True)
        ms, statements = measure(app, client, VIEWS["board"], cold=False)
        print(f"n={size} view=board_cached board_ms={ms:.1f} statements={statements}", flush=True)
        with app.app_context():
            for q in SEARCHES:
                q = q or first
                print(f"n={size} view=search q={q} search_ms={search_ms(q):.1f}", flush=True)
    with app.app_context():
        db.engine.dispose()  # a throw-away server is stopped next: leave no pooled connection behind


if __name__ == "__main__":
    main()
