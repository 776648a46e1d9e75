"""bench/scale.py at a tiny size: it fills a throw-away PostgreSQL the way it does for a million cases
(its own check compares the generated search terms with portal.search.terms_of and each case's estate
with its unit's) and prints a figure line for every list, the scan and the reports."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VIEWS = ("board", "board_site", "board_estate", "dept_queue", "my_cases", "board_search q=漏水")


@pytest.mark.own_database
def test_scale_bench_fills_and_prints_its_figures():
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL not installed (scripts/test installs it)")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL", "BENCH_DATABASE_URL")}
    done = subprocess.run([sys.executable, "bench/scale.py", "--cases", "200", "--estates", "2", "--runs", "1",
                           "--no-export", "--postgres"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    out = done.stdout
    assert re.search(r"^n=200 estates=2 fill_s=[\d.]+ ", out, re.M), out
    for view in VIEWS:
        assert re.search(rf"^n=200 view={re.escape(view)} p50_ms=[\d.]+ p95_ms=[\d.]+ statements=\d+$", out, re.M), \
            (view, out)
    assert re.search(r"^n=200 view=scan running=\d+ due=\d+ scan_ms=[\d.]+ statements=\d+$", out, re.M), out
    report = r"^n=200 view=report month=\S+ scope=company first_ms=[\d.]+ report_ms=[\d.]+ statements=\d+$"
    assert re.search(report, out, re.M), out
    cases = re.search(r"^n=200 database=.* case_terms=(\d+) ", out, re.M)
    assert cases and int(cases.group(1)) > 200, out  # every case has its texts' bigrams
