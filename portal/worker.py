"""What RQ workers execute, and the worker class that builds the app once per worker process.

RQ's default `Worker` forks a work horse for every job. Built lazily, the app would be
built again in every horse (a second or more of imports, config and blueprints before a
one-row delivery). `PortalWorker` builds it in the worker process before the first fork,
so every horse inherits it ready; the horse still isolates each job (a crash, a leak or a
hung job ends with its horse). `bench/deliveries.py` measures it against RQ's
`SpawnWorker` and `SimpleWorker`; docs/benchmarks.md has the figures.

    rq worker -w portal.worker.PortalWorker --with-scheduler --url $REDIS_URL portal-notify
"""
from __future__ import annotations

import os
from typing import Any

from flask import Flask
from rq import Worker

from portal import create_app
from portal.jobs import call

_app: Flask | None = None
_built_by: int | None = None  # the pid that built `_app` (a horse's parent, under PortalWorker)
_built_in: int | None = None  # the pid whose connections `_app` holds


def app() -> Flask:
    """This process's app, built on first use (a forked horse inherits its parent's)."""
    global _app, _built_by, _built_in
    if _app is None:
        _app = create_app()
        _built_by = _built_in = os.getpid()
    return _app


def run(path: str, *args) -> Any:
    """Run the dotted path `path` with `args` in this worker's app."""
    built = app()
    if _built_in != os.getpid():
        _forget_inherited_connections(built)
    with built.app_context():
        return call(path, args)


def _forget_inherited_connections(built: Flask) -> None:
    """In a forked horse: never reuse the parent's sockets (database pool, Redis client)."""
    global _built_in
    from portal.extensions import db
    with built.app_context():
        db.engine.dispose(close=False)  # drop the inherited pool without closing the parent's connections
    built.extensions.pop("portal_redis", None)
    _built_in = os.getpid()


class PortalWorker(Worker):
    """RQ's forking worker with the portal's app built in the worker process before any fork."""

    def bootstrap(self, *args, **kwargs):
        built = app()
        from portal.extensions import db
        with built.app_context():
            db.engine.dispose()  # nothing held across the fork: each horse opens its own connection
        return super().bootstrap(*args, **kwargs)
