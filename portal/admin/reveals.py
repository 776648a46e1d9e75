"""The disclosure log for managers: which member of staff revealed which complainant's number, when."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from portal.access import role_required
from portal.admin import bp, scope
from portal.admin.listing import like, list_args, list_filter, page_of
from portal.forms import DateField
from portal.htmx import render
from portal.labels import opts
from portal.models import Case, PhoneReveal, Role, User
from portal.timeutil import local_zone


class RevealFilter(FlaskForm):
    class Meta:
        csrf = False

    who = StringField(_l("Revealed by"), validators=[Optional(), Length(max=50)])
    case = StringField(_l("Case number"), validators=[Optional(), Length(max=20)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    estate = SelectField(_l("Estate"), validators=[Optional()])


def _start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone())


@bp.route("/admin/phone-reveals")
@role_required(Role.MANAGER)
def phone_reveals():
    """Every reveal of a complainant's number in this manager's estates, newest first, filtered and in pages."""
    estates = scope.estates(current_user)
    filters, values = list_filter(RevealFilter, estate=opts([("", _("All estates"))] + [(str(e.id), e.name)
                                                                                         for e in estates]))
    stmt = (select(PhoneReveal).options(joinedload(PhoneReveal.user), joinedload(PhoneReveal.case))
            .order_by(PhoneReveal.at.desc(), PhoneReveal.id.desc()))
    if not scope.is_company(current_user):
        stmt = stmt.where(PhoneReveal.estate_id.in_(scope.estate_ids(current_user) or {-1}))
    if values.get("estate"):
        stmt = stmt.where(PhoneReveal.estate_id == int(values["estate"]))
    if values.get("who"):
        pattern = like(values["who"])
        stmt = stmt.where(PhoneReveal.user_id.in_(select(User.id).where(
            User.display_name.ilike(pattern, escape="\\") | User.username.ilike(pattern, escape="\\"))))
    if values.get("case"):
        stmt = stmt.where(PhoneReveal.case_id.in_(select(Case.id).where(
            Case.number.ilike(like(values["case"]), escape="\\"))))
    if values.get("since"):
        stmt = stmt.where(PhoneReveal.at >= _start(values["since"]))
    if values.get("until"):
        stmt = stmt.where(PhoneReveal.at < _start(values["until"] + timedelta(days=1)))
    args = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in list_args(values).items()}
    return render("admin/phone_reveals.html", "admin/_phone_reveals.html", "reveal-list", filters=filters,
                  page=page_of(stmt, 50), args=args, estate_names={e.id: e.name for e in estates})
