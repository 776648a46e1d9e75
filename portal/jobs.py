"""Background jobs: rows in the `job` table, run by RQ workers (REDIS_URL) or in this process.

A job is a dotted path and JSON arguments (ids, never ORM objects). `after_commit` writes
its row in the caller's transaction and hands it to the transport once that commits, so a
rollback drops it and a crash cannot lose it; `redrive` (a part of the minute tick) hands
over again what a dead process or a lost hand-off left behind. `execute` claims the row
before running it, so a job runs once at a time and never again once done. This module
names no area: what runs every minute is listed in `portal.schedule`, run by
`portal.ticker` without Redis. See docs/jobs.md.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import queue as queue_mod
import socket
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import and_, delete, event, insert, or_, select, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models.jobs import Job
from portal.timeutil import utcnow

if TYPE_CHECKING:  # redis and rq are imported where used: a process without REDIS_URL never loads them (~7 MB)
    from redis import Redis
    from rq import Queue

log = logging.getLogger(__name__)

QUEUES = ("portal-alerts", "portal-notify", "portal-default")
WORKER_ENTRY = "portal.worker.run"  # what RQ executes: builds the app once per worker process


def call(path: str, args) -> Any:
    """Import `path` (module.function) and call it with `args`."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)(*args)


def owner() -> str:
    """This process, as recorded on the jobs it holds (host:pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _lease(app: Flask) -> timedelta:
    return timedelta(seconds=app.config["JOB_LEASE_SECONDS"])


def after_commit(path: str, *args, queue: str = "portal-default") -> None:
    """Queue a job in the current transaction; it is handed over once that commits."""
    app = current_app._get_current_object()
    now = utcnow()
    job_id = db.session.execute(insert(Job).values(
        path=path, args=json.dumps(list(args)), queue=queue, state="queued", attempts=0, run_after=now,
        lease_until=now + _lease(app), owner="" if app.config.get("REDIS_URL") else owner(),
        created_at=now, last_error="").returning(Job.id)).scalar_one()
    db.session.info.setdefault("portal_jobs", []).append((job_id, queue))


@event.listens_for(Session, "after_commit")
def _hand_over_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released; the real commit is still to come
    handed = session.info.pop("portal_jobs", None)
    if handed and has_app_context():
        for job_id, queue in handed:
            hand_over(job_id, queue)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction) -> None:
    session.info.pop("portal_jobs", None)  # their rows went with the transaction


def rq_id(job_id: int) -> str:
    """The RQ job that carries a job row: one id per row, so a hand-off still waiting is seen."""
    return f"portal-job-{job_id}"


def hand_over(job_id: int, queue: str) -> None:
    """Give a job row to the transport; a lost hand-off is made good by `redrive`."""
    try:
        enqueue_now("portal.jobs.execute", job_id, queue=queue, retry=False, rq_job_id=rq_id(job_id))
    except Exception:
        log.exception("could not hand over job %s; the tick will", job_id)


def enqueue_now(path: str, *args, queue: str = "portal-default", retry: bool = True,
                rq_job_id: str | None = None) -> None:
    """Hand a call to RQ or to this process's runner, without a row (for work the tick re-derives)."""
    app = current_app._get_current_object()
    if app.config.get("REDIS_URL"):
        from rq import Retry
        intervals = app.config["JOB_RETRY_INTERVALS"]
        rq_queue(app, queue).enqueue(WORKER_ENTRY, path, *args, job_timeout=app.config["JOB_TIMEOUT"],
                                     retry=Retry(max=len(intervals), interval=list(intervals)) if retry else None,
                                     job_id=rq_job_id)
    else:
        runner(app).submit(path, args)


def _still_waiting(app: Flask, job_ids: list[int]) -> set[int]:
    """Rows whose hand-off still waits in RQ (queued or scheduled): handing them over again
    would only lengthen the queue they wait in. A Redis that lost its data holds none."""
    if not app.config.get("REDIS_URL") or not job_ids:
        return set()
    from rq.job import Job as RqJob
    try:
        found = RqJob.fetch_many([rq_id(i) for i in job_ids], connection=redis_connection(app))
    except Exception:  # Redis is down: the hand-off fails too and is logged; the next tick tries again
        return set()
    return {i for i, job in zip(job_ids, found) if job is not None
            and job.get_status(refresh=False) in ("queued", "scheduled", "deferred")}


def redis_connection(app: Flask) -> Redis:
    """One Redis client per app."""
    conn = app.extensions.get("portal_redis")
    if conn is None:
        from redis import Redis
        conn = app.extensions["portal_redis"] = Redis.from_url(app.config["REDIS_URL"])
    return conn


def rq_queue(app: Flask, name: str) -> Queue:
    from rq import Queue
    return Queue(name, connection=redis_connection(app))


def _claimable(now: datetime):
    return and_(Job.state == "queued", Job.run_after <= now)


