"""Mainland mobile numbers: one normal form (11 digits starting with 1) for storing and matching."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.models import Role, User

_SEPARATORS = re.compile(r"[\s\-()（）]")


def normalize_phone(raw: str | None) -> str | None:
    """'+86 138-0013-8000' -> '13800138000'; None when it is not a mainland mobile number."""
    text = _SEPARATORS.sub("", raw or "")
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if len(text) == 11 and text.isascii() and text.isdigit() and text.startswith("1"):
        return text
    return None


def residents_with_phone(phone: str) -> list[User]:
    """Resident accounts whose number is this one however the register wrote it, oldest first."""
    candidates = db.session.scalars(
        select(User).where(User.role == Role.RESIDENT, User.phone.like(f"%{phone[-4:]}")).order_by(User.id)
    )
    return [u for u in candidates if normalize_phone(u.phone) == phone]


def masked(phone: str) -> str:
    """138****8000: what a page shows of a number."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else phone
