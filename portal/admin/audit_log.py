"""The audit log for managers: who changed what and when, before → after, with filters."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from portal.access import role_required
from portal.admin import bp, scope
from portal.admin.listing import like, list_args, list_filter, page_of
from portal.forms import DateField
from portal.htmx import render
from portal.extensions import db
from portal.labels import RELATION, ROLE, label, opts
from portal.models import AuditEntry, Building, Department, Estate, Role, User
from portal.timeutil import local_zone

OBJECT_TYPES = {
    "estate": _l("Estate"), "building": _l("Building"), "unit": _l("Housing unit"), "resident": _l("Resident"),
    "residency": _l("Household"), "user": _l("Staff account"), "department": _l("Department"),
    "category": _l("Category"), "category_override": _l("Category at an estate"), "setting": _l("Setting"),
    "phrase": _l("Phrase"), "service_level": _l("Service level"), "calendar": _l("Holiday calendar"),
    "import": _l("Register import"),
}
ACTIONS = {"create": _l("created"), "update": _l("changed"), "deactivate": _l("deactivated"),
           "reactivate": _l("reactivated"), "password": _l("new temporary password"), "import": _l("imported")}


class AuditFilter(FlaskForm):
    class Meta:
        csrf = False

    object_type = SelectField(_l("Object"), validators=[Optional()])
    actor = StringField(_l("Changed by"), validators=[Optional(), Length(max=50)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    estate = SelectField(_l("Estate"), validators=[Optional()])


FIELDS = {
    "name": _l("Name"), "display_name": _l("Name"), "active": _l("In use"), "position": _l("Order"),
    "phone": _l("Mobile"), "email": _l("E-mail"), "role": _l("Role"), "estate_ids": _l("Estates"),
    "estate_id": _l("Estate"), "department_id": _l("Department"), "department_head": _l("Department head"), "default_department_id": _l("Default department"),
    "manager_level": _l("Manager level"), "company_wide": _l("Company level"), "username": _l("User name"),
    "building_id": _l("Building"), "number": _l("Unit number"), "area": _l("Area (m²)"), "unit_id": _l("Housing unit"),
    "user_id": _l("Resident"), "relation": _l("Relation"), "moved_in": _l("Moved in"), "moved_out": _l("Moved out"),
    "text": _l("Phrase"), "password_temporary": _l("Temporary password"), "holidays": _l("Holidays"),
    "workdays": _l("Make-up working days"), "amount": _l("Amount"), "unit": _l("Time unit"),
    # The register import's counts (portal/register/apply.py).
    "created": _l("Records created"), "updated": _l("Records changed"), "unchanged": _l("Records unchanged"),
    "units": _l("Units in the file"), "buildings": _l("New buildings"), "new_units": _l("New units"),
    "residents": _l("New residents"), "residencies": _l("New residencies"), "file": _l("File"),
}


def _names(model, ids) -> dict:
    ids = {i for i in ids if isinstance(i, int)}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all()) if ids else {}


def _present(entries: list[AuditEntry]):
    """Each entry's (field label, before, after) with ids shown as names and flags as yes/no."""
    def load(text):
        try:
            value = json.loads(text) if text else {}
        except ValueError:
            value = {}
        return value if isinstance(value, dict) else {"value": value}
    loaded = {e.id: (load(e.before), load(e.after)) for e in entries}
    values = [v for b, a in loaded.values() for d in (b, a) for v in d.items()]
    wanted = lambda *keys: {x for k, v in values if k in keys for x in (v if isinstance(v, list) else [v])}  # noqa: E731
    estates = _names(Estate, wanted("estate_ids", "estate_id"))
    departments = _names(Department, wanted("department_id", "default_department_id"))
    buildings = _names(Building, wanted("building_id"))

    def show(key, value):
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if key == "estate_ids" and isinstance(value, list):
            return "、".join(str(estates.get(i, i)) for i in value) or "—"
        lookup = {"estate_id": estates, "department_id": departments, "default_department_id": departments,
                  "building_id": buildings}.get(key)
        if lookup is not None:
            return lookup.get(value, value)
        if key == "role":
            return label(ROLE, value)
        if key == "relation":
            return label(RELATION, value)
        return value

    out = {}
    for entry_id, (before, after) in loaded.items():
        out[entry_id] = [(str(FIELDS.get(k, k)), show(k, before.get(k)), show(k, after.get(k)))
                         for k in sorted(set(before) | set(after))]
    return out


def _start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone())


@bp.route("/admin/audit")
@role_required(Role.MANAGER)
def audit_log():
    """Every administration change this manager may see, newest first, filtered and in pages."""
    estates = scope.estates(current_user)
    filters, values = list_filter(
        AuditFilter, object_type=opts([("", _("All objects"))] + [(k, v) for k, v in OBJECT_TYPES.items()]),
        estate=opts([("", _("All estates"))] + [(str(e.id), e.name) for e in estates]))
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if not scope.is_company(current_user):  # their estates' entries, and their own changes
        ids = scope.estate_ids(current_user) or {-1}
        stmt = stmt.where(AuditEntry.estate_id.in_(ids) | (AuditEntry.actor_id == current_user.id))
    if values.get("object_type"):
        stmt = stmt.where(AuditEntry.object_type == values["object_type"])
    if values.get("estate"):
        stmt = stmt.where(AuditEntry.estate_id == int(values["estate"]))
    if values.get("actor"):
        pattern = like(values["actor"])
        stmt = stmt.where(AuditEntry.actor_id.in_(select(User.id).where(
            User.display_name.ilike(pattern, escape="\\") | User.username.ilike(pattern, escape="\\"))))
    if values.get("since"):
        stmt = stmt.where(AuditEntry.at >= _start(values["since"]))
    if values.get("until"):
        stmt = stmt.where(AuditEntry.at < _start(values["until"] + timedelta(days=1)))
    args = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in list_args(values).items()}
    page = page_of(stmt, 50)
    return render("admin/audit.html", "admin/_audit.html", "audit-list", filters=filters, page=page,
                  args=args, diffs=_present(page.items), types=OBJECT_TYPES, actions=ACTIONS,
                  estate_names={e.id: e.name for e in estates})
