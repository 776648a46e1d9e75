"""The minute tick: every periodic part of the portal, in order (run by `rq cron` or the in-process ticker)."""
from __future__ import annotations

import logging
from datetime import datetime

from portal import jobs
from portal.callbacks import jobs as callback_jobs
from portal.extensions import db
from portal.notify import jobs as notify_jobs
from portal.reports import jobs as report_jobs
from portal.sla import scan
from portal.timeutil import utcnow

log = logging.getLogger(__name__)


def deadline_scan(at: datetime) -> None:
    """Fire the reminders and escalations due by `at`."""
    scan.scan(at)


def outbox_sweep(at: datetime) -> None:
    """Hand pending deliveries (lost or stuck past their lease) to the runner again."""
    notify_jobs.sweep(at=at)


PARTS = (
    deadline_scan,
    outbox_sweep,
    callback_jobs.tick,         # callback tasks never created, next month's draft plan
    report_jobs.fail_stalled,   # report runs whose generation died for good
    jobs.redrive,               # queued jobs a dead process held or a hand-off lost
    jobs.prune,                 # done jobs older than a week
)


def tick(at: datetime | None = None) -> None:
    """Run every part once at `at` (default now); a failing part does not stop the others."""
    at = at or utcnow()
    for part in PARTS:
        try:
            part(at)
        except Exception:
            db.session.rollback()
            log.exception("tick part %s failed", part.__name__)
