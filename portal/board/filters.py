"""The filter form shared by the board, the resident's list and the department queue."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SearchField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from portal import labels
from portal.cases.service import category_choices, department_choices, estate_choices
from portal.forms import DateField, QuickSelectField, validated
from portal.models import Role

SORT_LABELS = {
    "newest": _l("Newest first"), "oldest": _l("Oldest first"), "updated": _l("Recently updated"),
    "due": _l("Deadline"), "promised": _l("Promised time"), "number": _l("Case number"),
    "queue": _l("New and returned first, then deadline"),
}


def _blank(choices):
    return labels.opts([("", _l("All"))]) + [c if isinstance(c, SelectChoice) else SelectChoice(*c) for c in choices]


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # GET filters change nothing

    q = SearchField(_l("Search"), validators=[Optional()])
    status = QuickSelectField(_l("Status"), choices=_blank(labels.opts([("open", _l("All open")),
                                                                   ("to_dispatch", _l("Not yet dispatched"))])
                                                      + labels.choices(labels.STATUS)),
                         validators=[Optional()])
    kind = QuickSelectField(_l("Kind"), choices=_blank(labels.choices(labels.KIND)), validators=[Optional()])
    severity = QuickSelectField(_l("Severity"), choices=_blank(labels.choices(labels.SEVERITY)), validators=[Optional()])
    channel = QuickSelectField(_l("Channel"), choices=_blank(labels.choices(labels.CHANNEL)), validators=[Optional()])
    category = QuickSelectField(_l("Category"), validators=[Optional()])
    department = QuickSelectField(_l("Department"), validators=[Optional()])
    site = QuickSelectField(_l("Site"), validators=[Optional()])
    overdue = BooleanField(_l("Overdue only"))
    due = QuickSelectField(_l("Due"), choices=_blank(labels.opts([("today", _l("Due today"))])), validators=[Optional()])
    mine = BooleanField(_l("Registered by me"))
    date_from = DateField(_l("Received from"), validators=[Optional()])
    date_to = DateField(_l("Received to"), validators=[Optional()])
    sort = QuickSelectField(_l("Sort"), choices=labels.opts(SORT_LABELS.items()), default="newest", validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1)], default=1)


def filter_form(formdata, user) -> FilterForm:
    """The board's filter form bound to query args, with its database choices (sites: the user's), validated."""
    form = FilterForm(formdata=formdata)
    form.category.choices = _blank((str(i), n) for i, n in category_choices(user))
    form.department.choices = _blank((str(i), n) for i, n in department_choices(user))
    form.site.choices = _blank((str(i), n) for i, n in estate_choices(user))
    if user.role == Role.RESIDENT:  # triage and clocks are internal (SPEC §9): not even as a filter or sort
        del form.severity
        del form.overdue
        form.sort.choices = labels.opts((k, v) for k, v in SORT_LABELS.items() if k != "due")
    form.validate()
    return form


def filter_values(form: FilterForm) -> dict:
    """Only values that passed validation reach the query; bad ones are ignored."""
    values = validated(form)
    for key in ("category", "department", "site"):
        if key in values:
            values[key] = int(values[key]) if str(values[key]).isdigit() else None
    return values
