"""Sign-in records: SMS codes, residents' unit claims and password-reset links."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import UTCDateTime, db, enum_column
from portal.models.people import Relation, Unit, User
from portal.timeutil import utcnow


class SignInCode(db.Model):
    """A 6-digit code sent to a mobile number: stored hashed, spent by use, expiry or too many tries."""

    __tablename__ = "sign_in_code"
    __table_args__ = (Index("ix_sign_in_code_phone_created", "phone", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClaimStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class UnitClaim(db.Model):
    """A resident's request to be recorded at a unit, waiting for the estate's desk."""

    __tablename__ = "unit_claim"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    relation: Mapped[Relation] = mapped_column(enum_column(Relation))
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus), default=ClaimStatus.PENDING, index=True)
    note: Mapped[str] = mapped_column(Text, default="")  # the resident's words to the desk
    reason: Mapped[str] = mapped_column(Text, default="")  # the desk's reason for a refusal
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    unit: Mapped[Unit] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class PasswordReset(db.Model):
    """A one-time password-reset link (only its hash is kept)."""

    __tablename__ = "password_reset"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class TotpCredential(db.Model):
    """A manager's authenticator app (TOTP) and the hashes of their unused recovery codes."""

    __tablename__ = "totp_credential"
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    recovery_hashes: Mapped[str] = mapped_column(Text, default="")  # one SHA-256 per line
    last_step: Mapped[int] = mapped_column(Integer, default=0)  # a code is accepted once
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
