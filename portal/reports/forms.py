"""The month/site chooser, improvement actions and their follow-up."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal import labels
from portal.access import estate_ids, own_estate_choices
from portal.extensions import db
from portal.forms import DateField
from portal.models import ActionStatus, Estate
from portal.reports.periods import MONTH_RE

ACTION_STATUS = {
    ActionStatus.PLANNED: _l("Planned"), ActionStatus.IN_PROGRESS: _l("In progress"),
    ActionStatus.DONE: _l("Done"), ActionStatus.DROPPED: _l("Dropped"),
}


def site_choices(user) -> list:
    """The user's sites; "All sites" only for the company's managers (an estate manager reports on one)."""
    rows = own_estate_choices(user, db.session.execute(db.select(Estate.id, Estate.name).order_by(Estate.name)))
    every = labels.opts([("", _l("All sites"))]) if estate_ids(user) is None else []
    return every + labels.opts((str(i), n) for i, n in rows)


class ScopeForm(FlaskForm):
    """GET: which month and site (CSRF off, changes nothing)."""

    class Meta:
        csrf = False

    month = StringField(_l("Month"), validators=[Optional(), Regexp(MONTH_RE, message=_l("Choose a month."))])
    site = SelectField(_l("Site"), validators=[Optional()])


class GenerateForm(FlaskForm):
    """Button-only POST: generate the month's report."""


class ActionForm(FlaskForm):
    problem = TextAreaField(_l("Problem found"), validators=[DataRequired(_l("Describe the problem.")),
                                                             Length(max=2000)])
    action = TextAreaField(_l("Improvement action"), validators=[DataRequired(_l("Describe the action.")),
                                                                 Length(max=2000)])
    owner = StringField(_l("Responsible"), validators=[Optional(), Length(max=100)])
    due_on = DateField(_l("Due by"), validators=[Optional()])
    disclose = BooleanField(_l("Tell residents once done (text only, on the disclosure page)"), default=True)


class FollowUpForm(FlaskForm):
    status = SelectField(_l("Status"), choices=labels.choices(ACTION_STATUS))
    follow_up = TextAreaField(_l("Follow-up"), validators=[Optional(), Length(max=2000)])
