"""Forms for the managers' service-level pages: the policy table and the holiday schedule."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, ValidationError

from portal import labels
from portal.sla import policy

AMOUNT_MAX = 999  # beyond this a deadline could fall outside the calendar's ten-year horizon


def cell_key(severity: str, clock: str) -> str:
    """Field-name stem of one cell ("" severity is the not-yet-classified row)."""
    return f"{severity or 'unclassified'}__{clock}"


def parse_amount(text: str | None) -> float | None:
    """Blank is None (clock off); anything else must be a number 0..AMOUNT_MAX."""
    text = (text or "").strip().replace("，", ".").replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(_l("Enter a number, or leave blank to turn this clock off.")) from None
    if value != value or value < 0:  # NaN or negative
        raise ValidationError(_l("The amount cannot be negative."))
    if value > AMOUNT_MAX:
        raise ValidationError(_l("At most %(n)d.", n=AMOUNT_MAX))
    return value


def _check_amount(form, field):
    field.amount = parse_amount(field.data)


class _PolicyBase(FlaskForm):
    def cells(self):
        """(severity, clock, amount field, unit field) in table order."""
        for severity in policy.SEVERITIES:
            for clock in policy.POLICY_CLOCKS:
                key = cell_key(severity, clock)
                yield severity, clock, self[f"{key}__amount"], self[f"{key}__unit"]


def policy_form(kind: str, estate_id: int | None = None):
    """One amount and one unit per severity and clock, prefilled with the levels in force (in the estate)."""
    units = labels.opts(policy.UNITS.items())
    attrs = {}
    for severity in policy.SEVERITIES:
        for clock in policy.POLICY_CLOCKS:
            lvl = policy.level(kind, severity, clock, estate_id)
            amount = "" if lvl.amount is None else f"{lvl.amount:g}"
            key = cell_key(severity, clock)
            attrs[f"{key}__amount"] = StringField(_l("Amount"), default=amount, validators=[_check_amount],
                                                  render_kw={"inputmode": "decimal", "size": 4})
            attrs[f"{key}__unit"] = SelectField(_l("Unit"), choices=units, default=lvl.unit)
    cls = type("PolicyForm", (_PolicyBase,), attrs)
    return cls()  # binds the request's form data on POST


class ScheduleForm(FlaskForm):
    holidays = TextAreaField(_l("Public holidays (days off)"), validators=[Length(max=5000)],
                             render_kw={"rows": 10})
    workdays = TextAreaField(_l("Make-up working days (调休上班)"), validators=[Length(max=2000)],
                             render_kw={"rows": 6})
