"""Sessions: signing in (a fresh CSRF token), idle and absolute limits, forced password changes,
and ending every session of an account when its access changes."""
from __future__ import annotations

import time

from flask import Flask, current_app, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from portal.models import Role, User

KEEP = ("lang",)  # what survives signing in and out
SEEN_GRANULARITY = 60  # seconds: don't rewrite the cookie on every request
# Endpoints a user with a temporary password may still reach.
WHILE_TEMPORARY = {"auth.change_password", "auth.logout", "auth.set_language", "auth.login", "auth.login_code",
                   "auth.register", "auth.end_sessions", "static"}


def _fresh_session() -> None:
    kept = {k: session[k] for k in KEEP if k in session}
    session.clear()  # drops the old CSRF token: a new one is made for the signed-in session
    session.update(kept)


def sign_in(user: User) -> None:
    """Start a new session for this user (the caller redirects)."""
    _fresh_session()
    login_user(user)
    session.permanent = True
    now = int(time.time())
    session["signed_in_at"] = now
    session["seen_at"] = now


def sign_out() -> None:
    logout_user()
    _fresh_session()


def limits_for(user: User) -> tuple[int, int]:
    """(idle seconds, absolute seconds) for this user's sessions."""
    c = current_app.config
    if user.role == Role.RESIDENT:
        return c["RESIDENT_IDLE_DAYS"] * 86400, c["RESIDENT_MAX_DAYS"] * 86400
    return c["STAFF_IDLE_MINUTES"] * 60, c["STAFF_MAX_HOURS"] * 3600


def _check_session():
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = int(time.time())
    idle, absolute = limits_for(current_user)
    began, seen = session.get("signed_in_at", 0), session.get("seen_at", 0)
    if now - began > absolute or now - seen > idle:
        sign_out()
        return None  # the view's own access rule now sends the visitor to the login page
    if now - seen >= SEEN_GRANULARITY:
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
