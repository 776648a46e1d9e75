"""Adding a caller's statement to an open case instead of registering a duplicate."""
from __future__ import annotations

from flask_babel import gettext as _

from portal.cases.lifecycle import TransitionError, can, perform
from portal.labels import CHANNEL, label
from portal.models import Case, CaseEvent, User


def statement_note(contact: str, phone: str, channel: str, statement: str) -> str:
    """The comment text: who called, how, and what they said."""
    who = " ".join(p for p in (contact.strip(), phone.strip()) if p)
    how = label(CHANNEL, channel) if channel else ""
    head = _("Another caller about this case") + (f" ({', '.join(p for p in (who, how) if p)})" if who or how else "")
    return f"{head}: {statement.strip()}"


def append_statement(case: Case, user: User, *, contact: str, phone: str, channel: str,
                     statement: str) -> tuple[CaseEvent | None, str | None]:
    """Record the statement as a comment through the action table: (its event, None) or (None, why not)."""
    if not statement.strip():
        return None, _("Describe the problem.")
    if not case.is_open or not can(user, case, "comment"):
        return None, _("This case is no longer open: register a new case.")
    try:
        return perform(case, user, "comment", {"note": statement_note(contact, phone, channel, statement)}), None
    except TransitionError as exc:
        return None, str(exc.message)
