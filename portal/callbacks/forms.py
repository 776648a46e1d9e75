"""Forms for recording a callback, the resident's survey, plans and maintenance works."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal import labels as base_labels
from portal.callbacks import labels
from portal.forms import DateField, DateTimeLocalField

TEXT_MAX = 2000
DT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def _choices(mapping):
    return base_labels.opts((k.value, v) for k, v in mapping.items())


def _ratings():
    return base_labels.opts([("", _l("—"))] + labels.RATINGS)


def _rating(value):
    return int(value) if value not in (None, "") else None


class SurveyFields(FlaskForm):
    """What the resident tells us, by phone or online."""
    # Not plain Optional(): it takes "  " for blank and skips the choice check (see desk.forms).
    satisfaction = RadioField(_l("Satisfaction"), choices=_choices(labels.SATISFACTION),
                              validators=[Optional(strip_whitespace=False)])
    quality_rating = SelectField(_l("Quality of the work (1–5)"), choices=_ratings(), coerce=_rating,
                                 validators=[Optional()])
    effect_rating = SelectField(_l("Effect of the service (1–5)"), choices=_ratings(), coerce=_rating,
                                validators=[Optional()])
    shortcomings = TextAreaField(_l("Shortcomings"), validators=[Optional(), Length(max=TEXT_MAX)])
    suggestions = TextAreaField(_l("Suggestions"), validators=[Optional(), Length(max=TEXT_MAX)])


class RecordForm(SurveyFields):
    """A clerk's or manager's callback: reached or not, and what the resident said."""
    method = SelectField(_l("Method"), choices=_choices(labels.METHOD), default="phone",
                         validators=[DataRequired()])
    reached = RadioField(_l("Reached the resident?"), choices=base_labels.opts(
        [("yes", _l("Reached")), ("no", _l("Not reached"))]), validators=[InputRequired(_l("Say whether you reached the resident."))])
    confirmed = BooleanField(_l("The resident confirmed this record"))
    question = TextAreaField(_l("Question to answer later (optional)"), validators=[Optional(), Length(max=TEXT_MAX)])
    promised_reply_at = DateTimeLocalField(_l("Promised reply time"), format=DT_FORMATS, validators=[Optional()])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=TEXT_MAX)])

    def validate_satisfaction(self, field):
        if self.reached.data == "yes" and not field.data:
            raise ValidationError(_l("Choose how satisfied the resident is."))

    def validate_promised_reply_at(self, field):
        if self.reached.data == "yes" and (self.question.data or "").strip() and not field.data:
            raise ValidationError(_l("Give the time by which the resident gets the answer."))


class SurveyForm(SurveyFields):
    """The resident answers online."""
    satisfaction = RadioField(_l("How satisfied are you with how we handled it?"),
                              choices=_choices(labels.SATISFACTION),
                              validators=[InputRequired(_l("Choose how satisfied you are."))])


class PromiseAnswerForm(FlaskForm):
    promise_id = HiddenField()
    answer = TextAreaField(_l("Reply"), validators=[DataRequired(_l("Write the reply.")), Length(max=TEXT_MAX)])


class GeneratePlanForm(FlaskForm):
    month = StringField(_l("Month (YYYY-MM)"), validators=[DataRequired(_l("Give the month.")), Length(max=7)])

    def validate_month(self, field):
        import re
        if not re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", field.data or ""):
            raise ValidationError(_l("Use the form YYYY-MM."))


class PlanItemForm(FlaskForm):
    """A manager adds a household to a draft plan."""
    unit_id = SelectField(_l("Household"), coerce=int, validators=[InputRequired(_l("Choose a household."))])
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    day = DateField(_l("Call in the week of"), validators=[DataRequired(_l("Give a date in the plan's month."))])


class EmptyForm(FlaskForm):
    """Button-only POSTs."""


class WorksForm(FlaskForm):
    title = StringField(_l("Works"), validators=[DataRequired(_l("Describe the works.")), Length(max=200)])
    completed_on = DateField(_l("Completed on"), validators=[DataRequired(_l("Give the completion date."))])
    buildings = SelectMultipleField(_l("Buildings affected"), coerce=int,
                                    validators=[DataRequired(_l("Choose at least one building."))])


class DrawCheckForm(FlaskForm):
    """Recompute one draw from a published seed (a GET form: it changes nothing)."""

    class Meta:
        csrf = False

    month = StringField(_l("Month"), validators=[Optional(), Length(max=7)])
    key = StringField(_l("Key"), validators=[Optional(), Length(max=60)])
    rate = StringField(_l("Rate %"), validators=[Optional(), Length(max=3)])
