"""The administration audit log: append-only, who changed what, before and after (SPEC §9)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import UTCDateTime, db
from portal.timeutil import utcnow


class AuditEntry(db.Model):
    """One change to estates, units, residents, staff, departments, categories or settings."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_object", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # e.g. "estate", "unit", "residency", "user", "department", "category", "setting", "import"
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(60), default="")
    action: Mapped[str] = mapped_column(String(30))  # create, update, deactivate, import, ...
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    summary: Mapped[str] = mapped_column(String(200), default="")
    # A summary the system wrote (the register import), as message keys and parameters (portal.messages)
    # shown in the reader's language; NULL when the summary is only names from the data.
    summary_msg: Mapped[list | dict | None] = mapped_column(JSON)
    before: Mapped[str] = mapped_column(Text, default="")  # JSON of the changed fields
    after: Mapped[str] = mapped_column(Text, default="")
    actor = relationship("User")
