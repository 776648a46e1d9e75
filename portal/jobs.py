"""Background jobs: RQ on Redis when REDIS_URL is set, else an in-process runner.

Jobs are named by dotted path and take ids, never ORM objects. They are enqueued
only after the transaction that wants them commits (`after_commit`), so a job
never looks for a row that is not there yet. Every job is safe to run twice.
"""
from __future__ import annotations

import importlib
import logging
import queue as queue_mod
import threading
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

QUEUES = ("portal-alerts", "portal-notify", "portal-default")
_worker_app: Flask | None = None


def _call(path: str, args: tuple) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)(*args)


def run(path: str, *args) -> Any:
    """What RQ executes: build the app once per worker process, run the job in its context."""
    global _worker_app
    if _worker_app is None:
        from portal import create_app
        _worker_app = create_app()
    with _worker_app.app_context():
        return _call(path, args)


def _retry(app: Flask):
    from rq import Retry
    intervals = app.config["JOB_RETRY_INTERVALS"]
    return Retry(max=len(intervals), interval=list(intervals))


def redis_connection(app: Flask):
    from redis import Redis
    conn = app.extensions.get("portal_redis")
    if conn is None:
        conn = app.extensions["portal_redis"] = Redis.from_url(app.config["REDIS_URL"])
    return conn


def rq_queue(app: Flask, name: str):
    from rq import Queue
    return Queue(name, connection=redis_connection(app))


def enqueue_now(path: str, *args, queue: str = "portal-default") -> None:
    """Hand a job to RQ or to the in-process runner at once."""
    app = current_app._get_current_object()
    if app.config.get("REDIS_URL"):
        rq_queue(app, queue).enqueue(run, path, *args, retry=_retry(app),
                                     job_timeout=app.config["JOB_TIMEOUT"])
    else:
        runner = app.extensions.get("portal_runner")
        if runner is None:
            runner = app.extensions["portal_runner"] = InProcessRunner(app)
        runner.submit(path, args)


def after_commit(path: str, *args, queue: str = "portal-default") -> None:
    """Enqueue once the current transaction commits; dropped if it rolls back."""
    from portal.extensions import db
    db.session.info.setdefault("portal_jobs", []).append((path, args, queue))


@event.listens_for(Session, "after_commit")
def _flush_jobs(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released; the real commit is still to come
    jobs = session.info.pop("portal_jobs", None)
    if jobs and has_app_context():
        for path, args, queue in jobs:
            try:
                enqueue_now(path, *args, queue=queue)
            except Exception:  # the outbox sweep picks the work up later
                log.exception("could not enqueue %s", path)


@event.listens_for(Session, "after_soft_rollback")
def _drop_jobs(session: Session, previous_transaction) -> None:
    session.info.pop("portal_jobs", None)


class InProcessRunner:
    """Without Redis: one daemon thread runs jobs in order, each in a fresh app context.

    With `JOBS_SYNC` (tests) jobs run at once in the calling thread, still in their
    own app context, so a test sees their effect right after the commit.
    """

    def __init__(self, app: Flask):
        self.app = app
        self.sync = app.config.get("JOBS_SYNC", False)
        self.queue: queue_mod.Queue = queue_mod.Queue()
        self.thread: threading.Thread | None = None

    def submit(self, path: str, args: tuple) -> None:
        if self.sync:
            self._run(path, args)
            return
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._loop, name="portal-jobs", daemon=True)
            self.thread.start()
        self.queue.put((path, args))

    def _run(self, path: str, args: tuple) -> None:
        retries = list(self.app.config["JOB_RETRY_INTERVALS"]) if not self.sync else []
        while True:
            try:
                with self.app.app_context():
                    _call(path, args)
                return
            except Exception:
                log.exception("job %s%r failed", path, args)
                if not retries:
                    return
                threading.Event().wait(min(retries.pop(0), 5))

    def _loop(self) -> None:
        while True:
            path, args = self.queue.get()
            self._run(path, args)


def start_ticker(app: Flask) -> threading.Thread | None:
    """Without Redis, run the deadline scan and outbox sweep every `scan_seconds` in-process."""
    if app.config.get("REDIS_URL") or not app.config.get("JOBS_TICKER"):
        return None

    def loop() -> None:
        stop = threading.Event()
        while True:
            seconds = 60
            try:
                with app.app_context():
                    from portal import settings
                    from portal.sla.jobs import tick
                    tick()
                    seconds = settings.get("scan_seconds")
            except Exception:
                log.exception("deadline scan failed")
            stop.wait(seconds)

    thread = threading.Thread(target=loop, name="portal-ticker", daemon=True)
    thread.start()
    return thread
