"""Peak memory of the monthly XLSX export over a month of many cases.

    .venv/bin/python bench/export.py [--cases 80000] [--callbacks 30000] [--database-url URL | --postgres]

Bulk-inserts the cases and callback tasks so that about --cases fall into last month (bench/report.py's
generator), then writes the month's workbook (summary, cases, callbacks) to a
temp file the way the download does, tracing Python allocations with
tracemalloc, and prints
`n=80000 callbacks=30000 rows=... file_kb=... peak_mb=... seconds=...`.
Peak memory stays flat as the month grows (XlsxWriter's constant_memory mode
writes each row out as it goes; the cases are read a chunk at a time);
run it with a smaller --cases to compare.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from bench._pg import add_database_arguments, database_url, settle  # noqa: E402
from bench.report import fill_callbacks, fill_cases  # noqa: E402
from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.demo import seed_reference  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Case  # noqa: E402
from portal.reports import export  # noqa: E402
from portal.reports.periods import Scope, current_month, shift  # noqa: E402
from portal.reports.stats import case_scope  # noqa: E402
from portal.timeutil import utcnow  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=80000)
    parser.add_argument("--callbacks", type=int, default=30000)
    add_database_arguments(parser)
    args = parser.parse_args()
    with database_url(args) as url:
        run(url, args.cases, args.callbacks)


def run(url: str | None, cases: int, callbacks: int) -> None:
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = url or f"sqlite:///{tmp}/bench.db"
    config.UPLOAD_DIR = tmp
    app = create_app(config)
    rng = random.Random(cases)
    with app.app_context():
        db.create_all()
        seed_reference()
        scope = Scope(shift(current_month(), -1))  # last month, as the report's default
        days = (utcnow() - scope.start).total_seconds() / 86400  # from its first day until now
        share = days / ((scope.end - scope.start).total_seconds() / 86400)
        total = int(cases * share)  # so that about `cases` fall inside last month
        fill_cases(total, rng, days=days)
        fill_callbacks(int(callbacks * share), total, rng, days=days)
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        settle(db.engine)
        rows = db.session.scalar(select(func.count()).select_from(Case).where(case_scope(scope)))
        db.session.close()
        tracemalloc.start()
        start = time.perf_counter()
        path = export.month_file(scope)
        seconds = time.perf_counter() - start
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        size = os.path.getsize(path)
        export.remove(path)
        print(f"n={cases} callbacks={callbacks} rows={rows} file_kb={size // 1024} "
              f"peak_mb={peak / 2**20:.1f} seconds={seconds:.1f}", flush=True)
        db.engine.dispose()


if __name__ == "__main__":
    main()
