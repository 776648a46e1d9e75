"""Manager settings and administration forms."""
import math

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, SearchField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from portal.labels import opts
from portal.org import PHRASE_USES


class PhraseForm(FlaskForm):
    text = StringField(_l("Phrase"), validators=[DataRequired(_l("Write the phrase.")), Length(max=200)])
    position = IntegerField(_l("Order"), default=0, validators=[
        Optional(), NumberRange(min=0, max=9999, message=_l("Enter a number from %(min)s to %(max)s."))])
    active = BooleanField(_l("In use"), default=True)
    use = SelectField(_l("Used for"), choices=opts([("", _l("Any reply"))] + [(k, v) for k, v in PHRASE_USES.items()]),
                      default="", validators=[Optional(strip_whitespace=False)])


# --- estates, buildings, units, departments, categories --------------------------------------------

def _finite(form, field):
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError(_l("Enter a number."))


NAME_NEEDED = _l("Enter a name.")
ORDER = dict(default=0, validators=[Optional(), NumberRange(min=0, max=9999, message=_l(
    "Enter a number from %(min)s to %(max)s."))])


class ListFilter(FlaskForm):
    """A list's search box (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=100)])
    inactive = BooleanField(_l("Show deactivated"))


class EstateForm(FlaskForm):
    name = StringField(_l("Estate name"), validators=[DataRequired(NAME_NEEDED), Length(max=100)])
    position = IntegerField(_l("Order"), **ORDER)
    active = BooleanField(_l("In use"), default=True)


class BuildingForm(FlaskForm):
    name = StringField(_l("Building"), validators=[DataRequired(NAME_NEEDED), Length(max=50)])
    active = BooleanField(_l("In use"), default=True)


class UnitForm(FlaskForm):
    building_id = SelectField(_l("Building"), coerce=int, validators=[DataRequired(_l("Choose a building."))])
    number = StringField(_l("Unit number"), validators=[DataRequired(_l("Enter the unit number.")),
                                                        Length(max=20)])
    area = FloatField(_l("Area (m²)"), validators=[Optional(), NumberRange(
        min=0, max=100000, message=_l("Enter a number from %(min)s to %(max)s.")), _finite])
    active = BooleanField(_l("In use"), default=True)


class DepartmentForm(FlaskForm):
    name = StringField(_l("Department name"), validators=[DataRequired(NAME_NEEDED), Length(max=50)])
    estate_id = SelectField(_l("Estate"), coerce=int, validators=[Optional()])
    position = IntegerField(_l("Order"), **ORDER)
    active = BooleanField(_l("In use"), default=True)


class CategoryForm(FlaskForm):
    name = StringField(_l("Category name"), validators=[DataRequired(NAME_NEEDED), Length(max=50)])
    estate_id = SelectField(_l("Estate"), coerce=int, validators=[Optional()])
    default_department_id = SelectField(_l("Default department"), coerce=int, validators=[Optional()])
    position = IntegerField(_l("Order"), **ORDER)
    active = BooleanField(_l("In use"), default=True)


class OverrideForm(FlaskForm):
    """An estate's own default department for a company category, or the category off there."""

    default_department_id = SelectField(_l("Default department here"), coerce=int, validators=[Optional()])
    active = BooleanField(_l("Offered at this estate"), default=True)


class ButtonForm(FlaskForm):
    """A button-only POST (deactivate, reactivate, new password): just the CSRF token."""
