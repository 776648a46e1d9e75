"""Sessions: signing in (a fresh CSRF token), idle and absolute limits, forced password changes,
and ending every session of an account when its access changes."""
from __future__ import annotations

import time

from flask import Flask, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from portal import settings
from portal.extensions import db
from portal.models import Role, User

SECTION = _l("Sign-in and sessions")
# An all-day board polls, so it counts as in use; a PC left at the desk overnight does not stay signed in.
settings.define("session_staff_idle_minutes", 120, _l("Staff: signed out after this many minutes without use"),
                "int", SECTION, min=5, max=1440)
settings.define("session_staff_max_hours", 12, _l("Staff: signed out this many hours after signing in"),
                "int", SECTION, min=1, max=72)
settings.define("session_resident_idle_days", 30, _l("Residents: signed out after this many days without use"),
                "int", SECTION, min=1, max=365)
settings.define("session_resident_max_days", 90, _l("Residents: signed out this many days after signing in"),
                "int", SECTION, min=1, max=365)

KEEP = ("lang",)  # what survives signing in and out
SEEN_GRANULARITY = 60  # seconds: don't rewrite the cookie on every request
# Endpoints a user with a temporary password may still reach.
WHILE_TEMPORARY = {"auth.change_password", "auth.logout", "auth.set_language", "auth.login", "auth.login_code",
                   "auth.register", "auth.end_sessions", "auth.second_factor", "static"}


def fresh_session() -> None:
    kept = {k: session[k] for k in KEEP if k in session}
    session.clear()  # drops the old CSRF token: a new one is made for the signed-in session
    session.update(kept)


def sign_in(user: User) -> None:
    """Start a new session for this user (the caller redirects)."""
    fresh_session()
    login_user(user)
    session.permanent = True
    now = int(time.time())
    session["signed_in_at"] = now
    session["seen_at"] = now


SECOND_FACTOR_SECONDS = 300  # between the password and the code
MAX_SECOND_FACTOR_TRIES = 5  # then the password is asked again


def begin_second_factor(user: User, next_url: str | None) -> None:
    """The password was right: remember who is half-way, not signed in yet."""
    fresh_session()
    session["2fa"] = {"uid": user.id, "v": user.session_version or 0, "at": int(time.time()),
                      "next": next_url or "", "tries": 0}


def pending_second_factor() -> User | None:
    pending = session.get("2fa")
    if not pending or time.time() - pending.get("at", 0) > SECOND_FACTOR_SECONDS:
        return None
    user = db.session.get(User, pending.get("uid"))
    if user is None or not user.active or (user.session_version or 0) != pending.get("v"):
        return None
    return user


def sign_out() -> None:
    logout_user()
    fresh_session()


def limits_for(user: User) -> tuple[int, int]:
    """(idle seconds, absolute seconds) for this user's sessions (manager settings)."""
    if user.role == Role.RESIDENT:
        return settings.get("session_resident_idle_days") * 86400, settings.get("session_resident_max_days") * 86400
    return settings.get("session_staff_idle_minutes") * 60, settings.get("session_staff_max_hours") * 3600


def _check_session():
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = int(time.time())
    began, seen = session.get("signed_in_at", 0), session.get("seen_at", 0)
    if now - seen >= SEEN_GRANULARITY:
        # Checked once a minute: the shortest idle limit is 5 minutes, and reading the
        # settings on every poll of every board would cost a query each.
        idle, absolute = limits_for(current_user)
        if now - began > absolute or now - seen > idle:
            sign_out()
            return None  # the view's own access rule now sends the visitor to the login page
        session["seen_at"] = now
    if current_user.password_temporary and request.endpoint not in WHILE_TEMPORARY:
        target = url_for("auth.change_password")
        if request.headers.get("HX-Request") == "true":
            return "", 204, {"HX-Redirect": target}
        return redirect(target)
    return None


def _end_sessions_on_access_change(db_session, flush_context, instances) -> None:
    """Deactivation, a new role or scope ends every session of the account at once."""
    for obj in db_session.dirty:
        if not isinstance(obj, User):
            continue
        state = inspect(obj)
        changed = [a for a in ("active", "role", "company_wide", "department_id", "estates")
                   if state.attrs[a].history.has_changes()]
        if changed and not state.attrs["session_version"].history.has_changes():
            obj.end_sessions()


def init_sessions(app: Flask) -> None:
    app.before_request(_check_session)
    if not event.contains(Session, "before_flush", _end_sessions_on_access_change):
        event.listen(Session, "before_flush", _end_sessions_on_access_change)
