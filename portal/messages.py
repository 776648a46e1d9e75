"""What the portal writes itself, kept as a message key and its parameters and rendered in the reader's language.

A timeline note, a notification's subject and body or an alert's text is stored twice: as text in the
language of the moment it was written (search, exports, old readers) and as JSON that `render` turns
into text in whatever language is active when it is shown (the page's language, or the recipient's
under `force_locale` for SMS and e-mail). The JSON is one item or a list of items (shown one per line):

- a string: text somebody typed (or a name from the data), shown as it is;
- {"k": key, "p": {params}}: a message of `MESSAGES` (an English msgid, translated when rendered);
  a parameter may itself be an item;
- {"k": "label:<table>", "p": {"value": v}}: the label of an enum value in a registered table;
- {"k": "join", "p": {"sep": " · ", "parts": [items]}}: items on one line.

Rows written before this module have no JSON and show their text.
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

# Every message the system writes: key -> English msgid (extracted like any other string).
MESSAGES = {
    # Timeline notes of the action table (portal/cases/actions.py).
    "case.urgent": _l("Urgent"),
    "case.group_complaint": _l("Group complaint"),
    "case.agitated": _l("Agitated resident"),
    "case.transferred": _l("Transferred to %(department)s"),
    "case.confirmed_on_site": _l("Confirmed on site by the resident: %(name)s"),
    # Callbacks (portal/callbacks/service.py).
    "callback.answer": _l("%(method)s: %(satisfaction)s"),
    "callback.ratings": _l("quality %(q)s/5, effect %(e)s/5"),
    "callback.shortcomings": _l("Shortcomings: %(text)s"),
    "callback.suggestions": _l("Suggestions: %(text)s"),
    "callback.note": _l("Note: %(text)s"),
    "callback.confirmed": _l("Confirmed by the resident."),
    "callback.escalate": _l("Dissatisfied at %(callbacks)d callbacks (reopened %(n)d times in all); "
                            "the case goes to the manager."),
    "callback.promise": _l("%(question)s — we will reply by %(time)s."),
    "callback.unreachable": _l("%(n)d attempts without reaching the resident."),
    "callback.attempt": _l("Attempt %(n)d; next attempt %(time)s."),
    "callback.complaint": _l("Dissatisfied at a callback (%(kind)s)."),
    "callback.survey_subject": _l("How did we do with case %(number)s?"),
    "callback.survey_body": _l("Please tell us how satisfied you are with the handling of case %(number)s: %(link)s "
                               "(valid for %(days)d days; only you receive this link)."),
    # Alerts (portal/sla/alerts.py): subject, body and the escalation's timeline note.
    "alert.reminder": _l("Deadline approaching"),
    "alert.subject": _l("[%(number)s] %(title)s"),
    "alert.due": _l("%(rule)s (due %(time)s)"),
    "alert.escalation": _l("%(level)s: %(rule)s"),
    "alert.escalation_due": _l("%(level)s: %(rule)s (due %(time)s)"),
    # Notices to residents (portal/sla/notices.py).
    "resident.acknowledge": _l("Your case %(number)s has been received"),
    "resident.plan": _l("Plan for your case %(number)s"),
    "resident.complete": _l("Your case %(number)s is resolved: please confirm"),
    "resident.mark_invalid": _l("Your case %(number)s was judged invalid"),
    "resident.overturn": _l("Your case %(number)s is being handled again"),
    # Notices to departments (portal/department/notices.py).
    "department.new": _l("New work for your department: case %(number)s"),
    "department.returned": _l("Case %(number)s is back with your department"),
    "department.instruction": _l("A manager's instruction on case %(number)s"),
    "department.assigned": _l("Case %(number)s is assigned to you"),
    # The register import's audit entries (portal/register/apply.py).
    "import.summary": _l("Register import %(file)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged"),
    "import.update": _l("Register import: %(label)s"),
    # Unit claims (portal/auth/claims.py).
    "claim.confirmed": _l("Your unit is confirmed"),
    "claim.confirmed_body": _l("The service centre confirmed you at %(unit)s. You can now file cases for it."),
    "claim.refused": _l("Your unit claim was not accepted"),
    "claim.refused_body": _l("The service centre did not confirm you at %(unit)s: %(reason)s"),
}

# Enum label tables by name ({member or raw value: lazy label}); each area registers its own.
TABLES: dict[str, dict] = {}


def register(**tables) -> None:
    """Make label tables available to `label:<name>` items (called where the tables are defined)."""
    TABLES.update(tables)


def msg(key: str, **params) -> dict:
    """A stored message item."""
    if key not in MESSAGES and not key.startswith("label:") and key != "join":
        raise KeyError(f"unknown message key {key!r}")
    return {"k": key, "p": params}


def lab(table: str, value) -> dict:
    """The label of an enum value, looked up when shown."""
    return {"k": f"label:{table}", "p": {"value": getattr(value, "value", value)}}


def join(parts: list, sep: str = " · ") -> dict:
    return {"k": "join", "p": {"sep": sep, "parts": [p for p in parts if p]}}


def is_message(value: Any) -> bool:
    """Whether `value` is stored JSON of this module rather than plain text."""
    return isinstance(value, dict) and "k" in value or isinstance(value, list)


def _label(table: str, value) -> str:
    mapping = TABLES.get(table)
    if mapping is None:
        return str(value)
    for member, text in mapping.items():
        if getattr(member, "value", member) == value:
            return str(text)
    return str(value)


def render(item: Any) -> str:
    """Text of a stored item in the active language (unknown keys show their parameters, never fail)."""
    if item is None:
        return ""
    if isinstance(item, str):
        return item
    if isinstance(item, list):
        return "\n".join(t for t in (render(i) for i in item) if t)
    if not isinstance(item, dict) or "k" not in item:
        return str(item)
    key, params = item["k"], item.get("p") or {}
    if key == "join":
        return params.get("sep", " · ").join(t for t in (render(p) for p in params.get("parts", [])) if t)
    if key.startswith("label:"):
        return _label(key[len("label:"):], params.get("value"))
    values = {name: render(v) if isinstance(v, (dict, list)) else v for name, v in params.items()}
    entry = MESSAGES.get(key)
    if entry is None:
        return " ".join(str(v) for v in values.values())
    msgid = entry._args[0]  # the LazyString's msgid
    try:
        return gettext(msgid, **values) if values else gettext(msgid)
    except (KeyError, TypeError, ValueError):  # parameters of an older version of the message
        return msgid


def shown(stored: Any, text: str | None) -> str:
    """What a reader sees: the stored message in their language, else the text of an older row."""
    return render(stored) if stored else (text or "")


def locale_of(user) -> str:
    """The language a person's SMS and e-mail go out in: their last chosen interface language, else the house one."""
    choice = getattr(user, "language", None) or ""
    return choice if choice in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]
