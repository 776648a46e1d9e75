"""Callbacks 回访 (SPEC §6): tasks, the record of every attempt, promises, plans, works."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean, Date, Enum, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import UTCDateTime, db, enum_column
from portal.models.cases import Case
from portal.models.people import Building, Role, Unit, User
from portal.timeutil import utcnow


_enum = enum_column


class CallbackKind(str, enum.Enum):
    COMPLAINT = "complaint"
    REPAIR = "repair"
    WORKS = "works"
    ROUTINE = "routine"
    NEW_RESIDENT = "new_resident"
    MANAGER_VISIT = "manager_visit"
    INCIDENT = "incident"


class TaskStatus(str, enum.Enum):
    PLANNED = "planned"  # in a draft monthly plan, not yet in the queue
    PENDING = "pending"
    DONE = "done"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"


class Method(str, enum.Enum):
    PHONE = "phone"
    VISIT = "visit"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"
    ONLINE = "online"


class Satisfaction(str, enum.Enum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    NEUTRAL = "neutral"
    DISSATISFIED = "dissatisfied"


class PlanStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"


class CallbackTask(db.Model):
    """One callback that is owed: to a case's resident or to a household from a plan or works."""

    __tablename__ = "callback_task"
    __table_args__ = (
        # One task per case, kind and resolution round (reopen_count at creation): jobs may run twice.
        UniqueConstraint("case_id", "kind", "round", name="uq_callback_task_case_kind_round"),
        Index("ix_callback_task_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CallbackKind] = mapped_column(_enum(CallbackKind), index=True)
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), index=True, default=TaskStatus.PENDING)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=0)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # Major complaints go to the managers, the rest to the clerks' pool.
    assignee_role: Mapped[Role] = mapped_column(_enum(Role), default=Role.CLERK, index=True)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    reason: Mapped[str] = mapped_column(String(30), default="")  # why this task exists (code)
    reason_detail: Mapped[str] = mapped_column(String(200), default="")  # the draw, for audit
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(20), default="")
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("callback_plan.id"), index=True)
    work_id: Mapped[int | None] = mapped_column(ForeignKey("maintenance_work.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    resident: Mapped[User | None] = relationship()
    records: Mapped[list[CallbackRecord]] = relationship(
        order_by="CallbackRecord.id", viewonly=True)

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.PENDING


class CallbackRecord(db.Model):
    """One attempt or answer, reached or not (append-only)."""

    __tablename__ = "callback_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("callback_task.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    method: Mapped[Method] = mapped_column(_enum(Method))
    reached: Mapped[bool] = mapped_column(Boolean)
    satisfaction: Mapped[Satisfaction | None] = mapped_column(_enum(Satisfaction), index=True)
    quality_rating: Mapped[int | None] = mapped_column(SmallInteger)  # 1–5
    effect_rating: Mapped[int | None] = mapped_column(SmallInteger)  # 1–5
    shortcomings: Mapped[str] = mapped_column(Text, default="")
    suggestions: Mapped[str] = mapped_column(Text, default="")
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)  # the resident confirmed the record
    note: Mapped[str] = mapped_column(Text, default="")
    # Second reopening of the case through a dissatisfied callback: to be escalated.
    escalate: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # Where an online answer came from (the survey form): the client's address and browser.
    client_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    task: Mapped[CallbackTask] = relationship()
    caller: Mapped[User | None] = relationship()


class CallbackPromise(db.Model):
    """A question the caller could not answer on the spot: a deadline on the case."""

    __tablename__ = "callback_promise"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("callback_task.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("callback_record.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    answer: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case | None] = relationship()
    task: Mapped[CallbackTask] = relationship()


class SampleSeed(db.Model):
    """The per-month secret behind the repair draw, shown with every drawn task for audit."""

    __tablename__ = "callback_seed"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    seed: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CallbackPlan(db.Model):
    """A month's planned callbacks; its tasks enter the queue when a manager publishes it."""

    __tablename__ = "callback_plan"
    __table_args__ = (UniqueConstraint("year", "month", name="uq_callback_plan_year_month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    status: Mapped[PlanStatus] = mapped_column(_enum(PlanStatus), default=PlanStatus.DRAFT, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)

    tasks: Mapped[list[CallbackTask]] = relationship(
        order_by="(CallbackTask.due_at, CallbackTask.id)", viewonly=True)


work_building = db.Table(
    "maintenance_work_building",
    db.Column("work_id", ForeignKey("maintenance_work.id"), primary_key=True),
    db.Column("building_id", ForeignKey("building.id"), primary_key=True, index=True),
)


class MaintenanceWork(db.Model):
    """Maintenance works 维修工程 on whole buildings; their units are sampled for callbacks."""

    __tablename__ = "maintenance_work"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    completed_on: Mapped[date] = mapped_column(Date, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    buildings: Mapped[list[Building]] = relationship(secondary=work_building, order_by="Building.id")


def _guard() -> None:
    """Callback records are kept like case events: never updated or deleted."""
    from sqlalchemy import event

    from portal.models.guards import _refuse_delete, _refuse_update
    for model in (CallbackTask, CallbackRecord, CallbackPromise, CallbackPlan, MaintenanceWork):
        event.listen(model, "before_delete", _refuse_delete)
    event.listen(CallbackRecord, "before_update", _refuse_update)


_guard()
