"""`flask --app app doctor`: is this installation fit to run? Plain answers, one line each.

Every check returns Findings; `fail` means the portal will misbehave (exit status 1),
`warn` means it runs but something needs a person's attention.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

OK, WARN, FAIL = "ok", "warn", "fail"
HEARTBEAT_STALE_SECONDS = 120


@dataclass(frozen=True)
class Finding:
    level: str
    topic: str
    message: str


def check_config(app: Flask) -> list[Finding]:
    c = app.config
    production = c["ENV_NAME"] == "production"
    out = [Finding(OK, "config", f"PORTAL_ENV={c['ENV_NAME']}")]
    from portal.config import KEY_COMMAND, secret_key_problem
    key_problem = secret_key_problem(c.get("SECRET_KEY"))
    if key_problem:
        out.append(Finding(FAIL if production else WARN, "config",
                           f"SECRET_KEY {key_problem}: anyone who knows it can forge a manager's session; "
                           f"generate one with {KEY_COMMAND}"))
    else:
        out.append(Finding(OK, "config", "SECRET_KEY is long and random enough"))
    uri = c["SQLALCHEMY_DATABASE_URI"]
    if production and not uri.startswith("postgresql"):
        out.append(Finding(FAIL, "config", "DATABASE_URL is not PostgreSQL; production needs "
                                           "postgresql+psycopg://user:password@host/db"))
    if production and not c.get("REDIS_URL"):
        out.append(Finding(FAIL, "config", "REDIS_URL is not set: every web process would run its own job "
                                           "thread; set REDIS_URL and run `rq worker` and one `rq cron`"))
    if production and not c.get("PROXY_COUNT"):
        out.append(Finding(WARN, "config", "PROXY_COUNT=0: behind nginx set PROXY_COUNT=1, or every client "
                                           "shares nginx's address for login rate limits"))
    if production and c.get("SELF_RESET") and not c.get("PORTAL_URL"):
        out.append(Finding(WARN, "config", "PORTAL_URL is not set: reset links in e-mails use the address the "
                                           "request came in on; set PORTAL_URL=https://your-portal"))
    if production and c.get("MAIL_BACKEND") != "smtp":
        out.append(Finding(WARN, "config", f"MAIL_BACKEND={c.get('MAIL_BACKEND')}: e-mail is written to "
                                           f"{c['OUTBOX_DIR']}, not sent; set MAIL_BACKEND=smtp and SMTP_HOST"))
    if c.get("MAIL_BACKEND") not in ("file", "console", "smtp"):
        out.append(Finding(FAIL, "config", f"MAIL_BACKEND={c.get('MAIL_BACKEND')!r}: use file, console or smtp"))
    try:
        from zoneinfo import ZoneInfo
        ZoneInfo(c["TIMEZONE"])
    except Exception:
        out.append(Finding(FAIL, "config", f"PORTAL_TIMEZONE={c['TIMEZONE']!r} is not a known time zone"))
    out += _check_dir(app, "UPLOAD_DIR", public_forbidden=True)
    if "file" in (c.get("MAIL_BACKEND"), c.get("SMS_BACKEND")):
        out += _check_dir(app, "OUTBOX_DIR")
    return out


def _check_dir(app: Flask, key: str, public_forbidden: bool = False) -> list[Finding]:
    path = Path(app.config[key]).resolve()
    static = Path(app.static_folder).resolve()
    if public_forbidden and (path == static or static in path.parents):
        return [Finding(FAIL, "config", f"{key}={path} is under static/: uploads would bypass the access check")]
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".doctor-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return [Finding(FAIL, "config", f"{key}={path} is not writable: {exc.strerror or exc}")]
    return [Finding(OK, "config", f"{key}={path} is writable")]


def check_database(app: Flask) -> list[Finding]:
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from portal.extensions import db, init_migrations
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        return [Finding(FAIL, "database", f"cannot connect to {db.engine.url.render_as_string()}: "
                                          f"{type(exc).__name__}: {str(exc).splitlines()[0]}")]
    directory = init_migrations(app).directory
    heads = set(ScriptDirectory(directory).get_heads())
    where = f"{db.engine.url.get_backend_name()} {db.engine.url.database or ''}".strip()
    if not current:
        return [Finding(FAIL, "database", f"{where} has no schema revision: run `flask --app app db upgrade`")]
    if current != heads:
        return [Finding(FAIL, "database", f"{where} is at revision {', '.join(sorted(current))}, code needs "
                                          f"{', '.join(sorted(heads))}: run `flask --app app db upgrade`")]
    return [Finding(OK, "database", f"{where} at revision {', '.join(sorted(current))} (latest)")]


def check_jobs(app: Flask) -> list[Finding]:
    if not app.config.get("REDIS_URL"):
        ticker = "an in-process ticker thread" if app.config.get("JOBS_TICKER") else "nothing (JOBS_TICKER off)"
        return [Finding(OK, "jobs", f"no REDIS_URL: jobs run in the web process, scans by {ticker} "
                                    "(development only)")]
    from portal.jobs import QUEUES, redis_connection
    conn = redis_connection(app)
    try:
        conn.ping()
    except Exception as exc:
        return [Finding(FAIL, "redis", f"cannot reach {app.config['REDIS_URL']}: {exc}")]
    out = [Finding(OK, "redis", f"{app.config['REDIS_URL']} answers")]
    from rq import Worker
    from rq.cron import CronScheduler

    now = time.time()

    def fresh(moment) -> bool:
        return moment is not None and now - moment.timestamp() <= HEARTBEAT_STALE_SECONDS

    workers = [w for w in Worker.all(connection=conn) if fresh(w.last_heartbeat)]
    served = {name for w in workers for name in w.queue_names()}
    for queue in QUEUES:
        if queue not in served:
            out.append(Finding(FAIL, "workers", f"no live `rq worker` listens on {queue}: start "
                                                f"`rq worker -w portal.worker.PortalWorker --with-scheduler {queue}` "
                                                f"(the Procfile's worker-{queue.removeprefix('portal-')})"))
    shared = sorted({w.name for w in workers if len(set(w.queue_names()) & set(QUEUES)) > 1})
    if shared:
        out.append(Finding(WARN, "workers", f"worker(s) {', '.join(shared)} serve several queues: a backlog in "
                                            "one (e.g. notifications) delays the others; run one worker per "
                                            "queue as the Procfile does"))
    if served >= set(QUEUES):
        out.append(Finding(OK, "workers", f"{len(workers)} live worker(s) on {', '.join(QUEUES)}"))
    crons = [s for s in CronScheduler.all(conn) if fresh(s.last_heartbeat)]
    if not crons:
        out.append(Finding(FAIL, "cron", "no live `rq cron portal.cron_config`: deadlines are not being "
                                         "scanned; run exactly one"))
    elif len(crons) > 1:
        out.append(Finding(WARN, "cron", f"{len(crons)} `rq cron` processes are live: run exactly one "
                                         "(each enqueues the minute scan)"))
    else:
        out.append(Finding(OK, "cron", f"`rq cron` {crons[0].name} is live"))
    return out


def check_calendar(app: Flask) -> list[Finding]:
    from portal.sla.calendar import load, missing_years
    from portal.timeutil import local_now
    try:
        cal = load()
        missing = missing_years(local_now().date(), cal)
    except Exception as exc:
        return [Finding(FAIL, "calendar", f"cannot read the working-day calendar: {str(exc).splitlines()[0]}")]
    years = sorted({y for y in range(2004, local_now().year + 2) if cal.source(y) != "weekends"})
    have = f"data for {years[0]}–{years[-1]}" if years else "no holiday data"
    if missing:
        return [Finding(WARN, "calendar", f"{have}; no official holidays for {', '.join(map(str, missing))}: "
                                          "deadlines count weekends only until a manager enters the schedule "
                                          "at /admin/calendar")]
    return [Finding(OK, "calendar", have)]


CHECKS = (check_config, check_database, check_jobs, check_calendar)


def run_checks(app: Flask | None = None) -> list[Finding]:
    app = app or current_app._get_current_object()
    findings: list[Finding] = []
    for check in CHECKS:
        if check is check_calendar and any(f.topic == "database" and f.level == FAIL for f in findings):
            findings.append(Finding(WARN, "calendar", "not checked: the database is not ready"))
            continue
        try:
            findings += check(app)
        except Exception as exc:  # a broken check must not hide the others
            findings.append(Finding(FAIL, check.__name__.removeprefix("check_"), f"check crashed: {exc!r}"))
    return findings
