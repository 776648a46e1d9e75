"""The case lifecycle (SPEC §4): every case change goes through `perform`, every event through `record`.

What follows an action is not written here: `perform` sends `acted` and the areas
(clocks and alerts, notices, callbacks, reports) connect their subscribers when the
app is built (`portal.create_app`). Importing this module connects nothing.
"""
from __future__ import annotations

from datetime import datetime

from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert

from portal.cases.actions import (  # noqa: F401  (the lifecycle's public names)
    ACTIONS, ANY_OPEN, CALLBACK_ROLES, INTERNAL, PUBLIC, STAFF, Action, AudienceError, TransitionError, action,
    audience_of, reopen, split_messages, split_notes,
)
from portal.extensions import db
from portal.models import Case, CaseEvent, User
from portal.timeutil import utcnow

_signals = Namespace()
# Sent after an action's event is recorded, with the action's name as sender and
# case, user, before (status), event, at as keywords. Receivers add to the session; the caller commits.
acted = _signals.signal("case-acted")
# Sent after the scan's escalation events are recorded, with notes=[(case id, note)] and at.
escalated = _signals.signal("cases-escalated")


def can(user: User, case: Case, name: str) -> bool:
    act = ACTIONS.get(name)
    return act is not None and act.allows(user, case)


def allowed_actions(user: User, case: Case) -> list[Action]:
    """Actions this user may take on this case now, in lifecycle order."""
    return [a for a in ACTIONS.values() if a.offered and a.allows(user, case)
            and not (a.name in ("confirm", "reject") and case.confirmed_at is not None)]


def perform(case: Case, user: User, name: str, data: dict | None = None, at: datetime | None = None) -> CaseEvent:
    """Check and apply one action at `at` (default now), append its event, tell the subscribers.

    The caller commits.
    """
    at = at or utcnow()
    act = ACTIONS.get(name)
    if act is None:
        raise TransitionError(_l("Unknown action."))
    if user.role not in act.roles:
        raise TransitionError(_l("Your role may not do this."))
    if case.status not in act.sources:
        from portal.labels import STATUS, label
        raise TransitionError(
            _l("“%(action)s” is not possible while the case is “%(status)s”.",
               action=act.label, status=label(STATUS, case.status))
        )
    if act.when is not None and not act.when(user, case):
        raise TransitionError(_l("“%(action)s” is not yours to do on this case.", action=act.label))
    before = case.status
    (note, internal), (note_msg, internal_msg) = split_messages(
        act, act.apply(case, user, {} if data is None else data, at) if act.apply else {})
    if act.target is not None:
        case.status = act.target
    event = record(case, user, name, before, case.status if act.target else None, note, act.public, at,
                   internal_note=internal, note_msg=note_msg, internal_msg=internal_msg)
    if before is None:
        db.session.flush()  # a new case: subscribers look it up by id
    acted.send(name, case=case, user=user, before=before, event=event, at=at)
    return event


def record(case: Case, user: User | None, name: str, before, after, note: str = "",
           public: bool = True, at: datetime | None = None, internal_note: str = "",
           note_msg=None, internal_msg=None) -> CaseEvent:
    """Append one event; the log is never updated or deleted.

    `note` is read by whoever sees the event (the resident too when `public`); `internal_note` only by staff.
    `note_msg` and `internal_msg`: the same as message items (portal.messages), shown in the reader's language."""
    at = at or utcnow()
    event = CaseEvent(
        case=case, actor=user, action=name,
        from_status=getattr(before, "value", before),
        to_status=getattr(after, "value", after),
        note=note or "", internal_note=internal_note or "", public=public, at=at,
        note_msg=note_msg, internal_msg=internal_msg,
    )
    case.updated_at = at
    case.version_id = (case.version_id or 0) + 1
    db.session.add(event)
    return event


def record_escalations(notes: list[tuple], at: datetime) -> None:
    """Append internal `escalate` events in one statement; the scan's alerts use it.

    notes: (case id, note text) or (case id, note text, message item of portal.messages)."""
    if notes:
        db.session.execute(insert(CaseEvent.__table__), [
            {"case_id": n[0], "actor_id": None, "at": at, "action": "escalate", "from_status": None,
             "to_status": None, "public": False, "note": "", "internal_note": n[1],
             "note_msg": None, "internal_msg": n[2] if len(n) > 2 else None} for n in notes])
        escalated.send("scan", notes=[(n[0], n[1]) for n in notes], at=at)


def subscribers() -> dict[str, list[str]]:
    """Who listens to each action (module.function names), for tests and docs."""
    found = {}
    for name in ACTIONS:
        names = sorted(f"{fn.__module__}.{fn.__qualname__}" for fn in acted.receivers_for(name))
        if names:
            found[name] = names
    return found
