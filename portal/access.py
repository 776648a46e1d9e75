"""Who may use what: role decorators and 404 lookups; the rules of whose cases a user sees are `portal.scopes`.

Staff see the cases of their estates (a company-level account sees every estate);
department staff only those dispatched to their department as well. A resident sees
the cases they filed, and as owner or family member of a unit the unit's cases received
while they lived there; a tenant sees only their own. `can_view` (one case) and
`visible_cases_clause` (SQL) say the same thing; docs/scopes.md explains it.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from portal import privacy
from portal.extensions import db
from portal.models import Attachment, Case, Role
from portal.scopes import (  # noqa: F401  (the rules, re-exported for the views)
    estate_ids, in_estates, sees_estate, own_estate_choices, unit_estate, task_estate,
    households, can_view, visible_cases_clause,
    scope_key, is_filer, may_act, can_view_task, notifications_clause, ALL_ROLES,
    STAFF, HOUSEHOLD_RELATIONS,
)

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


def get_case_or_404(case_id: int, *options) -> Case:
    """The case, or 404 when it does not exist or is not the user's to see (options: loader options)."""
    case = db.session.get(Case, case_id, options=options)
    if case is None or not can_view(current_user, case):
        abort(404)
    return case


def get_attachment_or_404(attachment_id: int) -> Attachment:
    """A photo, or 404 unless the user may see its case and, on a complaint about staff, its complainant's evidence."""
    att = db.session.get(Attachment, attachment_id)
    if att is None:
        abort(404)
    get_case_or_404(att.case_id)
    if not privacy.may_see_attachment(current_user, att):
        abort(404)
    return att


def get_estate_row_or_404(model, row_id: int):
    """A row with an `estate_id` (report run, improvement action, ...) the user's scope covers, or 404."""
    row = db.session.get(model, row_id)
    if row is None or not sees_estate(current_user, row.estate_id):
        abort(404)
    return row