def execute(job_id: int) -> str:
    """Claim a job row, run it, record the outcome; returns the job's state afterwards."""
    app = current_app._get_current_object()
    now = utcnow()
    claimed = db.session.execute(
        update(Job).where(Job.id == job_id, _claimable(now))
        .values(state="running", attempts=Job.attempts + 1, lease_until=now + _lease(app), owner=owner())
        .returning(Job.path, Job.args, Job.attempts).execution_options(synchronize_session=False)).first()
    db.session.commit()
    if claimed is None:
        return "skipped"  # done, running elsewhere, not yet due, or never committed
    path, args, attempts = claimed
    try:
        call(path, json.loads(args))
    except Exception as exc:
        db.session.rollback()
        log.exception("job %s %s%s failed (attempt %s)", job_id, path, args, attempts)
        return _failed(app, job_id, attempts, exc)
    db.session.execute(update(Job).where(Job.id == job_id).values(
        state="done", finished_at=utcnow(), lease_until=None, last_error="")
        .execution_options(synchronize_session=False))
    db.session.commit()
    return "done"


def _failed(app: Flask, job_id: int, attempts: int, exc: Exception) -> str:
    intervals = app.config["JOB_RETRY_INTERVALS"]
    state = "queued" if attempts <= len(intervals) else "failed"
    delay = timedelta(seconds=intervals[attempts - 1]) if state == "queued" else timedelta(0)
    db.session.execute(update(Job).where(Job.id == job_id).values(
        state=state, run_after=utcnow() + delay, lease_until=None, owner="", last_error=repr(exc)[:500])
        .execution_options(synchronize_session=False))
    db.session.commit()
    return state


def _dead_owners(owners) -> list[str]:
    """Owners on this host whose process is gone (their jobs can be taken at once)."""
    host, dead = socket.gethostname(), []
    for name in owners:
        where, _, pid = name.rpartition(":")
        if where == host and pid.isdigit() and not _alive(int(pid)):
            dead.append(name)
    return dead


def _alive(pid: int) -> bool:
    """Does `pid` run? A zombie (killed, not yet reaped by a parent that died too) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def redrive(at: datetime | None = None, startup: bool = False, limit: int = 500) -> int:
    """Take back dead or expired holds and hand due jobs over again; returns how many were handed."""
    app = current_app._get_current_object()
    now = at or utcnow()
    held = db.session.scalars(select(Job.owner).distinct().where(
        Job.state.in_(("queued", "running")), Job.owner != "")).all()
    free = or_(Job.owner.in_(_dead_owners(held)), Job.lease_until < now, Job.lease_until.is_(None))
    if startup and not app.config.get("REDIS_URL"):
        free = or_(free, Job.state == "queued")  # what this server's last life held is gone
    db.session.execute(update(Job).where(Job.state.in_(("queued", "running")), free)
                       .values(state="queued", lease_until=None, owner="")
                       .execution_options(synchronize_session=False))
    due = db.session.execute(select(Job.id, Job.queue).where(_claimable(now), Job.lease_until.is_(None))
                             .order_by(Job.id).limit(limit)).all()
    waiting = _still_waiting(app, [d.id for d in due])
    due = [d for d in due if d.id not in waiting]
    if due:
        db.session.execute(update(Job).where(Job.id.in_([d.id for d in due])).values(
            lease_until=now + _lease(app), owner="" if app.config.get("REDIS_URL") else owner())
            .execution_options(synchronize_session=False))
    db.session.commit()
    for job_id, queue in due:
        hand_over(job_id, queue)
    return len(due)


def prune(at: datetime | None = None) -> int:
    """Forget jobs done more than JOB_KEEP_DAYS ago (failed ones stay for a manager to see)."""
    before = (at or utcnow()) - timedelta(days=current_app.config["JOB_KEEP_DAYS"])
    result = db.session.execute(delete(Job).where(Job.state == "done", Job.finished_at < before)
                                .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


class InProcessRunner:
    """Without Redis: in a serving process one daemon thread runs calls in order, each in
    a fresh app context; elsewhere (CLI commands, tests) they run at once in the caller's
    thread, so a command's work is done before it returns.
    """

    def __init__(self, app: Flask, threaded: bool = False):
        self.app = app
        self.threaded = threaded and not app.config.get("JOBS_SYNC", False)
        self.queue: queue_mod.Queue = queue_mod.Queue()
        self.thread: threading.Thread | None = None

    def submit(self, path: str, args: tuple) -> None:
        if not self.threaded:
            self._run(path, args)
            return
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._loop, name="portal-jobs", daemon=True)
            self.thread.start()
        self.queue.put((path, args))

    def _run(self, path: str, args: tuple) -> None:
        try:
            with self.app.app_context():
                call(path, args)
        except Exception:  # a job row keeps its own retries; other calls the tick re-derives
            log.exception("job %s%r failed", path, args)

    def _loop(self) -> None:
        while (item := self.queue.get()) is not None:
            self._run(*item)

    def stop(self) -> None:
        """Let the thread finish what it holds, then end (tests; a server just exits)."""
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join(30)


def runner(app: Flask) -> InProcessRunner:
    """This process's in-process runner (synchronous unless `start_background` made it threaded)."""
    found = app.extensions.get("portal_runner")
    if found is None:
        found = app.extensions["portal_runner"] = InProcessRunner(app)
    return found
