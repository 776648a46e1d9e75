"""Forms for residents and staff accounts."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.admin.forms import ListFilter
from portal.forms import DateField

NAME = dict(validators=[DataRequired(_l("Enter a name.")), Length(max=50)])
MOBILE = dict(validators=[DataRequired(_l("Enter the mobile number.")), Length(max=30)])


class ResidentFilter(ListFilter):
    inactive = BooleanField(_l("Show residents who moved out"))


class HouseholdForm(FlaskForm):
    """A resident moves into a unit."""

    estate_id = SelectField(_l("Estate"), coerce=int, validators=[DataRequired(_l("Choose an estate."))])
    unit = StringField(_l("Housing unit"), validators=[DataRequired(_l("Enter the unit, e.g. 1栋-0101.")), Length(max=80)])
    relation = SelectField(_l("Relation"), validators=[DataRequired()])
    moved_in = DateField(_l("Moved in"), validators=[DataRequired(_l("Enter the move-in date."))])


class AddResidentForm(HouseholdForm):
    name = StringField(_l("Name"), **NAME)
    mobile = StringField(_l("Mobile"), **MOBILE)


class ResidentForm(FlaskForm):
    name = StringField(_l("Name"), **NAME)
    mobile = StringField(_l("Mobile"), **MOBILE)
    wechat_openid = StringField(_l("WeChat openid"), filters=[lambda v: (v or "").strip()], validators=[
        Optional(), Regexp(r"^[A-Za-z0-9_-]{20,64}$", message=_l(
            "An openid is 20 to 64 letters, digits, dashes or underscores, as the service account shows it."))],
        description=_l("The resident's openid on the company's WeChat service account: notices then go there "
                       "instead of by SMS. Leave empty to unlink."))


class MoveOutForm(FlaskForm):
    moved_out = DateField(_l("Moved out on"), validators=[DataRequired(_l("Enter the move-out date."))])


class StaffFilter(ListFilter):
    role = SelectField(_l("Role"), validators=[Optional()])


class StaffForm(FlaskForm):
    display_name = StringField(_l("Name"), **NAME)
    phone = StringField(_l("Mobile"), validators=[Optional(), Length(max=30)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), validators=[DataRequired(_l("Choose a role."))])
    estates = SelectMultipleField(_l("Estates"), coerce=int, validators=[Optional()])
    department_id = SelectField(_l("Department"), coerce=int, validators=[Optional()])
    department_head = BooleanField(_l("Department head (assigns the department's cases)"))
    manager_level = SelectField(_l("Manager level"), coerce=int, validators=[Optional()])
    company_wide = BooleanField(_l("Company level (sees every estate)"))


class NewStaffForm(StaffForm):
    username = StringField(_l("User name"), validators=[
        DataRequired(_l("Enter a user name.")), Length(min=3, max=50, message=_l(
            "Use %(min)d to %(max)d characters.")),
        Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Use letters, digits, dots, dashes and underscores only."))])
