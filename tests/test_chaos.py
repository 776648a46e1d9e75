"""The short version of bench/chaos.py: one worker killed mid-delivery and an SMTP server that times
out after DATA, on the production stack (PostgreSQL, redis-server, the Procfile's workers, an SMTP
sink on loopback). Nothing is lost, nothing goes out twice under different ids, nobody has to step in."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^fault=(\w+) sent=(\d+) lost=(\d+) duplicates_distinct_ids=(\d+) duplicates_same_id=(\d+) "
                  r"manual_steps=(\d+)$", re.M)


@pytest.mark.own_database
def test_a_killed_worker_and_a_slow_smtp_server_lose_and_double_nothing(tmp_path):
    missing = [b for b in ("redis-server",) if shutil.which(b) is None]
    if missing or not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        if os.environ.get("PORTAL_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server or PostgreSQL is not installed (scripts/test installs them)")
        pytest.skip("redis-server or PostgreSQL not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL")}
    done = subprocess.run([sys.executable, "bench/chaos.py", "--faults", "worker_kill,smtp_slow", "--per-fault", "30",
                           "--kills", "1", "--workers", "4", "--timeout", "240"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    found = {m.group(1): tuple(int(x) for x in m.groups()[1:]) for m in LINE.finditer(done.stdout)}
    assert set(found) == {"worker_kill", "smtp_slow"}, done.stdout + done.stderr[-3000:]
    for fault, (sent, lost, distinct, same, manual) in found.items():
        assert (sent, lost, distinct, manual) == (30, 0, 0, 0), f"{fault}: {done.stdout}"
    assert found["smtp_slow"][3] >= 1, "the slow server received copies: each resent with the same Message-ID"
    assert done.returncode == 0, done.stderr[-3000:]
