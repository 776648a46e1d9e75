"""Resident notices after lifecycle actions: the reply, the plan, the result, an invalid verdict and its reversal.

The text is the event's `note`: the public part of what the action recorded (SPEC §9), never `internal_note`."""
from __future__ import annotations

from portal.extensions import db
from portal.messages import msg
from portal.models import Case, CaseEvent
from portal.notify import outbox

RESIDENT_NOTICES = ("acknowledge", "plan", "complete", "mark_invalid", "overturn")


def notify_resident(name: str, *, case: Case, event: CaseEvent, **_kw) -> None:
    """Subscriber to the actions in RESIDENT_NOTICES: tell the case's resident (in their language)."""
    if case.resident is None or name not in RESIDENT_NOTICES or not event.public:
        return
    db.session.flush()  # the event's id keys the notice
    kind = "resident_invalid" if name == "mark_invalid" else f"resident_{name}"
    # Written in the resident's language; the in-app list shows it in the reader's (portal.messages).
    outbox.notify([case.resident], kind, msg(f"resident.{name}", number=case.number),
                  event.note_msg or event.note or "", f"event:{event.id}", case.id)
