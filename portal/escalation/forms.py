"""The escalation board's filter form and the acknowledgement form."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal import labels
from portal.sla.alerts import LEVELS, RULES

SHOW = {
    "open": _l("Open (not acknowledged, case open)"),
    "unacknowledged": _l("Not acknowledged (any case)"),
    "acknowledged": _l("Acknowledged"),
    "all": _l("All"),
}


class EscalationFilterForm(FlaskForm):
    class Meta:
        csrf = False  # GET filters change nothing

    show = SelectField(_l("Show"), choices=labels.opts(SHOW.items()), default="open", validators=[Optional()])
    level = SelectField(_l("Level"), choices=labels.opts([("", _l("All"))] + [(str(k), v) for k, v in LEVELS.items()
                                                                            if k >= 1]),
                        validators=[Optional()])
    rule = SelectField(_l("Rule"), choices=labels.opts([("", _l("All"))] + list(RULES.items())),
                       validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1)], default=1)


class AcknowledgeForm(FlaskForm):
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])


class BulkAcknowledgeForm(FlaskForm):
    """Acknowledge several escalations at once, with one optional note for all."""

    alert_ids = SelectMultipleField(_l("Selected escalations"), coerce=int, validate_choice=False,
                                    validators=[DataRequired(_l("Select at least one escalation."))])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])
