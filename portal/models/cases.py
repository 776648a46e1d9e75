"""Cases, their append-only event log and attachments."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON, Boolean, Date, Enum, Float, ForeignKey, Index, Integer, String, Text, func, literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import UTCDateTime, db, enum_column
from portal.models.people import Category, Department, Unit, User
from portal.timeutil import utcnow


_enum = enum_column


class Kind(str, enum.Enum):
    COMPLAINT = "complaint"
    REPAIR = "repair"
    ENQUIRY = "enquiry"
    SUGGESTION = "suggestion"


# Prefixes read over the phone: 投诉 TS, 报修 BX, 咨询 ZX, 建议 JY.
KIND_PREFIX = {Kind.COMPLAINT: "TS", Kind.REPAIR: "BX", Kind.ENQUIRY: "ZX", Kind.SUGGESTION: "JY"}


class Channel(str, enum.Enum):
    PHONE = "phone"
    WALK_IN = "walk_in"
    LETTER = "letter"
    EMAIL = "email"
    BOX = "box"
    WECHAT = "wechat"
    ONLINE = "online"
    CALLBACK = "callback"


class Severity(str, enum.Enum):
    MAJOR = "major"
    IMPORTANT = "important"
    MINOR = "minor"


class Status(str, enum.Enum):
    REGISTERED = "registered"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    THIRD_PARTY = "third_party"
    WAITING_RESIDENT = "waiting_resident"
    RESOLVED = "resolved"
    CALLBACK_DONE = "callback_done"
    CLOSED = "closed"
    INVALID = "invalid"
    CANNOT_HANDLE = "cannot_handle"


OPEN_STATUSES = (
    Status.REGISTERED, Status.ACKNOWLEDGED, Status.DISPATCHED,
    Status.IN_PROGRESS, Status.THIRD_PARTY, Status.WAITING_RESIDENT,
)
# The clocks stop while the case waits on someone outside the company (SPEC §3).
PAUSED_STATUSES = (Status.THIRD_PARTY, Status.WAITING_RESIDENT)


class LocationType(str, enum.Enum):
    UNIT = "unit"
    COMMON = "common"


class CaseSequence(db.Model):
    """Per kind and day counter behind readable case numbers."""

    __tablename__ = "case_sequence"
    prefix: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Case(db.Model):
    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_status_received", "status", "received_at"),
        Index("ix_case_department_status", "department_id", "status"),
        Index("ix_case_resident_received", "resident_id", "received_at"),
        # Covering indexes for the monthly figures (portal/reports): the GROUP BYs over a
        # month's cases read only the index, never the table rows.
        Index("ix_case_month_figures", "received_at", "kind", "channel", "severity", "category_id",
              "department_id", "unit_id", "status", "estate_id", "reopen_count", "resolved_by_id",
              "resolve_work_seconds"),
        # The API's "changed since a cursor" walks (updated_at, id) in order.
        Index("ix_case_updated_id", "updated_at", "id"),
        # Search by case-number prefix (portal.search.number_ids): PostgreSQL serves LIKE 'BX-2026%'
        # only from a pattern_ops index (SQLite gets a plain copy of the unique index: it reads a range).
        Index("ix_case_number_pattern", "number", postgresql_ops={"number": "varchar_pattern_ops"}),
        Index("ix_case_repeat_repairs", "kind", "received_at", "unit_id", "location_type", "location",
              "category_id"),
        # A staff list is scoped by estate and sorted newest first: the page is the index's first rows
        # (SQLite sorted all of an estate's cases without it: 184 ms at 75k), a search walks it and stops.
        Index("ix_case_estate_received", "estate_id", "received_at"),
        # An estate's open cases counted from the index alone: the capped count of a cold board read
        # 10,001 of them from the table (PostgreSQL 13.6 ms at 100k, a sequential scan), 2.4 ms from here.
        Index("ix_case_estate_status", "estate_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[Kind] = mapped_column(_enum(Kind), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), index=True)
    status: Mapped[Status] = mapped_column(_enum(Status), index=True, default=Status.REGISTERED)
    severity: Mapped[Severity | None] = mapped_column(_enum(Severity), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # The site 项目 (estate) for per-site statistics: from the unit, or chosen at the desk.
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    location_type: Mapped[LocationType] = mapped_column(_enum(LocationType), default=LocationType.UNIT)
    location: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)
    # A description the system wrote (a dissatisfied callback without a case), as message keys and
    # parameters (portal.messages) shown in the reader's language; NULL when people wrote it.
    description_msg: Mapped[list | dict | None] = mapped_column(JSON)
    request: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    misconduct: Mapped[bool] = mapped_column(Boolean, default=False)
    witnesses: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # The technician of the department who has the case (assigned by the head, taken, handed over).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    first_reply: Mapped[str] = mapped_column(Text, default="")
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invalid_reason: Mapped[str] = mapped_column(Text, default="")
    finding: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    promised_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    explanation: Mapped[str] = mapped_column(Text, default="")
    third_party: Mapped[str] = mapped_column(String(200), default="")
    completion_note: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set at completion for the reports: who completed it and the working seconds it spent
    # open and not waiting on the resident or a third party (portal/reports/timing.py).
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    resolve_work_seconds: Mapped[float | None] = mapped_column(Float)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    supervisor_visit: Mapped[bool] = mapped_column(Boolean, default=False)
    group_complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    agitated: Mapped[bool] = mapped_column(Boolean, default=False)
    repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    # The manager who took the case over personally (major complaints, escalations).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # The earliest running deadline, kept here so boards sort and colour without a join.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    due_clock: Mapped[str | None] = mapped_column(String(20))
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # One step per recorded event (lifecycle.record), however many flushes an action takes;
    # every UPDATE still carries `WHERE version_id = <the one read>`, so a concurrent save loses.
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __mapper_args__ = {"version_id_col": version_id, "version_id_generator": False}

    category: Mapped[Category | None] = relationship()
    resident: Mapped[User | None] = relationship(foreign_keys=[resident_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    unit: Mapped[Unit | None] = relationship()
    department: Mapped[Department | None] = relationship()
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    deadlines = relationship("Deadline", back_populates="case", order_by="Deadline.id", passive_deletes="all")
    events: Mapped[list[CaseEvent]] = relationship(
        order_by="CaseEvent.id", viewonly=True
    )
    attachments: Mapped[list[Attachment]] = relationship(
        order_by="Attachment.id", viewonly=True
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def place(self) -> str:
        unit = self.unit
        return place_label(self.location_type, unit.building.name if unit else None,
                           unit.number if unit else None, self.location)


# A case number is its kind's two-letter prefix, "-", the local date (YYYYMMDD), "-" and the day's counter of
# four or more digits (portal.cases.intake.next_number): TS-20261122-0042. The counter starts at the 13th
# character. Indexed so that digits typed alone ("0042", "-0042") find numbers by their counter
# (portal.search.number_lookup); text_pattern_ops lets PostgreSQL serve LIKE '004%' from it as well as =.
SEQUENCE_AT = 13
NUMBER_SEQUENCE = func.substr(Case.number, literal_column(str(SEQUENCE_AT)))
Index("ix_case_number_sequence", NUMBER_SEQUENCE.label("number_sequence"),
      postgresql_ops={"number_sequence": "text_pattern_ops"})


def place_label(location_type, building: str | None, unit: str | None, location: str | None) -> str:
    """"3-1202 kitchen" for a unit, else the free-text location (also used by case lists' column rows)."""
    if location_type == LocationType.UNIT and unit is not None:
        return f"{building}-{unit}" + (f" {location}" if location else "")
    return location


class CaseEvent(db.Model):
    """Append-only: who did what to a case, when, from which state."""

    __tablename__ = "case_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    # What the action recorded, split by the audience the action table declares (SPEC §9):
    # `note` is read by whoever sees the event, the resident too when `public`; `internal_note` by staff only.
    note: Mapped[str] = mapped_column(Text, default="")
    internal_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    # The same texts as message keys and parameters (portal.messages), shown in the reader's language;
    # NULL on rows written before them and where only people's own words were recorded.
    note_msg: Mapped[list | dict | None] = mapped_column(JSON)
    internal_msg: Mapped[list | dict | None] = mapped_column(JSON)
    case: Mapped[Case] = relationship()
    actor: Mapped[User | None] = relationship()


class Attachment(db.Model):
    """A re-encoded photo in the photo storage; its thumbnail is written by a job (portal.photos)."""
    __tablename__ = "attachment"
    # The per-user quota counts a person's recent uploads.
    __table_args__ = (Index("ix_attachment_uploader_created", "uploaded_by_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    thumb_name: Mapped[str | None] = mapped_column(String(80))
    thumb_type: Mapped[str | None] = mapped_column(String(50))
    # "before" / "after" for the technician's completion photos; "" otherwise.
    stage: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    case: Mapped[Case] = relationship()


class CaseTerm(db.Model):
    """One two-character piece of a case's searchable text: the app's index for free-text search
    (portal.search keeps it)."""

    __tablename__ = "case_term"
    __table_args__ = (Index("ix_case_term_case", "case_id"),)

    term: Mapped[str] = mapped_column(String(2), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
