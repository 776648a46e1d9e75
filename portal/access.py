"""Who may use what: role decorators and case lookups that check ownership."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from portal.extensions import db
from portal.models import Attachment, Case, Role, User

# Every view function carries one of these markers; tests/test_access.py
# walks app.url_map and fails on a route without one.
ACCESS_ATTR = "_portal_access"


def public(view):
    """Open to everyone, logged in or not."""
    setattr(view, ACCESS_ATTR, "public")
    return view


def role_required(*roles: Role):
    """Logged in, with one of these roles."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        guarded = login_required(wrapped)
        setattr(guarded, ACCESS_ATTR, frozenset(roles))
        return guarded
    return decorator


ALL_ROLES = tuple(Role)
STAFF = (Role.CLERK, Role.MANAGER)


def can_view(user: User, case: Case) -> bool:
    """Residents see their own cases, departments what is dispatched to them."""
    if user.role in STAFF:
        return True
    if user.role == Role.RESIDENT:
        return case.resident_id == user.id
    if user.role == Role.DEPARTMENT:
        return case.department_id is not None and case.department_id == user.department_id
    return False


def get_case_or_404(case_id: int, *options) -> Case:
    """The case, or 404 when it does not exist or is not the user's to see (options: loader options)."""
    case = db.session.get(Case, case_id, options=options)
    if case is None or not can_view(current_user, case):
        abort(404)
    return case


def get_attachment_or_404(attachment_id: int) -> Attachment:
    att = db.session.get(Attachment, attachment_id)
    if att is None:
        abort(404)
    get_case_or_404(att.case_id)
    return att


def visible_cases_clause(user: User):
    """SQL condition for the cases a user may list."""
    if user.role in STAFF:
        return Case.id.is_not(None)
    if user.role == Role.RESIDENT:
        return Case.resident_id == user.id
    if user.role == Role.DEPARTMENT:
        return Case.department_id == (user.department_id or -1)
    return Case.id.is_(None)
