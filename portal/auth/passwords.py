"""Passwords: the policy, changing one, temporary passwords and one-time reset links.

`issue_temporary_password` and `issue_reset_link` are what a manager's staff screens call.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models import PasswordReset, User
from portal.notify.outbox import queue_rows, row
from portal.timeutil import utcnow

MIN_LENGTH = 10
SELF_RESET_VALID = timedelta(minutes=30)
COMMON = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def policy_problem(password: str, username: str = "") -> str | None:
    """Why this password is refused (in the reader's language), or None."""
    folded = (password or "").casefold()
    if len(password or "") < MIN_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_LENGTH)
    if username and folded in (username.casefold(), username.casefold()[::-1]):
        return _("The password must not be the username.")
    if folded in common_passwords() or len(set(folded)) <= 2:
        return _("This password is too common; choose another.")
    return None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def check_password_timed(user: User | None, password: str) -> bool:
    """Check a password; an unknown or password-less account costs as long as a real check."""
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password or "")
        return False
    return user.check_password(password or "")


def change_password(user: User, new_password: str) -> None:
    """Set a chosen password and end every other session (the caller signs this one in again)."""
    user.set_password(new_password)
    user.password_temporary = False
    user.end_sessions()


def issue_temporary_password(user: User, actor: User | None) -> str:
    """A manager gives a member of staff a temporary password, to be changed at the next sign-in.

    Every session of the account ends; the caller commits and tells the manager the password once.
    """
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    password = "".join(secrets.choice(alphabet) for _ in range(12))
    user.set_password(password)
    user.password_temporary = True
    user.end_sessions()
    return password


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_link(user: User, actor: User | None, valid: timedelta, at: datetime | None = None) -> str:
    now = at or utcnow()
    for old in db.session.scalars(select(PasswordReset).where(PasswordReset.user_id == user.id,
                                                               PasswordReset.used_at.is_(None))):
        old.used_at = now  # one live link per account
    token = secrets.token_urlsafe(32)
    db.session.add(PasswordReset(user_id=user.id, token_hash=_token_hash(token), issued_by_id=actor.id if actor else None,
                                 created_at=now, expires_at=now + valid))
    db.session.flush()
    return external_url("auth.reset_password", token=token)


def external_url(endpoint: str, **values) -> str:
    """A link for an e-mail: on PORTAL_URL when set, never on a Host header a stranger sent."""
    base = current_app.config.get("PORTAL_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def issue_reset_link(user: User, actor: User | None, at: datetime | None = None) -> str:
    """A manager's one-time link for a member of staff (valid RESET_LINK_HOURS); the caller commits."""
    return _new_link(user, actor, timedelta(hours=current_app.config["RESET_LINK_HOURS"]), at)


def self_reset_enabled() -> bool:
    return bool(current_app.config.get("SELF_RESET"))


def request_reset(login: str, at: datetime | None = None) -> None:
    """E-mail a 30-minute reset link to the staff account with this username or e-mail, if there is one.

    Says nothing about whether it exists; the caller commits.
    """
    login = (login or "").strip()
    if not login or not self_reset_enabled():
        return
    user = db.session.scalar(select(User).where(User.username == login)) or db.session.scalar(
        select(User).where(db.func.lower(User.email) == login.casefold()).order_by(User.id).limit(1))
    if user is None or not user.active or not user.email:
        return
    link = _new_link(user, None, SELF_RESET_VALID, at)
    body = _("Open this link within 30 minutes to choose a new password: %(link)s\n"
             "If you did not ask for it, ignore this message.", link=link)
    queue_rows([row(user, "email", user.email, "password_reset", _("Reset your password"), body,
                    f"reset:{_token_hash(link)[:40]}", now=at)])


def reset_for(token: str, at: datetime | None = None) -> PasswordReset | None:
    """The unused, unexpired reset a token stands for."""
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _token_hash(token or "")))
    if reset is None or reset.used_at is not None or (at or utcnow()) >= reset.expires_at:
        return None
    if not reset.user.active:
        return None
    return reset


def use_reset(reset: PasswordReset, new_password: str, at: datetime | None = None) -> User:
    """Spend the link and set the password; every session of the account ends."""
    reset.used_at = at or utcnow()
    change_password(reset.user, new_password)
    return reset.user
