"""Resident notices after lifecycle actions: the reply, the plan, the result, an invalid verdict and its reversal.

The text is the event's `note`: the public part of what the action recorded (SPEC §9), never `internal_note`."""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from portal.extensions import db
from portal.models import Case, CaseEvent
from portal.notify import outbox

RESIDENT_NOTICES = ("acknowledge", "plan", "complete", "mark_invalid", "overturn")


def notify_resident(name: str, *, case: Case, event: CaseEvent, **_kw) -> None:
    """Subscriber to the actions in RESIDENT_NOTICES: tell the case's resident (in the house language)."""
    if case.resident is None or name not in RESIDENT_NOTICES or not event.public:
        return
    db.session.flush()  # the event's id keys the notice
    with force_locale("zh_Hans_CN"):
        subjects = {
            "acknowledge": _("Your case %(number)s has been received", number=case.number),
            "plan": _("Plan for your case %(number)s", number=case.number),
            "complete": _("Your case %(number)s is resolved: please confirm", number=case.number),
            "mark_invalid": _("Your case %(number)s was judged invalid", number=case.number),
            "overturn": _("Your case %(number)s is being handled again", number=case.number),
        }
        subject = subjects[name]
    kind = "resident_invalid" if name == "mark_invalid" else f"resident_{name}"
    outbox.notify([case.resident], kind, subject, event.note or "", f"event:{event.id}", case.id)
