"""Department notices: new work, returned work and a manager's instruction reach the department at once.

Subscribers to the lifecycle's `acted` signal (connected by `init_app`, listed in
`portal.SUBSCRIBERS`). Every notice goes through the outbox, keyed by the event, so
sending it twice changes nothing. Urgent repairs and major complaints go by SMS too.
"""
from __future__ import annotations

from portal.cases.lifecycle import acted
from portal.extensions import db
from portal.messages import join, msg
from portal.models import Case, CaseEvent, Kind, Severity, User
from portal.notify import outbox
from portal.scopes import department_staff

NEW = ("dispatch", "reassign")
RETURNED = ("reject", "callback_reopen")
INSTRUCTED = ("instruct",)
ASSIGNED = ("assign", "hand_over")


def pressing(case: Case) -> bool:
    """Urgent repairs and major complaints: the department hears of them by SMS as well."""
    return bool(case.urgent) or (case.kind == Kind.COMPLAINT and case.severity == Severity.MAJOR)


def recipients(name: str, case: Case, user: User) -> list[User]:
    """Who hears of this action: the department's staff who see the case (portal.scopes).

    A manager's instruction on an assigned case goes to its technician and the heads;
    an assignment to the technician chosen. Never the person who acted.
    """
    staff = department_staff(case.department_id, case.estate_id)
    if name in ASSIGNED:
        staff = [u for u in staff if u.id == case.assignee_id]
    elif name in INSTRUCTED and case.assignee_id is not None:
        staff = [u for u in staff if u.id == case.assignee_id or u.department_head]
    return [u for u in staff if u.id != user.id]


def _subject(name: str, case: Case) -> dict:
    key = ("department.new" if name in NEW else "department.returned" if name in RETURNED
           else "department.instruction" if name in INSTRUCTED else "department.assigned")
    return msg(key, number=case.number)


def _body(case: Case, event: CaseEvent) -> dict:
    place = "" if case.misconduct else case.place  # a complaint about staff: where it came from stays withheld
    parts = [case.category.name if case.category else "", place or "", event.note_msg or event.note or "",
             event.internal_msg or event.internal_note or ""]
    return join([p for p in parts if p])


def notify_department(name: str, *, case: Case, user: User, event: CaseEvent, **_kw) -> None:
    """Subscriber: tell the department's staff of new, returned, instructed or assigned work."""
    people = recipients(name, case, user)
    if not people:
        return
    db.session.flush()  # the event's id keys the notice
    kind = ("department_new" if name in NEW else "department_returned" if name in RETURNED
            else "department_instruction" if name in INSTRUCTED else "department_assigned")
    outbox.notify(people, kind, _subject(name, case), _body(case, event), f"dept-event:{event.id}", case.id,
                  sms=pressing(case) and name not in ASSIGNED)


def init_app(app) -> None:
    """Connect the subscriber (called by `create_app`)."""
    for name in NEW + RETURNED + INSTRUCTED + ASSIGNED:
        acted.connect(notify_department, sender=name, weak=False)
