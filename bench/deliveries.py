"""Deliveries per second through real workers, for each RQ worker class.

    .venv/bin/python bench/deliveries.py                                  # every class, 2 workers
    .venv/bin/python bench/deliveries.py --classes portal.worker.PortalWorker --single 400 --batched 2000

The production stack on loopback: a throw-away PostgreSQL (bench/_pg.py), a redis-server,
`rq worker` processes on `portal-notify` started as the Procfile starts them (only the worker
class changes), and the SMTP sink of the tests (tests/smtp_sink.py). For each worker class
the workers are started and left to register, then the outbox is filled in one commit and
the clock runs until the sink has every message. Two shapes:

- `single`: one notification per job, as an escalation or a status change makes them: the
  cost of a job (a fork, building or not building the app) dominates;
- `batched`: 100 rows per job, as a bulk notice makes them: the cost of a delivery dominates.

Prints one line per class and shape:
`worker=PortalWorker shape=single jobs=200 deliveries=200 seconds=4.1 deliveries_per_s=48.8`
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _chaos_parts import Redis, worker_command  # noqa: E402
from _pg import throwaway_postgres  # noqa: E402
from tests.smtp_sink import SmtpSink  # noqa: E402

CLASSES = ("rq.Worker", "portal.worker.PortalWorker", "rq.worker.SpawnWorker", "rq.worker.SimpleWorker")


def _command(redis_url: str, worker_class: str) -> list[str]:
    """The Procfile's notify worker with another worker class (-w)."""
    cmd = worker_command(redis_url, "worker-notify")
    if "-w" in cmd:
        at = cmd.index("-w")
        del cmd[at:at + 2]
    return cmd[:2] + ["-w", worker_class] + cmd[2:]


def _wait_registered(redis_url: str, count: int, timeout: float = 120) -> None:
    from redis import Redis as Client
    from rq import Worker
    client = Client.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=client)) < count:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start")
        time.sleep(0.2)
    client.close()


def _fill(app, user_id: int, count: int, batch: int, tag: str) -> None:
    """`count` e-mails in one commit: one job per `batch` rows."""
    from portal.extensions import db
    from portal.models import User
    from portal.notify.outbox import queue_rows, row
    with app.app_context():
        user = db.session.get(User, user_id)
        rows = [row(user, "email", user.email, "escalation", f"[{tag}] {i}", "请处理", f"bench:{tag}:{i}")
                for i in range(count)]
        for start in range(0, count, batch):
            queue_rows(rows[start:start + batch])
        db.session.commit()


def measure(app, user_id: int, sink: SmtpSink, env: dict, redis_url: str, worker_class: str, workers: int,
            shapes: list[tuple[str, int, int]], timeout: float) -> list[str]:
    logdir = Path(env["PORTAL_INSTANCE_DIR"])
    procs = [subprocess.Popen(_command(redis_url, worker_class), env=env, cwd=ROOT, start_new_session=True,
                              stdout=open(logdir / f"{worker_class}-{i}.log", "wb"), stderr=subprocess.STDOUT)
             for i in range(workers)]
    lines = []
    try:
        _wait_registered(redis_url, workers)
        for shape, count, batch in shapes:
            before = len(sink.messages)
            started = time.monotonic()
            _fill(app, user_id, count, batch, f"{worker_class}:{shape}")
            while len(sink.messages) - before < count and time.monotonic() - started < timeout:
                time.sleep(0.05)
            seconds = time.monotonic() - started
            done = len(sink.messages) - before
            lines.append(f"worker={worker_class.rpartition('.')[2]} shape={shape} jobs={-(-count // batch)} "
                         f"deliveries={done} seconds={seconds:.1f} deliveries_per_s={done / seconds:.1f}")
            print(lines[-1], flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", default=",".join(CLASSES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--single", type=int, default=200, help="one-row jobs per class")
    parser.add_argument("--batched", type=int, default=1000, help="rows in 100-row jobs per class")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a SIGTERM still stops every server started here
    workdir = Path(tempfile.mkdtemp(prefix="portal-deliveries."))
    (workdir / "instance").mkdir()
    redis = Redis()
    with throwaway_postgres() as url, SmtpSink("ok") as sink:
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis.url, "PYTHONPATH": str(ROOT),
               "PORTAL_ENV": "development", "SECRET_KEY": "deliveries-bench-secret-key-0123456789",
               "PORTAL_INSTANCE_DIR": str(workdir / "instance"), "OUTBOX_DIR": str(workdir / "outbox"),
               "MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
               "SMS_BACKEND": "file", "PORTAL_JOBS_TICKER": "0"}
        os.environ.update(env)
        redis.start()
        try:
            from portal import create_app
            from portal.extensions import db
            from portal.models import Role, User
            app = create_app()
            with app.app_context():
                import flask_migrate

                from portal.extensions import init_migrations
                init_migrations(app)  # Flask-Migrate is bound on first need, not at start
                flask_migrate.upgrade()
                user = User(username="bench-mail", display_name="收件人", role=Role.MANAGER,
                            email="bench@example.com", password_hash="x")
                db.session.add(user)
                db.session.commit()
                user_id = user.id
            shapes = [(s, n, b) for s, n, b in (("single", args.single, 1), ("batched", args.batched, 100)) if n]
            print(f"cpus={os.cpu_count()} workers={args.workers} queue=portal-notify", flush=True)
            for worker_class in args.classes.split(","):
                measure(app, user_id, sink, env, redis.url, worker_class.strip(), args.workers, shapes, args.timeout)
            with app.app_context():
                db.engine.dispose()
        finally:
            redis.remove()


if __name__ == "__main__":
    main()
