"""SMS sign-in codes: 6 digits, 5 minutes, single use, 5 wrong tries spend it, one per minute.

Codes are kept as an HMAC of the code (keyed with the app secret and the row's number),
go out through the notification outbox on the SMS channel, and are never shown or logged.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.models import Role, SignInCode, User
from portal.auth.phone import masked, residents_with_phone
from portal.notify.outbox import queue_rows, row
from portal.timeutil import utcnow

VALID = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=60)
MAX_TRIES = 5
KIND = "resident_sign_in_code"


def _hash(phone: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _latest(phone: str) -> SignInCode | None:
    return db.session.scalar(select(SignInCode).where(SignInCode.phone == phone)
                             .order_by(SignInCode.created_at.desc(), SignInCode.id.desc()).limit(1))


def wait_seconds(phone: str, at: datetime | None = None) -> int:
    """Seconds until another code may be sent to this number (0: now)."""
    last = _latest(phone)
    if last is None:
        return 0
    left = (last.created_at + RESEND_AFTER - (at or utcnow())).total_seconds()
    return max(0, int(left + 0.999))


def account_for(phone: str, name: str = "") -> User:
    """The resident account of this number: the register's (imported) one, else a new one without a unit."""
    found = [u for u in residents_with_phone(phone) if u.active]
    if found:
        return found[0]
    username, n = phone, 1
    while db.session.scalar(select(User.id).where(User.username == username)) is not None:
        username, n = f"m{phone}-{n}", n + 1
    user = User(username=username, display_name=(name or "").strip()[:50] or masked(phone), role=Role.RESIDENT,
                phone=phone, password_hash="")
    db.session.add(user)
    db.session.flush()
    return user


def send_code(user: User, phone: str, address: str, at: datetime | None = None) -> SignInCode:
    """Make a new code for this number (earlier ones are spent) and put the SMS in the outbox."""
    from flask_babel import gettext as _
    now = at or utcnow()
    for old in db.session.scalars(select(SignInCode).where(SignInCode.phone == phone, SignInCode.spent_at.is_(None))):
        old.spent_at = now
    code = f"{secrets.randbelow(10**6):06d}"
    record = SignInCode(phone=phone, user_id=user.id, code_hash=_hash(phone, code), address=(address or "")[:64],
                        created_at=now, expires_at=now + VALID)
    db.session.add(record)
    db.session.flush()
    text = _("Your sign-in code is %(code)s, valid for 5 minutes. Do not share it with anyone.", code=code)
    queue_rows([row(user, "sms", phone, KIND, _("Property service"), text, f"code:{record.id}", now=now)])
    return record


@dataclass(frozen=True)
class Check:
    user: User | None
    problem: str = ""  # "", "wrong", "expired", "none", "spent"


def check_code(phone: str, code: str, at: datetime | None = None) -> Check:
    """Spend the number's current code if `code` matches; a wrong try counts towards the five."""
    now = at or utcnow()
    record = _latest(phone)
    if record is None:
        return Check(None, "none")
    if record.spent_at is not None:
        return Check(None, "spent")
    if now >= record.expires_at:
        record.spent_at = now
        return Check(None, "expired")
    if not hmac.compare_digest(record.code_hash, _hash(phone, (code or "").strip())):
        record.tries += 1
        if record.tries >= MAX_TRIES:
            record.spent_at = now
            return Check(None, "spent")
        return Check(None, "wrong")
    record.spent_at = now
    user = db.session.get(User, record.user_id)
    if user is None or not user.active:
        return Check(None, "none")
    return Check(user)
