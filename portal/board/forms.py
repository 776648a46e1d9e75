"""Forms of the board: saving a view, and the bulk actions on selected rows."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, StringField
from portal.forms import QuickSelectField
from portal.labels import opts
from wtforms.validators import DataRequired, Length, Optional


class SaveViewForm(FlaskForm):
    name = StringField(_l("Name of this view"), validators=[DataRequired(_l("Give the view a name.")), Length(max=40)])
    query = HiddenField(validators=[Length(max=1000)])


class DeleteViewForm(FlaskForm):
    pass


class BulkForm(FlaskForm):
    """Several selected cases and one action for all of them (each goes through the action table)."""

    case_ids = SelectMultipleField(_l("Selected cases"), coerce=int, validate_choice=False,
                                   validators=[DataRequired(_l("Select at least one case."))])
    action = QuickSelectField(_l("Action"), choices=opts([("classify", _l("Classify")), ("dispatch", _l("Dispatch"))]),
                         validators=[DataRequired()])
    category_id = QuickSelectField(_l("Category"), coerce=int, validate_choice=False, validators=[Optional()])
    severity = QuickSelectField(_l("Severity"), validators=[Optional()])
    department_id = QuickSelectField(_l("Department"), coerce=int, validate_choice=False, validators=[Optional()])
    note = StringField(_l("Dispatch instruction"), validators=[Optional(), Length(max=500)])
