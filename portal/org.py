"""What an estate is offered, one rule each: departments, categories, default departments, phrases, service levels.

Company rows (``estate_id`` NULL) serve every estate unless the estate says otherwise; see
docs/organisation.md. ``estate_id`` None (a case whose estate is not known) narrows nothing.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from portal.extensions import db
from portal.models import Category, CategoryOverride, Department, Phrase
from portal.sla import policy


def _of_estate(column, estate_id: int | None):
    return True if estate_id is None else or_(column.is_(None), column == estate_id)


def departments_for(estate_id: int | None) -> list[Department]:
    """Active departments serving the estate: its own and the company-wide ones."""
    return list(db.session.scalars(
        select(Department).where(Department.active.is_(True), _of_estate(Department.estate_id, estate_id))
        .order_by(Department.position, Department.id)))


def serves(department: Department | None, estate_id: int | None) -> bool:
    """Whether a department may take a case of the estate."""
    return (department is not None and bool(department.active)
            and (estate_id is None or department.estate_id in (None, estate_id)))


def _overrides(estate_id: int | None) -> dict[int, CategoryOverride]:
    if estate_id is None:
        return {}
    return {o.category_id: o for o in db.session.scalars(
        select(CategoryOverride).where(CategoryOverride.estate_id == estate_id))}


def categories_for(estate_id: int | None) -> list[Category]:
    """Active categories offered in the estate: company ones it has not switched off, and its own."""
    switched_off = {cid for cid, o in _overrides(estate_id).items() if not o.active}
    rows = db.session.scalars(
        select(Category).where(Category.active.is_(True), _of_estate(Category.estate_id, estate_id))
        .order_by(Category.position, Category.id))
    return [c for c in rows if not (c.estate_id is None and c.id in switched_off)]


def categories_for_any(estate_ids: list[int] | None) -> list[Category]:
    """Categories offered in at least one of the estates (None: every estate), in order, once each."""
    if estate_ids is None:
        return categories_for(None)
    seen: dict[int, Category] = {}
    for estate_id in estate_ids:
        for c in categories_for(estate_id):
            seen.setdefault(c.id, c)
    return sorted(seen.values(), key=lambda c: (c.position or 0, c.id))


def offers(category_id: int | None, estate_id: int | None) -> bool:
    """Whether the category may be chosen for a case of the estate."""
    return category_id is not None and any(c.id == category_id for c in categories_for(estate_id))


def default_department(category: Category | None, estate_id: int | None) -> Department | None:
    """The department a category's cases go to in the estate: the estate's override, else the
    category's own default when that department serves the estate, else none."""
    if category is None:
        return None
    override = _overrides(estate_id).get(category.id) if category.estate_id is None else None
    if override is not None and override.active and serves(override.default_department, estate_id):
        return override.default_department
    return category.default_department if serves(category.default_department, estate_id) else None


# What a standard phrase is for; the action that offers it (portal.cases.routes) maps to one of these.
PHRASE_USES = {"first_reply": _l("First reply"), "plan": _l("Plan"), "completion": _l("Completion"),
               "callback": _l("Callback")}
PHRASE_USE_OF_ACTION = {"acknowledge": "first_reply", "plan": "plan", "complete": "completion",
                        "callback": "callback"}


def phrases_for(estate_id: int | None, use: str | None = None) -> list[Phrase]:
    """The estate's own active phrases when it has any, else the company's; given a use, those for it or any."""
    def active(where):
        stmt = select(Phrase).where(Phrase.active.is_(True), where)
        if use is not None:
            stmt = stmt.where(Phrase.use.in_(("", use)))
        return list(db.session.scalars(stmt.order_by(Phrase.position, Phrase.id)))
    own = active(Phrase.estate_id == estate_id) if estate_id is not None else []
    return own or active(Phrase.estate_id.is_(None))


def service_level(estate_id: int | None, kind, severity, clock: str) -> policy.Level:
    """The estate's rule, else the company's, else the built-in default (owned by portal.sla.policy)."""
    return policy.level(kind, severity, clock, estate_id)


def fill_phrase(text: str, values: dict) -> str:
    """The phrase with its placeholders ({case}, {department}, {promised}, {clerk}) filled; unknown ones kept."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value or "")
    return text
