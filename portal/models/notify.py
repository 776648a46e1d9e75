"""The notification outbox: a row first, delivered by a job, marked sent once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import UTCDateTime, db
from portal.timeutil import utcnow


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        # One message per alert, person and channel, however often the scan runs.
        UniqueConstraint("dedup_key", "user_id", "channel", name="uq_notification_key"),
        Index("ix_notification_user_unread", "user_id", "channel", "read_at"),
        Index("ix_notification_status_claimed", "status", "claimed_at"),
        Index("ix_notification_status_next", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"), index=True)
    dedup_key: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(10))  # inapp, email, sms
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # Subject and body as message keys and parameters (portal.messages): the in-app list shows them in
    # the reader's language; `subject` and `body` hold the text as sent, in the recipient's language.
    subject_msg: Mapped[list | dict | None] = mapped_column(JSON)
    body_msg: Mapped[list | dict | None] = mapped_column(JSON)
    address: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Plain failures only: an attempt whose outcome is unknown (a timeout after the message
    # was handed over) is retried with the same id and never counts towards giving up.
    errors: Mapped[int] = mapped_column(Integer, default=0)
    # Written and committed before each send, so the next attempt knows one was under way.
    attempt_id: Mapped[str] = mapped_column(String(40), default="")
    # No attempt before this time (the back-off after a failure); NULL: at once.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user = relationship("User")
    case = relationship("Case")
    alert = relationship("Alert")
