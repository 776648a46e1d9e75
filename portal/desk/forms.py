"""The clerk's registration form for a case from any channel."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal import labels
from portal.forms import DateTimeLocalField


class RegisterForm(FlaskForm):
    resident_id = IntegerField(_l("Resident"), validators=[Optional()])
    kind = SelectField(_l("Kind"), choices=labels.choices(labels.KIND), validators=[DataRequired()])
    channel = SelectField(_l("Channel"), choices=labels.choices(labels.CHANNEL), default="phone",
                          validators=[DataRequired()])
    received_at = DateTimeLocalField(_l("Received at"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     validators=[Optional()])
    category_id = SelectField(_l("Category"), coerce=int, validators=[InputRequired(_l("Choose a category."))])
    # strip_whitespace=False: plain Optional() takes "  " for blank and skips the choice check,
    # which would leave "  " as the severity.
    severity = SelectField(_l("Severity"), choices=labels.opts([("", _l("Classify later"))]) + labels.choices(labels.SEVERITY),
                           validators=[Optional(strip_whitespace=False)])
    urgent = BooleanField(_l("Urgent repair (dispatch immediately)"))
    location_type = SelectField(_l("Where"), choices=labels.opts([("unit", _l("Resident's unit")), ("common", _l("Common area"))]),
                                default="unit")
    estate_id = SelectField(_l("Site"), coerce=int, validators=[Optional()],
                            description=_l("For a common area or a caller without an account; a resident's unit sets it."))
    # No Optional() where a validate_<field> method holds a cross-field rule: it would stop the chain.
    location = StringField(_l("Location details"), validators=[Length(max=200)])
    description = TextAreaField(_l("What happened"),
                                validators=[DataRequired(_l("Describe the problem.")), Length(max=4000)])
    request = TextAreaField(_l("The resident's request"), validators=[Optional(), Length(max=2000)])
    subject = StringField(_l("Complained-about party"), validators=[Optional(), Length(max=200)])
    misconduct = BooleanField(_l("Staff misconduct"))
    witnesses = TextAreaField(_l("Witnesses"), validators=[Length(max=2000)])
    evidence = TextAreaField(_l("Evidence"), validators=[Optional(), Length(max=2000)])
    contact_name = StringField(_l("Contact name"), validators=[Length(max=50)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=30)])
    photos = MultipleFileField(_l("Photos (up to 5)"))
    # Set by the "register as a new case anyway" button once the clerk has seen the open cases it may duplicate.
    new_anyway = BooleanField(_l("Register as a new case anyway"))

    def validate_category_id(self, field):
        if not field.data:
            raise ValidationError(_l("Choose a category."))

    def validate_contact_name(self, field):
        if not self.resident_id.data and not (field.data or "").strip():
            raise ValidationError(_l("Choose a resident above, or give a contact name."))

    def validate_witnesses(self, field):
        if self.misconduct.data and not (field.data or "").strip() and not (self.evidence.data or "").strip():
            raise ValidationError(_l("A misconduct complaint needs witnesses or evidence."))

    def validate_location(self, field):
        if (self.location_type.data == "common" or not self.resident_id.data) and not (field.data or "").strip():
            raise ValidationError(_l("Say where."))


class AppendForm(FlaskForm):
    """The registration form's fields that "add to this case" reads (it posts the same form)."""

    channel = SelectField(_l("Channel"), choices=labels.choices(labels.CHANNEL), validators=[Optional()])
    description = TextAreaField(_l("What happened"),
                                validators=[DataRequired(_l("Describe the problem.")), Length(max=4000)])
    contact_name = StringField(_l("Contact name"), validators=[Optional(), Length(max=50)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=30)])
    photos = MultipleFileField(_l("Photos (up to 5)"))  # the registration form's, carried to the case
