"""The upload form and the confirm button."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField
from wtforms.validators import DataRequired


class UploadForm(FlaskForm):
    estate = SelectField(_l("Estate"), coerce=int, validate_choice=True,
                         validators=[DataRequired(_l("Choose the estate the register belongs to."))])
    file = FileField(_l("Register file (XLSX or CSV)"),
                     validators=[FileRequired(_l("Choose the register file to upload."))])

    def __init__(self, *args, estates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.estate.choices = [(e.id, e.name) for e in estates]


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
