"""The real Redis/RQ path: a redis-server and `rq worker` processes on loopback.

These tests build their own app on a database file (or the PostgreSQL test
database) that the worker processes open too, exactly as production does.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal import config as portal_config
from portal.extensions import db
from portal.jobs import QUEUES, enqueue_now
from portal.models import Notification
from portal.timeutil import utcnow
from tests import factories

pytestmark = pytest.mark.redis
VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("PORTAL_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is not installed (scripts/test installs it)")
        pytest.skip("redis-server not installed")
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    from redis import Redis
    client = Redis.from_url(url)
    _wait(lambda: _ping(client), 10, "redis-server")
    yield url
    client.close()
    proc.terminate()
    proc.wait(10)


def _ping(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def rq_app(tmp_path, redis_url, database_url):
    url = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'rq.db'}"
    config = portal_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = url
    config.REDIS_URL = redis_url
    config.JOBS_SYNC = False
    config.OUTBOX_DIR = str(tmp_path / "outbox")
    config.UPLOAD_DIR = str(tmp_path / "uploads")
    app = create_app(config)
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    conn = app.extensions.get("portal_redis")
    if conn is not None:
        conn.close()


def start_worker(app, tmp_path, name: str, queues=QUEUES, **env) -> subprocess.Popen:
    """The Procfile's `rq worker -w portal.worker.PortalWorker --with-scheduler` in its own process group,
    configured by environment like production (on every queue unless `queues` says otherwise)."""
    environ = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "OUTBOX_DIR": app.config["OUTBOX_DIR"],
        "PORTAL_INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "worker-test-secret-key-0123456789",
        "MAIL_BACKEND": "file", "SMS_BACKEND": "file",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        **env,
    }
    log = open(tmp_path / f"{name}.log", "wb")
    proc = subprocess.Popen(
        [str(VENV_BIN / "rq"), "worker", "-w", "portal.worker.PortalWorker", "--with-scheduler",
         "--url", app.config["REDIS_URL"], "--name", name, *queues],
        env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    proc.log_file = log
    return proc


def _worker_state(app, name: str) -> str | None:
    """The state a live worker reports in Redis (started, idle, busy…), None when it is not registered."""
    from redis import Redis
    from rq import Worker

    with Redis.from_url(app.config["REDIS_URL"]) as conn:
        return next((w.get_state() for w in Worker.all(connection=conn) if w.name == name), None)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.wait(20)
    proc.log_file.close()


def _status(notification_id: int) -> tuple:
    db.session.expire_all()
    n = db.session.get(Notification, notification_id)
    return n.status, n.attempts


def test_worker_runs_the_scan_and_delivers_the_escalation(rq_app, tmp_path):
    ref = factories.reference()
    clerk = factories.user(factories.Role.CLERK)
    manager = factories.user(factories.Role.MANAGER)
    manager.email = "manager@example.com"
    resident = factories.user(factories.Role.RESIDENT, unit=ref["units"][0])
    case = factories.case(resident, clerk, received_at=utcnow() - timedelta(days=2))
    db.session.commit()
    worker = start_worker(rq_app, tmp_path, "w-scan")
    try:
        enqueue_now("portal.schedule.tick", queue="portal-alerts")
        emails = _wait(lambda: db.session.scalars(
            select(Notification).where(Notification.user_id == manager.id, Notification.channel == "email",
                                       Notification.status == "sent")).all() or db.session.rollback(),
            60, "the escalation e-mail to be delivered by the worker")
        assert all(case.number in n.subject for n in emails)
        for n in emails:
            assert (Path(rq_app.config["OUTBOX_DIR"]) / f"email-{n.id}.eml").exists()
        # A second tick finds nothing new: nobody is notified twice.
        before = db.session.scalar(select(func.count()).select_from(Notification))
        enqueue_now("portal.schedule.tick", queue="portal-alerts")
        from rq import Queue
        queue = Queue("portal-alerts", connection=rq_app.extensions["portal_redis"])
        _wait(lambda: queue.count == 0 and not queue.started_job_registry.get_job_ids(), 30, "the second tick")
        time.sleep(0.5)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Notification)) == before
    finally:
        stop(worker)


def test_a_worker_killed_mid_delivery_loses_nothing_and_doubles_nothing(rq_app, tmp_path):
    manager = factories.user(factories.Role.MANAGER)
    manager.email = "manager@example.com"
    db.session.commit()
    from portal.notify.outbox import row
    rows = [row(manager, "email", manager.email, "escalation", "[TS1] 处理超时", "请处理", "crash-test")]
    rows[0].update(created_at=utcnow())
    db.session.add(Notification(**rows[0]))
    db.session.commit()
    notification_id = db.session.scalar(select(Notification.id))
    outbox = Path(rq_app.config["OUTBOX_DIR"])

    slow = start_worker(rq_app, tmp_path, "w-slow", PORTAL_DELIVERY_DELAY="30", NOTIFY_LEASE_SECONDS="2")
    try:
        enqueue_now("portal.notify.jobs.deliver_many", [notification_id], queue="portal-notify")
        _wait(lambda: _status(notification_id)[0] == "sending", 60, "the slow worker to claim the delivery")
    finally:
        stop(slow, signal.SIGKILL)  # the whole process group: worker and work horse, mid-delivery
    assert _status(notification_id) == ("sending", 1)
    assert not list(outbox.glob("email-*.eml"))

    rq_app.config["NOTIFY_LEASE_SECONDS"] = 2
    time.sleep(2.5)  # the dead worker's claim expires
    healthy = start_worker(rq_app, tmp_path, "w-healthy", NOTIFY_LEASE_SECONDS="2")
    try:
        from portal.notify.jobs import sweep
        assert sweep() == 1
        _wait(lambda: _status(notification_id)[0] == "sent", 60, "the retry to deliver")
        time.sleep(1)  # give any duplicate a chance to show up
    finally:
        stop(healthy)
    assert _status(notification_id) == ("sent", 2)
    assert [p.name for p in outbox.glob("email-*.eml")] == [f"email-{notification_id}.eml"]


def test_a_job_whose_worker_was_killed_is_taken_back_by_the_tick_and_done_once(rq_app, tmp_path):
    from portal.jobs import _alive, after_commit, owner, redrive
    from portal.models import Job
    flag = tmp_path / "go"
    after_commit("tests.durable_child.wait_for", str(flag))   # lasts until the flag file exists
    db.session.commit()

    def job():
        db.session.expire_all()
        return db.session.scalar(select(Job))
    first = start_worker(rq_app, tmp_path, "w-first")
    try:
        _wait(lambda: job().state == "running", 60, "the worker to claim the job")
        host, _, horse = job().owner.rpartition(":")
        assert host == owner().rpartition(":")[0]
        os.kill(int(horse), signal.SIGKILL)   # the work horse dies mid-job (it has a session of its own) ...
        _wait(lambda: not _alive(int(horse)), 30, "the work horse to die")
    finally:
        stop(first, signal.SIGKILL)           # ... and so does its worker
    flag.touch()
    second = start_worker(rq_app, tmp_path, "w-second")
    try:
        assert redrive() == 1         # the tick: the holder is dead, hand the job to RQ again
        _wait(lambda: job().state == "done", 60, "the second worker to finish the job")
        assert redrive() == 0
    finally:
        stop(second)
    assert job().attempts == 2


def test_a_hand_off_still_waiting_in_redis_is_not_handed_over_again(rq_app):
    """Behind a backlog longer than the lease, the tick must not pile repeat hand-offs on the queue."""
    from portal.jobs import after_commit, redis_connection, redrive, rq_queue
    from portal.models import Job
    after_commit("tests.durable_child.wait_for", "/nonexistent")
    db.session.commit()
    queue = rq_queue(rq_app, "portal-default")
    assert queue.count == 1
    db.session.execute(db.update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))   # the lease ran out
    db.session.commit()
    assert redrive() == 0 and queue.count == 1          # still waiting in the queue: left alone
    redis_connection(rq_app).flushall()                 # Redis restarted without its data
    db.session.execute(db.update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert redrive() == 1 and queue.count == 1          # lost: handed over again, once


def app_origin() -> tuple:
    """A job for the tests: which process built the app this job runs in, and which runs it."""
    from portal import worker
    return worker._built_by, os.getppid(), os.getpid()


def test_the_worker_builds_the_app_once_and_its_horses_inherit_it(rq_app, tmp_path):
    from rq import Queue
    from portal.jobs import redis_connection
    queue = Queue("portal-default", connection=redis_connection(rq_app))
    jobs = [queue.enqueue("portal.worker.run", "tests.test_rq.app_origin") for _ in range(3)]
    proc = start_worker(rq_app, tmp_path, "w-origin", queues=["portal-default"])
    try:
        _wait(lambda: all(j.get_status(refresh=True) == "finished" for j in jobs), 60, "the three jobs")
    finally:
        stop(proc)
    origins = [j.return_value() for j in jobs]
    assert {built for built, _, _ in origins} == {proc.pid}           # built once, in the worker process
    assert all(parent == proc.pid for _, parent, _ in origins)        # each job ran in a forked horse
    assert len({horse for _, _, horse in origins}) == 3 and proc.pid not in {h for _, _, h in origins}


def test_login_limits_are_shared_by_every_web_process_through_redis(rq_app, redis_url):
    """Two app instances (two gunicorn workers, or two machines) count failures in one Redis."""
    from tests.conftest import csrf_token
    rq_app.config.update(LOGIN_LIMIT_ACCOUNT="3 per 5 minutes")
    config = portal_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = rq_app.config["SQLALCHEMY_DATABASE_URI"]
    config.REDIS_URL = redis_url
    config.LOGIN_LIMIT_ACCOUNT = "3 per 5 minutes"
    other_process = create_app(config)
    assert rq_app.config["RATELIMIT_STORAGE_URI"] == redis_url

    def attempt(app):
        client = app.test_client()
        with app.app_context():
            return client.post("/login", data={"username": "clerk-x", "password": "wrong",
                                               "csrf_token": csrf_token(client)}).status_code

    try:
        assert [attempt(rq_app), attempt(other_process), attempt(rq_app)] == [200, 200, 200]
        assert attempt(other_process) == 429
    finally:
        with other_process.app_context():
            db.engine.dispose()  # its pooled PostgreSQL connection, else closed by the GC in a later test
    from redis import Redis
    with Redis.from_url(redis_url) as conn:
        assert conn.keys("LIMITS*"), "the counts live in Redis, not in process memory"


def test_doctor_sees_redis_the_workers_and_the_one_cron(rq_app, tmp_path):
    from portal.doctor import FAIL, OK, WARN, run_checks

    seen = {}

    def levels(topic):
        findings = [f for f in run_checks(rq_app) if f.topic == topic]
        seen[topic] = [f"{f.level}: {f.message}" for f in findings]
        return [f.level for f in findings]

    def logs(*names):
        return "\n".join(f"--- {name}\n" + (tmp_path / f"{name}.log").read_text(errors="replace")[-2000:]
                         for name in names if (tmp_path / f"{name}.log").exists())

    assert levels("redis") == [OK]
    assert levels("workers") == [FAIL, FAIL, FAIL], "one failure per queue nobody serves"
    assert levels("cron") == [FAIL]
    shared = start_worker(rq_app, tmp_path, "w-doctor-shared")
    try:
        _wait(lambda: levels("workers") == [WARN, OK], 120, "doctor to see one worker on every queue")
        # RQ registers a worker before it installs its signal handlers: a SIGTERM in between ends it
        # without unregistering (its key lives on until the TTL). Idle means it is in its loop, handlers in.
        _wait(lambda: _worker_state(rq_app, "w-doctor-shared") == "idle", 60, "the shared worker to be idle")
    finally:
        stop(shared)
    # the stopped worker unregisters itself: the doctor sees nobody before the Procfile's workers start
    try:
        _wait(lambda: levels("workers") == [FAIL, FAIL, FAIL], 60, "the shared worker to be gone")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; doctor said {seen}\n{logs('w-doctor-shared')}") from None
    workers = [start_worker(rq_app, tmp_path, f"w-doctor-{q}", queues=[q]) for q in QUEUES]  # as the Procfile
    log = open(tmp_path / "cron.log", "wb")
    cron = subprocess.Popen([str(VENV_BIN / "rq"), "cron", "portal.cron_config", "--url", rq_app.config["REDIS_URL"]],
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    cron.log_file = log
    try:
        # four processes import the portal at once: on a loaded 2-core machine that takes a while
        _wait(lambda: levels("workers") == [OK] and levels("cron") == [OK], 120, "doctor to see worker and cron")
    except AssertionError as exc:
        log.flush()
        raise AssertionError(f"{exc}; doctor said {seen}\n"
                             f"{logs('cron', *(f'w-doctor-{q}' for q in QUEUES))}") from None
    finally:
        stop(cron)
        for worker in workers:
            stop(worker)
    assert levels("workers") == [FAIL, FAIL, FAIL] and levels("cron") == [FAIL], "stopped processes are gone"
