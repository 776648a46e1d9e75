"""Pages parsed into forms: each <form> with its fields, where it posts and which element it swaps."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from urllib.parse import urljoin, urlsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from tests.helpers import _Tree
from tests.fuzz.world import HOST


# --- parsing pages into forms ------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """Where a form was found: a page, or an htmx partial (target "" when it names no element)."""
    url: str
    htmx_target: str | None = None

    def headers(self) -> dict:
        if self.htmx_target is None:
            return {}
        return {"HX-Request": "true", **({"HX-Target": self.htmx_target} if self.htmx_target else {})}


@dataclass
class Field:
    name: str
    kind: str  # text, textarea, hidden, password, number, date, datetime-local, month, select, radio, checkbox, file
    value: list[str]  # what the page would submit untouched
    options: list[str] = field(default_factory=list)
    multiple: bool = False
    placeholders: list[str] = field(default_factory=list)  # "— choose —" options: shown, never a real choice


@dataclass
class Form:
    role: str
    method: str
    action: str
    endpoint: str
    view_args: dict
    source: Source
    htmx_target: str | None  # None: no hx-post; "": htmx without a target id
    multipart: bool
    fields: dict[str, Field]

    @property
    def signature(self) -> tuple:
        """What makes two forms the same form (ids in URLs and field names do not)."""
        norm = lambda s: re.sub(r"\d+", "N", s or "")  # noqa: E731
        # Names in URLs (an action, a language) tell forms apart; ids and opaque tokens do not.
        args = tuple(sorted((k, v if len(v) <= 20 else "*") for k, v in self.view_args.items()
                            if not isinstance(v, int)))
        return (self.role, self.method, self.endpoint, args, norm(self.htmx_target),
                tuple(sorted(norm(n) for n in self.fields)))

    @property
    def label(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.view_args.items() if not isinstance(v, int))
        htmx = f" hx→{self.htmx_target!r}" if self.htmx_target is not None else ""
        return f"{self.role}: {self.method.upper()} {self.endpoint}({args}) {self.action}{htmx} from {self.source.url}"


def parse(text: str):
    tree = _Tree()
    tree.feed(text)
    return tree.root


def _text(node) -> str:
    text = node.text
    return text[1:] if text.startswith("\n") else text


def _target_of(node) -> str | None:
    """The id htmx sends as HX-Target for a request from node ("" when the target has no id)."""
    at = node
    while at is not None and "hx-target" not in at.attrs:
        at = at.parent
    if at is None:
        return node.attrs.get("id", "")
    spec = at.attrs["hx-target"].strip()
    if spec == "this":
        return at.attrs.get("id", "")
    if spec.startswith("#"):
        return spec[1:]
    return ""


def _fields(nodes) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for n in nodes:
        name = n.attrs.get("name")
        if not name or n.tag not in ("input", "textarea", "select", "button"):
            continue
        if n.tag == "textarea":
            fields[name] = Field(name, "textarea", [_text(n)])
        elif n.tag == "select":
            options = [o.attrs.get("value", _text(o)) for o in n.all("option")]
            chosen = [o.attrs.get("value", _text(o)) for o in n.all("option") if "selected" in o.attrs]
            placeholders = [o.attrs.get("value", "") for o in n.all("option") if _text(o).strip().startswith("—")]
            multiple = "multiple" in n.attrs
            fields[name] = Field(name, "select", chosen or ([] if multiple else options[:1]), options, multiple,
                                 placeholders)
        elif n.tag == "button":
            if (n.attrs.get("type") or "submit") == "submit":
                fields.setdefault(name, Field(name, "submit", [], []))
                fields[name].options.append(n.attrs.get("value", ""))
        else:
            kind = (n.attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                continue
            if kind == "text" and n.attrs.get("inputmode") in ("decimal", "numeric"):
                kind = "number"
            if kind in ("search", "tel", "email", "url"):
                kind = "text"
            value = n.attrs.get("value", "on" if kind in ("checkbox", "radio") else "")
            if kind in ("radio", "checkbox"):
                f = fields.setdefault(name, Field(name, kind, [], [], multiple=kind == "checkbox"))
                f.options.append(value)
                if "checked" in n.attrs:
                    f.value.append(value)
            else:
                fields[name] = Field(name, kind, [] if kind == "file" else [value])
    return fields


def forms_in(page, role: str, source: Source, app) -> list[Form]:
    """Every <form> of a parsed page, with its fields (inputs tied to it by form="id" included)."""
    found = []
    for node in page.all("form"):
        method = (node.attrs.get("method") or "get").lower()
        action = node.attrs.get("action") or node.attrs.get("hx-post") or source.url
        action = urljoin(f"http://{HOST}{source.url}", action)
        parts = urlsplit(action)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            endpoint, args = app.url_map.bind(HOST).match(parts.path, method="POST" if method == "post" else "GET")
        except (NotFound, MethodNotAllowed, RequestRedirect):
            endpoint, args = "?", {}
        members = list(node.iter())
        if node.attrs.get("id"):
            members += page.all(form=node.attrs["id"])
        htmx = _target_of(node) if ("hx-post" in node.attrs or "hx-get" in node.attrs) else None
        multipart = (node.attrs.get("enctype") or node.attrs.get("hx-encoding") or "").startswith("multipart")
        found.append(Form(role, method, path, endpoint, args, source, htmx, multipart, _fields(members)))
    return found
