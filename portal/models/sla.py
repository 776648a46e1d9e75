"""Working-day calendar overrides, service-level rules, per-case deadlines and alerts."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import UTCDateTime, db
from portal.timeutil import utcnow


class CalendarDay(db.Model):
    """A manager-entered day of a year's official schedule (holiday or make-up working day).

    A year with any row here is fully manager-defined and overrides the library.
    """

    __tablename__ = "calendar_day"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(50), default="")


class SlaRule(db.Model):
    """A manager's override of one default service level (kind, severity, clock)."""

    __tablename__ = "sla_rule"
    __table_args__ = (UniqueConstraint("estate_id", "kind", "severity", "clock", name="uq_sla_rule_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL: the company's level; else the estate's override of it.
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))  # "" = not yet classified
    clock: Mapped[str] = mapped_column(String(20))
    amount: Mapped[float | None] = mapped_column(Float)  # None: this clock does not run
    unit: Mapped[str] = mapped_column(String(15))


class Deadline(db.Model):
    """One running clock of a case: its budget, pauses, thresholds and the next check time.

    `next_check_at` is the only column the scan reads: the time of the next threshold
    (reminder, due, level 2) still to fire, NULL once met, paused or finished.
    """

    __tablename__ = "deadline"
    __table_args__ = (
        UniqueConstraint("case_id", "clock", "round", name="uq_deadline_case_clock_round"),
        Index("ix_deadline_next_check_at", "next_check_at"),
        # Covering index for on-time figures joined from the month's cases.
        Index("ix_deadline_figures", "case_id", "clock", "cancelled", "met_at", "due_at", "segment_start"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    clock: Mapped[str] = mapped_column(String(20))
    round: Mapped[int] = mapped_column(Integer, default=0)
    metric: Mapped[str] = mapped_column(String(10))  # "clock" or "work" seconds
    budget_seconds: Mapped[float] = mapped_column(Float)
    spent_seconds: Mapped[float] = mapped_column(Float, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    segment_start: Mapped[datetime | None] = mapped_column(UTCDateTime())  # NULL while paused
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_seconds: Mapped[float] = mapped_column(Float, default=0)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    level2_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)  # stopped because it no longer applies
    stage: Mapped[int] = mapped_column(Integer, default=0)  # 0 new, 1 reminded, 2 overdue, 3 level 2
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    case = relationship("Case", back_populates="deadlines")

    @property
    def running(self) -> bool:
        return self.met_at is None and self.segment_start is not None


class Alert(db.Model):
    """A reminder (level 0) or escalation (level 1 manager, 2 site manager), fired once.

    The unique key makes the scan idempotent: a second scan, or a racing worker,
    inserts nothing and so notifies nobody.
    """

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("case_id", "rule", "level", "round", name="uq_alert_key"),
        Index("ix_alert_level_open", "level", "acknowledged_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    rule: Mapped[str] = mapped_column(String(30))
    level: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    case = relationship("Case")
    acknowledged_by = relationship("User")
