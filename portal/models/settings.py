"""Manager-editable settings."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import UTCDateTime, db
from portal.timeutil import utcnow


class Phrase(db.Model):
    """A standard reply phrase (规范用语) offered when writing to a resident."""

    __tablename__ = "phrase"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # NULL: the company's phrase; else the estate's own (an estate with its own phrases uses only those).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    # What the phrase is for ('' any; else a key of portal.org.PHRASE_USES): the action forms offer the matching ones.
    use: Mapped[str] = mapped_column(String(20), default="", server_default="")


class Setting(db.Model):
    """One manager-set value (JSON text); defaults live in `portal.settings`, not here."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
