"""Disclosures of a complainant's contact details (SPEC §9): who revealed which case's number, when."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import UTCDateTime, db
from portal.models.cases import Case
from portal.models.people import User
from portal.timeutil import utcnow


class PhoneReveal(db.Model):
    """Append-only: one use of the call button on a case (the number was shown and dialled)."""

    __tablename__ = "phone_reveal"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # The case's estate when revealed: the log is scoped by estate without a join.
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    case: Mapped[Case] = relationship()
    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_phone_reveal_estate_at", "estate_id", "at"),)
