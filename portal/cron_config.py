"""`rq cron portal.cron_config` — run exactly ONE of these (RQ's cron has no lock).

An interval, not a cron string: cron strings are UTC in rq 2.x but local time in
rq 3.x (pinned: rq==3.0.0), and the tick does not care about the wall clock.
"""
from rq import cron

from portal.ticker import TICK
from portal.worker import run

cron.register(run, queue_name="portal-alerts", args=(TICK,), interval=60, job_timeout=300, name="sla-tick")
