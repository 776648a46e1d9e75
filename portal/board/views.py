"""The board's views: the desk's working view, the built-in ones, and each user's saved filter sets."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.models import SavedView, User

# The board opens on WORKING: open cases, nearest deadline first (the desk works down from the top).
WORKING = {"status": "open", "sort": "due"}
BUILT_IN = (
    ("work", _l("Working view"), WORKING),
    ("to_dispatch", _l("To dispatch"), {"status": "to_dispatch", "sort": "due"}),
    ("due_today", _l("Due today"), {"due": "today", "sort": "due"}),
    ("overdue", _l("Overdue"), {"status": "open", "overdue": "y", "sort": "due"}),
    ("mine", _l("Registered by me"), {"mine": "y", "sort": "newest"}),
)
MAX_SAVED = 20


def canonical(pairs) -> str:
    """A query string without paging and empty values, in a stable order (compares views and saves them)."""
    return urlencode(sorted((k, v) for k, v in pairs if v and k != "page"))


def saved_views(user: User) -> list[SavedView]:
    """The user's own views, in the order they were saved."""
    return list(db.session.scalars(select(SavedView).where(SavedView.user_id == user.id).order_by(SavedView.id)))


def tabs(user: User, args) -> list[dict]:
    """Every view as a tab: label, query string, whether it is the one shown, and the saved view's id."""
    current = canonical(args.items(multi=True)) or canonical(WORKING.items())
    out = [{"key": key, "label": label, "query": canonical(values.items()), "id": None}
           for key, label, values in BUILT_IN]
    out += [{"key": f"saved-{v.id}", "label": v.name, "query": v.query, "id": v.id} for v in saved_views(user)]
    for tab in out:
        tab["current"] = tab["query"] == current
    return out


def save_view(user: User, name: str, query: str) -> SavedView:
    """Save (or replace, by name) the user's view of the board; the caller commits."""
    query = canonical(parse_qsl(query))
    view = db.session.scalar(select(SavedView).where(SavedView.user_id == user.id, SavedView.name == name))
    if view is None:
        view = SavedView(user_id=user.id, name=name, query=query)
        db.session.add(view)
    view.query = query
    return view


def too_many(user: User) -> bool:
    return len(saved_views(user)) >= MAX_SAVED
