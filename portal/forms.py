"""Input as it arrives from forms and query strings: NUL-free values, filter values, ids, dates."""
from __future__ import annotations

import wtforms
from flask import Request
from markupsafe import Markup, escape
from werkzeug.datastructures import FileStorage, ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from portal.extensions import db

MAX_ID = 2**31 - 1  # primary keys are 32-bit integers on PostgreSQL
# Dates outside this century are typos; near year 1 or 9999 they cannot even be converted to UTC
# or moved by a few days.
FIRST_YEAR, LAST_YEAR = 2000, 2099


class _Values(ImmutableMultiDict):
    """Form and query values, and uploads' file names, with NUL characters dropped: nobody types
    one, and PostgreSQL refuses to store or even compare text containing one."""

    def __init__(self, mapping=None):
        if isinstance(mapping, list):  # how werkzeug's parsers build args, form and files
            mapping = [(k, _without_nul(v)) for k, v in mapping]
        super().__init__(mapping)


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, FileStorage) and value.filename:
        value.filename = value.filename.replace("\x00", "")
    return value


class PortalRequest(Request):
    """The app's request class (set in create_app): NUL-free form and query values."""
    parameter_storage_class = _Values


class PrimaryKeyConverter(IntegerConverter):
    """`<int:…>` in URLs: an id beyond the column's range is a 404, not a database error."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def validated(form) -> dict:
    """A GET filter form's values that passed validation, blank ones left out.

    Optional() ends validation for a blank value, whitespace included, before a select's
    choice check can fail: "   " must not reach a query as if it were a choice.
    """
    return {name: field.data for name, field in form._fields.items()
            if not field.errors and field.data not in (None, "", False)
            and not (isinstance(field.data, str) and not field.data.strip())}


def get_by_id(model, value):
    """The row a submitted id names, or None for anything that is not one (PostgreSQL errors on
    an id beyond the column's range instead of finding nothing)."""
    try:
        ident = int(value)
    except (TypeError, ValueError):
        return None
    return db.session.get(model, ident) if 0 < ident <= MAX_ID else None


class DateField(wtforms.DateField):
    """A date in this century; anything else gets WTForms' own "not a valid date" message."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not FIRST_YEAR <= self.data.year <= LAST_YEAR:
            self.data = None
            raise ValueError(self.gettext("Not a valid date value."))


class DateTimeLocalField(wtforms.DateTimeLocalField):
    """A date and time in this century (see DateField)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not FIRST_YEAR <= self.data.year <= LAST_YEAR:
            self.data = None
            raise ValueError(self.gettext("Not a valid datetime value."))


class QuickSelect(wtforms.widgets.Select):
    """WTForms' select, each plain option written by one f-string: the same HTML (`selected` before
    `value`, as html_params sorts them) at a fraction of the cost; the board renders ~100 options a page."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw or isinstance(choice.value, bool):
            return super().render_option(choice, **kwargs)
        selected = "selected " if choice.selected else ""
        return Markup(f'<option {selected}value="{escape(choice.value)}">{escape(choice.label or choice.value)}</option>')


class QuickSelectField(wtforms.SelectField):
    """A SelectField rendered by QuickSelect."""

    widget = QuickSelect()
