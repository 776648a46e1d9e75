"""One place that decides page vs fragment for htmx requests."""
from __future__ import annotations

from flask import make_response, render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def targets(element_id: str) -> bool:
    """True when htmx asked for this element (not a boosted full navigation)."""
    return is_htmx() and request.headers.get("HX-Target") == element_id


def render(page_template: str, fragment: str, element_id: str, status: int = 200, **context):
    """Render the fragment when htmx targets its element, else the whole page."""
    template = fragment if targets(element_id) else page_template
    return respond(render_template(template, **context), status)


def respond(html: str, status: int = 200):
    """A page or fragment response; it varies with the htmx headers that chose between them."""
    response = make_response(html, status)
    response.headers.add("Vary", "HX-Request")
    response.headers.add("Vary", "HX-Target")
    return response
