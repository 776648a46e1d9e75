"""Sign-in, registration, password, unit-claim and language forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from portal import labels
from portal.auth.phone import normalize_phone
from portal.models import Relation

RELATION = {Relation.OWNER: _l("Unit owner"), Relation.FAMILY: _l("Family member"), Relation.TENANT: _l("Tenant")}


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter your username.")), Length(max=50)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)])
    next = HiddenField()


def _mobile(form, field):
    phone = normalize_phone(field.data)
    if phone is None:
        raise ValidationError(_l("Enter an 11-digit mainland mobile number, such as 138 0013 8000."))
    field.data = phone


class CodeSignInForm(FlaskForm):
    """Mobile number and SMS code: the "send" button asks for a code, the other signs in."""
    phone = StringField(_l("Mobile number"), validators=[DataRequired(_l("Enter your mobile number.")),
                                                         Length(max=30), _mobile])
    code = StringField(_l("SMS code"), validators=[Optional(), Length(max=12)])
    send = SubmitField(_l("Send code"))
    next = HiddenField()

    def validate_code(self, field):
        if self.send.data:
            return
        if not (field.data or "").strip():
            raise ValidationError(_l("Enter the 6-digit code from the SMS."))
        if not (field.data.strip().isascii() and field.data.strip().isdigit() and len(field.data.strip()) == 6):
            raise ValidationError(_l("The code has 6 digits."))


class RegisterForm(CodeSignInForm):
    name = StringField(_l("Your name"), validators=[Optional(), Length(max=50)])


class ClaimForm(FlaskForm):
    estate_id = SelectField(_l("Estate"), coerce=int, validators=[DataRequired(_l("Choose your estate."))])
    building = StringField(_l("Building"), validators=[DataRequired(_l("Enter the building, such as 1栋.")),
                                                       Length(max=50)])
    unit = StringField(_l("Unit number"), validators=[DataRequired(_l("Enter the unit number, such as 0101.")),
                                               Length(max=20)])
    relation = SelectField(_l("You are the unit's"), choices=labels.choices(RELATION),
                           validators=[DataRequired(_l("Choose owner, family member or tenant."))])
    note = TextAreaField(_l("Note for the service centre (optional)"), validators=[Optional(), Length(max=500)])


class RefuseClaimForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give the resident a reason.")),
                                                     Length(max=500)])


class NewPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a new password.")),
                                                                 Length(max=200)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(_l("Repeat the new password.")),
        EqualTo("new_password", _l("The two passwords differ."))])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[Optional(), Length(max=200)])


class ResetRequestForm(FlaskForm):
    login = StringField(_l("Username or e-mail"), validators=[DataRequired(_l("Enter your username or e-mail.")),
                                                              Length(max=120)])


class EmptyForm(FlaskForm):
    """For button-only POSTs: carries the CSRF token."""


class TotpCodeForm(FlaskForm):
    code = StringField(_l("Code from the app, or a recovery code"),
                       validators=[DataRequired(_l("Enter the code your authenticator app shows.")), Length(max=20)])


class PasswordConfirmForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(_l("Enter your password.")),
                                                              Length(max=200)])
