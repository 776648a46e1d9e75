"""A form built from the declared settings (`portal.settings.SPECS`)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from portal import settings

TIME_RE = r"^([01]\d|2[0-3]):[0-5]\d$"


def _field(spec: settings.Spec):
    bounds = [NumberRange(min=spec.min, max=spec.max, message=_l("Enter a number from %(min)s to %(max)s."))] \
        if spec.min is not None or spec.max is not None else []
    needed = InputRequired(_l("Enter a value."))
    if spec.kind in ("int", "percent"):
        return IntegerField(spec.label, [needed, *bounds], description=spec.help)
    if spec.kind == "float":
        return FloatField(spec.label, [needed, *bounds], description=spec.help)
    if spec.kind == "bool":
        return BooleanField(spec.label, [Optional()], description=spec.help)
    if spec.kind == "time":
        return StringField(spec.label, [needed, Regexp(TIME_RE, message=_l("Use the 24-hour form HH:MM."))],
                           description=spec.help)
    return StringField(spec.label, [Length(max=500)], description=spec.help)


def settings_form():
    """A FlaskForm with one field per declared setting, filled with the current values."""
    class SettingsForm(FlaskForm):
        pass

    for key, spec in sorted(settings.SPECS.items()):
        setattr(SettingsForm, key, _field(spec))
    data = {key: settings.get(key) for key in settings.SPECS}
    return SettingsForm(data=data)  # a POST binds request.form over these


def sections(form) -> list[tuple[str, list]]:
    """Fields grouped by their section label, in declaration order."""
    groups: dict[str, list] = {}
    for key, spec in settings.SPECS.items():
        groups.setdefault(str(spec.section), []).append(form[key])
    return list(groups.items())
