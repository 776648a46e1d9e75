"""Which estates a manager administers: every one for a company-level manager, else their own.

The rule itself is `portal.scopes.estate_ids` (one owner); these are the admin screens' helpers around it.
"""
from __future__ import annotations

from flask import abort
from sqlalchemy import select

from portal import scopes
from portal.extensions import db
from portal.models import Estate, User


def is_company(user: User) -> bool:
    """A company-level account administers every estate and the company's own rows."""
    return bool(getattr(user, "company_wide", False))


def estate_ids(user: User) -> set[int] | None:
    """The ids of the estates the user administers; None means all of them."""
    ids = scopes.estate_ids(user)
    return None if ids is None else set(ids)


def estates(user: User, active_only: bool = False) -> list[Estate]:
    """The estates the user administers, in their order."""
    stmt = select(Estate).order_by(Estate.position, Estate.id)
    ids = estate_ids(user)
    if ids is not None:
        stmt = stmt.where(Estate.id.in_(ids or [-1]))
    if active_only:
        stmt = stmt.where(Estate.active.is_(True))
    return list(db.session.scalars(stmt))


def estate_clause(user: User, column):
    """SQL condition: `column` (an estate id) is one the user administers (NULL only for company managers)."""
    ids = estate_ids(user)
    if ids is None:
        return column.is_(None) | column.is_not(None)
    return column.in_(ids or [-1])


def may_administer(user: User, estate_id: int | None) -> bool:
    """True when the user administers this estate (None: the company's own rows)."""
    ids = estate_ids(user)
    if ids is None:
        return True
    return estate_id is not None and estate_id in ids


def require(user: User, estate_id: int | None) -> None:
    """404 for an estate (or company row) the user does not administer: it is not theirs to see."""
    if not may_administer(user, estate_id):
        abort(404)


def chosen_estate(user: User, requested: int | None) -> tuple[int | None, list[Estate]]:
    """Whose phrases or service levels a page edits: the company's (None) or one estate's.

    A company-level manager edits the company defaults (the default) or any estate's overrides;
    an estate manager only their estates' (the first by default). Anything else is a 404."""
    mine = estates(user)
    if is_company(user):
        if requested is None:
            return None, mine
        if requested in {e.id for e in mine}:
            return requested, mine
        abort(404)
    if not mine:
        abort(403)
    if requested is None:
        return mine[0].id, mine
    if requested not in {e.id for e in mine}:
        abort(404)
    return requested, mine


def may_edit(user: User, estate_id: int | None) -> bool:
    """Company rows are the company managers'; an estate's rows its managers' (and the company's)."""
    ids = estate_ids(user)
    return ids is None or (estate_id is not None and estate_id in ids)
