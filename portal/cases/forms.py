"""Forms for filing a case and for each lifecycle action."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal import labels
from portal.forms import DateTimeLocalField

NOTE_MAX = 2000


class VersionedForm(FlaskForm):
    """Carries the case version the user saw, for optimistic locking."""
    version = HiddenField()


class NoteForm(VersionedForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])


class RequiredNoteForm(VersionedForm):
    note = TextAreaField(_l("Text"), validators=[DataRequired(_l("This field is required.")), Length(max=NOTE_MAX)])


class ReplyForm(RequiredNoteForm):
    note = TextAreaField(_l("Reply to the resident"),
                         validators=[DataRequired(_l("Write the reply to the resident.")), Length(max=NOTE_MAX)])


class ReasonForm(RequiredNoteForm):
    note = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=NOTE_MAX)])


class ExplanationForm(RequiredNoteForm):
    note = TextAreaField(_l("Explanation for the resident"),
                         validators=[DataRequired(_l("Write the explanation the resident will read.")),
                                     Length(max=NOTE_MAX)])


class InstructionForm(RequiredNoteForm):
    note = TextAreaField(_l("Instruction for the department"),
                         validators=[DataRequired(_l("Write the instruction for the department.")),
                                     Length(max=NOTE_MAX)])


class CommentForm(RequiredNoteForm):
    note = TextAreaField(_l("Comment"), validators=[DataRequired(_l("Write a comment.")), Length(max=NOTE_MAX)])
    photos = MultipleFileField(_l("Photos (up to 5)"))


class ClassifyForm(VersionedForm):
    category_id = SelectField(_l("Category"), coerce=int, validators=[InputRequired(_l("Choose a category."))])
    severity = SelectField(_l("Severity"), choices=labels.opts([("", _l("— choose —"))]) + labels.choices(labels.SEVERITY),
                           validators=[DataRequired(_l("Choose a severity."))])
    urgent = BooleanField(_l("Urgent repair"))
    group_complaint = BooleanField(_l("Group complaint"))
    agitated = BooleanField(_l("Agitated resident"))


class DispatchForm(VersionedForm):
    """Dispatch or reassignment: what the department is told and, apart, what the resident reads (SPEC §9)."""
    department_id = SelectField(_l("Department"), coerce=int,
                                validators=[InputRequired(_l("Choose a department."))])
    note = TextAreaField(_l("Instruction to the department (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])
    message = TextAreaField(_l("Message to the resident (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])


class OverturnForm(RequiredNoteForm):
    note = TextAreaField(_l("Message to the resident"),
                         validators=[DataRequired(_l("Say why the verdict is overturned.")), Length(max=NOTE_MAX)])


class PlanForm(VersionedForm):
    finding = TextAreaField(_l("Investigation finding"),
                            validators=[DataRequired(_l("Describe what the investigation found.")), Length(max=NOTE_MAX)])
    plan = TextAreaField(_l("Plan"), validators=[DataRequired(_l("Describe the plan.")), Length(max=NOTE_MAX)])
    promised_at = DateTimeLocalField(_l("Promised finish time"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                     validators=[DataRequired(_l("Give the promised finish time."))])


class CompleteForm(VersionedForm):
    note = TextAreaField(_l("What was done"),
                         validators=[DataRequired(_l("Describe what was done.")), Length(max=NOTE_MAX)])
    photos_before = MultipleFileField(_l("Photos before the work (up to 5)"))
    photos = MultipleFileField(_l("Photos after the work (up to 5)"))
    # The resident, when present, confirms on the technician's phone by typing their name.
    resident_present = BooleanField(_l("The resident is here and confirms the work"))
    resident_confirmation = StringField(_l("Resident: type your name to confirm"),
                                        validators=[Optional(), Length(max=50)])

    def validate_resident_confirmation(self, field):
        from wtforms.validators import ValidationError
        if self.resident_present.data and not (field.data or "").strip():
            raise ValidationError(_l("The resident types their name to confirm, or untick the box."))


class AssignForm(VersionedForm):
    """The head assigns a technician; the case's technician hands it over (choices: the department's staff)."""
    assignee_id = SelectField(_l("Technician"), coerce=int,
                              validators=[InputRequired(_l("Choose a technician of the department."))])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])


class ThirdPartyForm(VersionedForm):
    third_party = StringField(_l("Responsible party (contractor, utility, developer)"),
                              validators=[DataRequired(_l("Name the party being chased.")), Length(max=200)])
    note = TextAreaField(_l("Explanation for the resident"),
                         validators=[DataRequired(_l("Write the explanation the resident will read.")),
                                     Length(max=NOTE_MAX)])


ACTION_FORMS = {
    "acknowledge": ReplyForm,
    "classify": ClassifyForm,
    "dispatch": DispatchForm,
    "reassign": DispatchForm,
    "mark_invalid": ReasonForm,
    "overturn": OverturnForm,
    "accept": NoteForm,
    "plan": PlanForm,
    "complete": CompleteForm,
    "third_party": ThirdPartyForm,
    "resume": NoteForm,
    "await_resident": ReasonForm,
    "instruct": InstructionForm,
    "assign": AssignForm,
    "take": NoteForm,
    "hand_over": AssignForm,
    "take_over": NoteForm,
    "cannot_handle": ExplanationForm,
    "confirm": NoteForm,
    "reject": ReasonForm,
    "close": NoteForm,
    "comment": CommentForm,
}


class NewCaseForm(FlaskForm):
    """A resident files a case from a phone."""
    # The resident's current units; offered only when there are several (one is chosen silently).
    unit_id = SelectField(_l("Unit"), coerce=int, validate_choice=False, validators=[Optional()])
    kind = SelectField(_l("Kind"), choices=labels.choices(labels.KIND),
                       validators=[DataRequired(_l("Choose what kind of case this is."))])
    category_id = SelectField(_l("Category"), coerce=int, validators=[InputRequired(_l("Choose a category."))])
    location_type = SelectField(_l("Where"), choices=labels.choices(labels.LOCATION), default="unit",
                                validators=[DataRequired()])
    location = StringField(_l("Location details"), validators=[Length(max=200)])  # see validate_location
    description = TextAreaField(_l("What happened"),
                                validators=[DataRequired(_l("Describe the problem.")), Length(max=4000)])
    request = TextAreaField(_l("What you would like us to do"), validators=[Optional(), Length(max=2000)])
    contact_phone = StringField(_l("Contact phone for the reply"), validators=[Optional(), Length(max=30)])
    photos = MultipleFileField(_l("Photos (up to 5)"))

    def validate_unit_id(self, field):
        from wtforms.validators import ValidationError
        if len(field.choices) > 1 and field.data not in [value for value, _label in field.choices]:
            raise ValidationError(_l("Choose the unit."))

    def validate_category_id(self, field):
        from wtforms.validators import ValidationError
        # One rule every time (the choice 0 is "— choose —"), unless the estate offers none.
        if not field.data and len(field.choices) > 1:
            raise ValidationError(_l("Choose a category."))

    def chosen_unit(self) -> int | None:
        """The unit the case is about: the only one, or the one chosen."""
        if len(self.unit_id.choices) == 1:
            return self.unit_id.choices[0][0]
        return self.unit_id.data or None

    def validate_location(self, field):
        from wtforms.validators import ValidationError
        if self.location_type.data == "common" and not (field.data or "").strip():
            raise ValidationError(_l("Say where in the common area."))
