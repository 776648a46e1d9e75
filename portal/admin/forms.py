"""Manager settings forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, Optional


class PhraseForm(FlaskForm):
    text = StringField(_l("Phrase"), validators=[DataRequired(_l("Write the phrase.")), Length(max=200)])
    position = IntegerField(_l("Order"), validators=[Optional()], default=0)
    active = BooleanField(_l("In use"), default=True)
