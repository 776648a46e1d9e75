"""Integration keys, their call counts and idempotency records; webhook subscriptions and attempts (SPEC §10)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import UTCDateTime, db
from portal.models.people import Estate, User
from portal.timeutil import utcnow

PERMISSIONS = ("cases:create", "cases:read", "callbacks:record", "callers:lookup")
EVENTS = ("case.created", "case.status_changed", "case.escalated", "callback.recorded")


class ApiKey(db.Model):
    """A key for one integration. Its estates are its service account's; the secret is stored hashed."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown in lists, used to find the key
    key_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the whole key (256 random bits)
    permissions: Mapped[str] = mapped_column(String(200), default="")  # comma-separated
    # The account the key acts as in the lifecycle (a clerk of the key's estates that cannot sign in).
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)  # None: the manager setting
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(p for p in self.permissions.split(",") if p)

    @property
    def estates(self) -> list[Estate]:
        return self.user.estates


class ApiCallCount(db.Model):
    """Calls per key and minute: the rate limit shared by every web process."""

    __tablename__ = "api_call_count"
    key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id"), primary_key=True)
    window: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ApiIdempotency(db.Model):
    """One case per key and Idempotency-Key: the unique constraint settles a race between retries."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("key_id", "idempotency_key", name="uq_api_idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


webhook_estate = Table(
    "webhook_estate", db.Model.metadata,
    Column("subscription_id", ForeignKey("webhook_subscription.id"), primary_key=True),
    Column("estate_id", ForeignKey("estate.id"), primary_key=True, index=True),
)


class WebhookSubscription(db.Model):
    """A URL that receives the chosen events of the chosen estates, signed with its secret."""

    __tablename__ = "webhook_subscription"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(80))  # kept: every delivery is signed with it
    events: Mapped[str] = mapped_column(String(200))  # comma-separated
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[User] = relationship()
    estates: Mapped[list[Estate]] = relationship(secondary=webhook_estate, order_by="Estate.id")

    @property
    def event_list(self) -> list[str]:
        return [e for e in self.events.split(",") if e]


class WebhookAttempt(db.Model):
    """One HTTP attempt at one delivery (an outbox row on the `webhook` channel)."""

    __tablename__ = "webhook_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
