"""API speed at size: create-case p95 and list-changed p95 with N cases in the key's estate.

    .venv/bin/python bench/api.py [--sizes 100000] [--calls 200] [--database-url URL | --postgres]

Bulk-inserts cases into a fresh database (a temp SQLite file unless --database-url or --postgres,
bench/_pg.py), issues a key, then times through the WSGI app (no network):
- api_create: POST /api/v1/cases (multipart, a fresh Idempotency-Key each), the whole intake path;
- api_changes: GET /api/v1/cases/changes, 100 per page, following next_cursor from the start.
Prints `n=100000 view=api_create p95_ms=… median_ms=…` and the same for api_changes.
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

from sqlalchemy import func, insert, select  # noqa: E402

from bench._pg import add_database_arguments, database_url, settle  # noqa: E402
from portal import config as portal_config  # noqa: E402
from portal import create_app  # noqa: E402
from portal.api.keys import issue  # noqa: E402
from portal.demo import seed_reference  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Building, Case, Estate, Role, Unit, User  # noqa: E402
from portal.models.api import PERMISSIONS  # noqa: E402
from portal.timeutil import utcnow  # noqa: E402


def fill(total: int, estate_id: int) -> None:
    have = db.session.scalar(select(func.count(Case.id)))
    rng = random.Random(total)
    units = db.session.scalars(select(Unit.id).join(Building).where(Building.estate_id == estate_id)).all()
    residents = db.session.scalars(select(User.id).where(User.role == Role.RESIDENT)).all()
    now = utcnow()
    first_id = (db.session.scalar(select(func.max(Case.id))) or 0) + 1
    rows = []
    for offset, i in enumerate(range(have, total)):
        received = now - timedelta(minutes=rng.randint(10, 60 * 24 * 60))
        rows.append({
            "id": first_id + offset, "number": f"BA-{i:08d}", "kind": "repair", "channel": "phone",
            "status": "registered", "urgent": False, "resident_id": rng.choice(residents), "unit_id": rng.choice(units),
            "estate_id": estate_id, "location_type": "unit", "location": "", "description": f"漏水 #{i}",
            "request": "", "contact_name": "", "contact_phone": "", "subject": "", "misconduct": False,
            "witnesses": "", "evidence": "", "received_at": received, "first_reply": "", "invalid_reason": "",
            "finding": "", "plan": "", "explanation": "", "third_party": "", "completion_note": "",
            "reopen_count": 0, "supervisor_visit": False, "updated_at": received, "version_id": 1,
        })
        if len(rows) == 5000:
            db.session.execute(insert(Case), rows)
            rows = []
    if rows:
        db.session.execute(insert(Case), rows)
    db.session.commit()


def p95(times: list[float]) -> float:
    return sorted(times)[max(int(len(times) * 0.95) - 1, 0)]


def run(url: str | None, sizes: list[int], calls: int) -> None:
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    config = portal_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = url or f"sqlite:///{tmp}/bench.db"
    config.OUTBOX_DIR = tmp
    config.UPLOAD_DIR = tmp
    config.JOBS_SYNC = False
    app = create_app(config)
    with app.app_context():
        db.create_all()
        seed_reference()
        db.session.commit()
        estate = db.session.scalar(select(Estate).order_by(Estate.id))
        estate_id = estate.id
        _, secret = issue("bench", [estate], list(PERMISSIONS), None, rate_per_minute=10**6)
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    for size in sizes:
        with app.app_context():
            fill(size, estate_id)
            settle(db.engine)
        created = []
        for i in range(calls):
            started = time.perf_counter()
            r = client.post("/api/v1/cases", data={"kind": "repair", "description": f"厨房漏水 {i}"},
                            headers={**headers, "Idempotency-Key": f"bench-{size}-{i}"},
                            content_type="multipart/form-data")
            created.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 201, r.get_data(as_text=True)
        pages, cursor = [], ""
        for _ in range(calls):
            started = time.perf_counter()
            r = client.get("/api/v1/cases/changes", query_string={"cursor": cursor, "limit": 100}, headers=headers)
            pages.append((time.perf_counter() - started) * 1000)
            cursor = r.json["next_cursor"]
        for view, times in (("api_create", created), ("api_changes", pages)):
            print(f"n={size} view={view} p95_ms={p95(times):.1f} median_ms={statistics.median(times):.1f} "
                  f"calls={len(times)}", flush=True)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--calls", type=int, default=200)
    add_database_arguments(parser)
    args = parser.parse_args()
    with database_url(args) as url:
        run(url, [int(s) for s in args.sizes.split(",")], args.calls)


if __name__ == "__main__":
    main()
