"""Manager settings forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class PhraseForm(FlaskForm):
    text = StringField(_l("Phrase"), validators=[DataRequired(_l("Write the phrase.")), Length(max=200)])
    position = IntegerField(_l("Order"), default=0, validators=[
        Optional(), NumberRange(min=0, max=9999, message=_l("Enter a number from %(min)s to %(max)s."))])
    active = BooleanField(_l("In use"), default=True)
