"""Deadline jobs: the minute tick (scan + outbox sweep) and an immediate per-case check."""
from __future__ import annotations

from portal.jobs import enqueue_now


def tick() -> int:
    """Run by `rq cron` every minute (or the in-process ticker): scan, then sweep the outbox."""
    from portal.callbacks import jobs as callback_jobs
    from portal.notify.jobs import sweep
    from portal.sla.scan import scan
    from portal.timeutil import utcnow
    fired = len(scan())
    sweep()
    callback_jobs.tick(utcnow())
    return fired


def enqueue_tick() -> None:
    enqueue_now("portal.sla.jobs.tick", queue="portal-alerts")
