"""Deliveries under faults: nothing lost, nothing told twice in a way the recipient cannot see, no manual clean-up.

    .venv/bin/python bench/chaos.py                    # every fault, 200 notifications each
    .venv/bin/python bench/chaos.py --per-fault 50 --faults worker_kill,smtp_slow

Runs the production stack on loopback: a throw-away PostgreSQL, a redis-server, real
`rq worker` processes started from the Procfile's worker lines (one per queue, the rest of
--workers on portal-notify; restarted a second after they die, like systemd's Restart=always), the minute tick driven every second (as `rq
cron` would with a short interval), and an SMTP sink (tests/smtp_sink.py). For each fault
it queues notifications, injects the fault, waits until every row is settled and prints:

    fault=NAME sent=N lost=N duplicates_distinct_ids=N duplicates_same_id=N manual_steps=N

- lost: rows never delivered (for e-mail: never received by the sink);
- duplicates_distinct_ids: a notification received more than once under different ids
  (a copy the recipient's mail client cannot drop);
- duplicates_same_id: extra copies carrying the same Message-ID (dropped by the client);
- manual_steps: rows left 'failed', each needing a manager.
Retry delays are shortened (NOTIFY_RETRY_DELAYS=1,2,3,5,8,13,21) so an outage of seconds
plays the part of an outage of hours. Targets: lost=0, duplicates_distinct_ids=0, manual_steps=0.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _chaos_parts import Postgres, Redis, Workers, fill, mount_tmpfs, unmount  # noqa: E402
from tests.smtp_sink import SmtpSink  # noqa: E402

FAULTS = ("worker_kill", "redis_restart", "postgres_kill", "smtp_slow", "smtp_refuse", "disk_full")
ID = re.compile(r"portal-notification-(\d+)-")


class Bench:
    def __init__(self, args, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.pg, self.redis = Postgres(), Redis()
        self.sink = SmtpSink("ok", hang_seconds=3)
        self.outbox = workdir / "outbox"
        self.env = {
            **os.environ, "DATABASE_URL": self.pg.url, "REDIS_URL": self.redis.url, "PYTHONPATH": str(ROOT),
            "PORTAL_ENV": "development", "SECRET_KEY": "chaos-bench-secret-key-0123456789abcdef",
            "PORTAL_INSTANCE_DIR": str(workdir / "instance"), "OUTBOX_DIR": str(self.outbox),
            "MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_TIMEOUT": "1", "SMS_BACKEND": "file",
            "NOTIFY_LEASE_SECONDS": "4", "JOB_LEASE_SECONDS": "8", "NOTIFY_RETRY_DELAYS": "1,2,3,5,8,13,21",
            "PORTAL_JOBS_TICKER": "0",
        }
        self.stop_ticking = threading.Event()

    # -- set-up ------------------------------------------------------------------------
    def start(self) -> None:
        self.sink.__enter__()
        self.env["SMTP_PORT"] = str(self.sink.port)
        os.environ.update(self.env)  # the bench's own app reads the same configuration
        self.pg.start()
        self.redis.start()
        from portal import create_app
        from portal.extensions import db
        self.app = create_app()
        with self.app.app_context():
            import flask_migrate

            from portal.extensions import init_migrations
            init_migrations(self.app)  # Flask-Migrate is bound on first need, not at start
            flask_migrate.upgrade()
            from portal.models import Role, User
            self.email_user = User(username="chaos-mail", display_name="收件人", role=Role.MANAGER,
                                   email="chaos@example.com", password_hash="x")
            self.sms_user = User(username="chaos-sms", display_name="短信", role=Role.MANAGER,
                                 phone="13800000000", password_hash="x")
            db.session.add_all([self.email_user, self.sms_user])
            db.session.commit()
            self.email_user_id, self.sms_user_id = self.email_user.id, self.sms_user.id
        self.workers = Workers(self.args.workers, self.env, self.redis.url, self.workdir)
        self.workers.start()
        threading.Thread(target=self._tick, daemon=True).start()

    def _tick(self) -> None:
        """The minute tick, every second; and the supervisor restarting dead workers."""
        from portal.extensions import db
        tick = _tick_function()
        while not self.stop_ticking.wait(1):
            self.workers.supervise()
            try:
                with self.app.app_context():
                    try:
                        tick()
                    finally:
                        db.session.rollback()
            except Exception:  # the database is down: the next tick tries again, as rq cron's would
                pass

    def stop(self) -> None:
        self.stop_ticking.set()
        try:
            self.workers.stop()
            self.sink.__exit__(None, None, None)
        finally:  # whatever failed above, no server outlives the bench
            self.redis.remove()
            self.pg.remove()

    # -- one fault -----------------------------------------------------------------------
    def queue(self, fault: str, channel: str) -> list[int]:
        from portal.extensions import db
        from portal.models import User
        from portal.notify.outbox import notify
        ids = []
        with self.app.app_context():
            user = db.session.get(User, self.email_user_id if channel == "email" else self.sms_user_id)
            for i in range(self.args.per_fault):
                ids += notify([user], "escalation", f"[{fault}] 第 {i} 条", "请处理", f"chaos:{fault}:{i}")
                if i % 50 == 49:
                    db.session.commit()
            db.session.commit()
            from portal.models import Notification
            return list(db.session.scalars(db.select(Notification.id).where(
                Notification.id.in_(ids), Notification.channel == channel)))

    def settle(self, ids: list[int], timeout: float) -> dict[str, int]:
        from portal.extensions import db
        from portal.models import Notification
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.app.app_context():
                    rows = dict(db.session.execute(db.select(Notification.status, db.func.count())
                                                   .where(Notification.id.in_(ids)).group_by(Notification.status)).all())
            except Exception:
                rows = {}
            if rows and set(rows) <= {"sent", "failed"} or time.monotonic() > deadline:
                return rows
            time.sleep(1)

    def run(self, fault: str) -> str:
        channel = "sms" if fault == "disk_full" else "email"
        before = len(self.sink.messages)
        inject = getattr(self, f"fault_{fault}")
        if fault == "disk_full" and not self._prepare_disk():
            return f"fault={fault} skipped: cannot mount a tmpfs here (run as root on a machine that allows mount)"
        if fault.startswith("smtp_"):
            self.sink.mode = fault.removeprefix("smtp_")  # the server misbehaves before the first message
        ids = self.queue(fault, channel)
        inject()
        statuses = self.settle(ids, self.args.timeout)
        return self.report(fault, channel, ids, before, statuses)

    def report(self, fault, channel, ids, before, statuses) -> str:
        sent = statuses.get("sent", 0)
        manual = statuses.get("failed", 0)
        dup_same = dup_distinct = 0
        if channel == "email":
            copies: dict[int, list[str]] = defaultdict(list)
            for m in self.sink.messages[before:]:
                match = ID.search(m["message_id"] or "")
                if match:
                    copies[int(match.group(1))].append(m["message_id"])
            lost = sum(1 for i in ids if i not in copies)
            for found in copies.values():
                dup_same += len(found) - len(set(found))
                dup_distinct += 1 if len(set(found)) > 1 else 0
        else:
            lost = sum(1 for i in ids if not (self.outbox / f"sms-{i}.json").exists())
        return (f"fault={fault} sent={sent} lost={lost} duplicates_distinct_ids={dup_distinct} "
                f"duplicates_same_id={dup_same} manual_steps={manual}")

    # -- the faults ----------------------------------------------------------------------
    def fault_worker_kill(self) -> None:
        for _ in range(self.args.kills):
            time.sleep(0.7)
            self.workers.kill_one(random.randrange(self.workers.count))

    def fault_redis_restart(self) -> None:
        time.sleep(0.5)
        self.redis.stop()
        time.sleep(5)
        self.redis.start()

    def fault_postgres_kill(self) -> None:
        time.sleep(0.5)
        self.pg.kill()
        time.sleep(self.args.pg_down)
        self.pg.start()

    def _misbehave_until(self, hit) -> None:
        """Keep the sink's fault until it has hit 20 messages (at most 90 s: a busy machine starts late),
        then 10 s more, then answer normally again."""
        deadline = time.monotonic() + 90
        while hit() < 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(10)
        self.sink.mode = "ok"

    def fault_smtp_slow(self) -> None:
        start = len(self.sink.messages)  # takes each message, then never answers: a timeout after DATA
        self._misbehave_until(lambda: len(self.sink.messages) - start)

    def fault_smtp_refuse(self) -> None:
        start = self.sink.refused  # refuses every message
        self._misbehave_until(lambda: self.sink.refused - start)

    def _prepare_disk(self) -> bool:
        self.tmpfs = self.workdir / "outbox"
        if not mount_tmpfs(self.tmpfs):
            return False
        self.filler = fill(self.tmpfs)
        return True

    def fault_disk_full(self) -> None:
        time.sleep(8)
        self.filler.unlink()


def _tick_function():
    from portal.schedule import tick
    return tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--per-fault", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--pg-down", type=float, default=10)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a SIGTERM still stops every server started here
    workdir = Path(tempfile.mkdtemp(prefix="portal-chaos."))
    bench = Bench(args, workdir)
    lines = []
    try:
        bench.start()
        for fault in args.faults.split(","):
            line = bench.run(fault.strip())
            print(line, flush=True)
            lines.append(line)
    finally:
        bench.stop()
        if (workdir / "outbox").is_mount():
            unmount(workdir / "outbox")
    print(f"workers: {bench.workers.refused} refused restarts", flush=True)
    bad = [ln for ln in lines if "skipped" not in ln and not all(
        f" {k}=0" in ln for k in ("lost", "duplicates_distinct_ids", "manual_steps"))]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
