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
from portal.labels import opts
from portal.models import AuditEntry, Role, User
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


def _diff(entry: AuditEntry) -> list[tuple[str, object, object]]:
    """(field, before, after) for the entry's fields."""
    def load(text):
        try:
            value = json.loads(text) if text else {}
        except ValueError:
            value = {}
        return value if isinstance(value, dict) else {"value": value}
    before, after = load(entry.before), load(entry.after)
    return [(k, before.get(k, ""), after.get(k, "")) for k in sorted(set(before) | set(after))]


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
    return render("admin/audit.html", "admin/_audit.html", "audit-list", filters=filters, page=page_of(stmt, 50),
                  args=args, diff=_diff, types=OBJECT_TYPES, actions=ACTIONS,
                  estate_names={e.id: e.name for e in estates})
