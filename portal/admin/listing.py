"""What every administration list shares: the search box, the page number, one page of rows."""
from __future__ import annotations

from flask import render_template, request

from portal.admin.forms import ListFilter
from portal.forms import validated
from portal.htmx import respond
from portal import textquery
from portal.pagination import page_number as parse_page, paginate

PAGE_SIZE = 25


def list_filter(form_class=ListFilter, **choices):
    """The GET filter form bound to the query string, and its valid values."""
    form = form_class(request.args)
    for name, options in choices.items():
        form[name].choices = options
    form.validate()
    return form, validated(form)


def page_number() -> int:
    return parse_page(request.args.get("page"))


def page_of(stmt, size: int = PAGE_SIZE):
    """The requested page of an ordered SELECT (ORM rows)."""
    return paginate(stmt, page_number(), size)


def like(text: str) -> str:
    """A LIKE pattern that matches the text anywhere, its wildcards taken literally (use escape="\\")."""
    return textquery.contains(text)


def list_args(values: dict) -> dict:
    """The filter values to keep in pager links."""
    return {k: ("y" if v is True else v) for k, v in values.items()}


def whole_page(template: str, **context):
    """A whole page (no fragment to choose), with the same Vary headers as every page."""
    return respond(render_template(template, **context))
