"""The monthly analysis report (SPEC §7): improvement actions and generated report runs."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import UTCDateTime, db, enum_column
from portal.models.people import Estate, User
from portal.timeutil import utcnow


_enum = enum_column


class ActionStatus(str, enum.Enum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class ImprovementAction(db.Model):
    """A manager's improvement action for a month's report, followed up the next month."""

    __tablename__ = "improvement_action"
    __table_args__ = (Index("ix_improvement_action_month_estate", "month", "estate_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # "2026-11": the report it was written for
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)  # None: all sites
    problem: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(100), default="")
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(_enum(ActionStatus), default=ActionStatus.PLANNED, index=True)
    follow_up: Mapped[str] = mapped_column(Text, default="")
    # Shown (as text only) on the residents' disclosure page once done.
    disclose: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    estate: Mapped[Estate | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class RunStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReportRun(db.Model):
    """One generation of a month's report: progress while the job runs, then the figures."""

    __tablename__ = "report_run"
    __table_args__ = (Index("ix_report_run_month_estate", "month", "estate_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    status: Mapped[RunStatus] = mapped_column(_enum(RunStatus), default=RunStatus.QUEUED, index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[int] = mapped_column(Integer, default=1)
    snapshot: Mapped[str] = mapped_column(Text, default="")  # JSON of the figures and lists
    error: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    estate: Mapped[Estate | None] = relationship()

    @property
    def percent(self) -> int:
        return 100 if self.status == RunStatus.DONE else int(100 * self.step / max(1, self.steps))


class MonthFigure(db.Model):
    """A finished month's trend figures for one site (estate_id 0: the whole company), kept once computed.

    portal.reports.monthly fills it and deletes a month's rows when a write changes its figures; a
    running resolution clock that falls due changes them with no write: the row is stale from `stale_at`."""

    __tablename__ = "month_figure"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    estate_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cases: Mapped[int] = mapped_column(Integer)
    resolution_ok: Mapped[int] = mapped_column(Integer)
    resolution_late: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    stale_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
