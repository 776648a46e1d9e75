"""Background jobs as rows: written in the transaction that wants them, so none is lost."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import UTCDateTime, db
from portal.timeutil import utcnow


class Job(db.Model):
    """One queued call of a dotted path with JSON arguments (see docs/jobs.md).

    `lease_until`: while queued, until when the transport that was handed the job may
    start it; while running, until when its runner is presumed alive. `owner` is the
    runner's host:pid, so a restart on the same host recovers a dead runner's jobs at once.
    """

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_state_run_after", "state", "run_after"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(200))
    args: Mapped[str] = mapped_column(Text, default="[]")
    queue: Mapped[str] = mapped_column(String(40), default="portal-default")
    state: Mapped[str] = mapped_column(String(10), default="queued")  # queued, running, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    owner: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
