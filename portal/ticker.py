"""Without Redis, the serving process runs jobs on a thread and the minute tick on another."""
from __future__ import annotations

import logging
import sys
import threading

import click
from flask import Flask
from flask.helpers import get_debug_flag
from werkzeug.serving import is_running_from_reloader

from portal import settings
from portal.extensions import db
from portal.jobs import InProcessRunner, call, redrive, runner

log = logging.getLogger(__name__)

TICK = "portal.schedule.tick"


def serving() -> bool:
    """Is this process a web server (gunicorn, `flask run`), not a CLI command, worker or test?"""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:  # under the flask command: only `flask run`, and not its reloader's watcher
        if ctx.command.name != "run":
            return False
        reload = ctx.params.get("reload")
        return not (reload or (reload is None and get_debug_flag())) or is_running_from_reloader()
    return "gunicorn.app.base" in sys.modules


def start_background(app: Flask) -> threading.Thread | None:
    """Without Redis, a serving process runs its jobs on a thread and (JOBS_TICKER) the minute tick on another."""
    if app.config.get("REDIS_URL"):
        return None
    app.extensions["portal_runner"] = InProcessRunner(app, threaded=True)
    if not app.config.get("JOBS_TICKER"):
        return None
    stop = app.extensions["portal_ticker_stop"] = threading.Event()

    def loop() -> None:
        first = True
        while not stop.is_set():
            seconds = 60
            try:
                with app.app_context():
                    if first:
                        redrive(startup=True)
                        first = False
                    call(TICK, ())
                    seconds = settings.get("scan_seconds")
            except Exception:
                log.exception("the minute tick failed")
            stop.wait(seconds)

    thread = threading.Thread(target=loop, name="portal-ticker", daemon=True)
    thread.start()
    app.extensions["portal_ticker"] = thread
    return thread


def stop_background(app: Flask) -> None:
    """End the ticker and the runner thread and close their database connections (tests)."""
    if "portal_ticker_stop" in app.extensions:
        app.extensions["portal_ticker_stop"].set()
        app.extensions["portal_ticker"].join(30)
    runner(app).stop()
    with app.app_context():
        db.engine.dispose()
