"""The action table (SPEC §4): who may do what from which state, and what it writes on the case."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Callable, Mapping

from flask_babel import lazy_gettext as _l

from portal import org
from portal.extensions import db
from portal.messages import is_message, lab, msg, render
from portal.models import Case, Department, Role, Status, User
from portal.scopes import department_staff

S = Status
STAFF = frozenset({Role.CLERK, Role.MANAGER})
ANY_OPEN = frozenset({S.REGISTERED, S.ACKNOWLEDGED, S.DISPATCHED, S.IN_PROGRESS, S.THIRD_PARTY,
                      S.WAITING_RESIDENT})
EVERYONE = frozenset(Role)

# Audience (SPEC §9): who may read a note, field or flag an action records. Declared once, below,
# beside each action; `perform` splits the event's text by it and the resident's views show only
# PUBLIC text (`CaseEvent.note` of a public event), never `CaseEvent.internal_note`.
PUBLIC, INTERNAL = "public", "internal"
# Case fields the actions write, by audience, for the views that show the case itself.
# The resident sees the promise made to them (the plan, the promised finish), not our triage
# (severity, urgency, the flags) nor our service-level clocks.
CASE_FIELDS = MappingProxyType({
    "first_reply": PUBLIC, "invalid_reason": PUBLIC, "finding": PUBLIC, "plan": PUBLIC,
    "promised_at": PUBLIC, "third_party": PUBLIC, "explanation": PUBLIC, "completion_note": PUBLIC,
    "category_id": PUBLIC, "department_id": PUBLIC, "confirmed_at": PUBLIC,
    "severity": INTERNAL, "urgent": INTERNAL, "group_complaint": INTERNAL, "agitated": INTERNAL,
    "owner_id": INTERNAL, "supervisor_visit": INTERNAL, "deadlines": INTERNAL, "assignee_id": INTERNAL,
})


class TransitionError(Exception):
    """An action that the case's state, the user's role or the input does not allow."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Action:
    name: str
    label: object
    roles: frozenset
    sources: frozenset
    target: Status | None = None  # None: no state change
    apply: Callable | None = field(default=None, compare=False)
    public: bool = True  # whether the resident sees the event at all (its label and its PUBLIC text)
    offered: bool = True  # False: taken from another screen (the callback queue), not the case page
    # Every input the action reads and every text it records, with its audience (PUBLIC/INTERNAL).
    audience: Mapping[str, str] | None = field(default=None, compare=False)
    # A further condition on the user and the case (the department head, the case's technician).
    when: Callable | None = field(default=None, compare=False)

    def allows(self, user: User, case: Case) -> bool:
        """Role, state and the further condition: whether `user` may do this to `case` now."""
        return (user.role in self.roles and case.status in self.sources
                and (self.when is None or bool(self.when(user, case))))


ACTIONS: dict[str, Action] = {}


class AudienceError(Exception):
    """An action records something whose audience is not declared in the table."""


def action(name, label, roles, sources, target=None, public=True, offered=True, audience=None, when=None):
    """Register an action; the decorated function applies its data to the case at `at` and returns
    its texts by input name ({"note": ...}); `audience` says who reads each of them."""
    def wrap(fn):
        ACTIONS[name] = Action(name, label, frozenset(roles), frozenset(sources), target, fn, public, offered,
                               None if audience is None else MappingProxyType(dict(audience)), when)
        return fn
    return wrap


def split_notes(act: Action, texts: dict | None) -> tuple[str, str]:
    """(public text, internal text) of what `act` returned, by its declared audience.

    An action without an audience, a text under an undeclared name, or a PUBLIC text from an event
    the resident does not see is a programming error: it raises rather than guess."""
    (public, internal), _msgs = split_messages(act, texts)
    return public, internal


def split_messages(act: Action, texts: dict | None) -> tuple[tuple[str, str], tuple[list | None, list | None]]:
    """`split_notes`, and the same texts as message items (portal.messages) for the reader's language:
    None for an audience whose texts are all people's own words (the text says it all)."""
    if act.audience is None:
        raise AudienceError(f"action {act.name!r} declares no audience")
    public, internal, items = [], [], {PUBLIC: [], INTERNAL: []}
    keyed = {PUBLIC: False, INTERNAL: False}
    for key, value in (texts or {}).items():
        where = act.audience.get(key)
        if where not in (PUBLIC, INTERNAL):
            raise AudienceError(f"action {act.name!r} records {key!r} without a declared audience")
        if where == PUBLIC and not act.public:
            raise AudienceError(f"action {act.name!r} is internal but declares {key!r} public")
        if is_message(value):
            text, item = render(value).strip(), value
            keyed[where] = keyed[where] or bool(text)
        else:
            text = item = str(value or "").strip()
        if text:
            (public if where == PUBLIC else internal).append(text)
            items[where].append(item)
    return (("\n".join(public), "\n".join(internal)),
            tuple(items[w] if keyed[w] else None for w in (PUBLIC, INTERNAL)))


def audience_problems() -> list[str]:
    """What is wrong with the table's declarations (for the audience test and `flask doctor`)."""
    problems = []
    for act in ACTIONS.values():
        if act.audience is None:
            problems.append(f"{act.name}: no audience declared")
            continue
        for key, where in act.audience.items():
            if where not in (PUBLIC, INTERNAL):
                problems.append(f"{act.name}.{key}: audience {where!r} is neither public nor internal")
            elif where == PUBLIC and not act.public:
                problems.append(f"{act.name}.{key}: public text on an internal event")
    return problems


def audience_of(name: str, key: str) -> str | None:
    """PUBLIC or INTERNAL for one input of one action (the forms say which field the resident reads)."""
    act = ACTIONS.get(name)
    return act.audience.get(key) if act is not None and act.audience is not None else None


def _require(data: dict, key: str, message) -> str:
    value = (data.get(key) or "").strip() if isinstance(data.get(key, ""), str) else data.get(key)
    if not value:
        raise TransitionError(message, field=key)
    return value


def _department(case: Case, data: dict) -> Department:
    dep = db.session.get(Department, data.get("department_id") or 0)
    if not org.serves(dep, case.estate_id):  # only a department serving the case's estate
        raise TransitionError(_l("Choose a department."), field="department_id")
    return dep


P, I = PUBLIC, INTERNAL


@action("register", _l("Registered"), EVERYONE, {None}, S.REGISTERED, offered=False, audience={})
def _register(case: Case, user: User, data: dict, at: datetime) -> dict:
    """A new case (built by `intake.register_case`) enters the lifecycle."""
    return {}


@action("acknowledge", _l("Send first reply"), STAFF, {S.REGISTERED}, S.ACKNOWLEDGED, audience={"note": P})
def _acknowledge(case: Case, user: User, data: dict, at: datetime) -> dict:
    case.first_reply = _require(data, "note", _l("Write the reply to the resident."))
    case.first_reply_at = at
    return {"note": case.first_reply}


@action("classify", _l("Classify"), STAFF, ANY_OPEN | {S.RESOLVED},
        audience={"category_id": P, "severity": I, "urgent": I, "group_complaint": I, "agitated": I})
def _classify(case: Case, user: User, data: dict, at: datetime) -> dict:
    if not data.get("category_id") or not org.offers(int(data["category_id"]), case.estate_id):
        raise TransitionError(_l("Choose a category."), field="category_id")
    if not data.get("severity"):
        raise TransitionError(_l("Choose a severity."), field="severity")
    case.category_id = int(data["category_id"])
    case.severity = data["severity"]
    case.urgent = bool(data.get("urgent"))
    case.group_complaint = bool(data.get("group_complaint"))
    case.agitated = bool(data.get("agitated"))
    db.session.flush()
    return {"category_id": case.category.name if case.category else "",
            "severity": lab("severity", case.severity),
            "urgent": msg("case.urgent") if case.urgent else "",
            "group_complaint": msg("case.group_complaint") if case.group_complaint else "",
            "agitated": msg("case.agitated") if case.agitated else ""}


# Dispatch and reassignment: the department is public (the resident's page names it, so a move is
# told as "transferred to X"); `note` is the instruction to the department, `message` the resident's.
HANDOVER = {"department_id": P, "note": I, "message": P}


@action("dispatch", _l("Dispatch"), STAFF, {S.REGISTERED, S.ACKNOWLEDGED}, S.DISPATCHED, audience=HANDOVER)
def _dispatch(case: Case, user: User, data: dict, at: datetime) -> dict:
    if case.category_id is None or case.severity is None:
        raise TransitionError(_l("Classify the case (category and severity) before dispatching."))
    dep = _department(case, data)
    case.department_id = dep.id
    return {"department_id": dep.name, "note": data.get("note"), "message": data.get("message")}


@action("mark_invalid", _l("Judge invalid"), STAFF, {S.REGISTERED, S.ACKNOWLEDGED, S.DISPATCHED}, S.INVALID,
        audience={"note": P})
def _invalid(case: Case, user: User, data: dict, at: datetime) -> dict:
    case.invalid_reason = _require(data, "note", _l("Give the reason the resident will be told."))
    return {"note": case.invalid_reason}


@action("overturn", _l("Overturn invalid verdict"), {Role.MANAGER}, {S.INVALID}, S.ACKNOWLEDGED,
        audience={"note": P})
def _overturn(case: Case, user: User, data: dict, at: datetime) -> dict:
    note = _require(data, "note", _l("Say why the verdict is overturned."))
    case.invalid_reason = ""  # kept in the timeline; the resident's page no longer says "invalid because"
    return {"note": note}


@action("reassign", _l("Reassign"), {Role.MANAGER},
        {S.DISPATCHED, S.IN_PROGRESS, S.THIRD_PARTY}, S.DISPATCHED, audience=HANDOVER)
def _reassign(case: Case, user: User, data: dict, at: datetime) -> dict:
    dep = _department(case, data)
    if dep.id == case.department_id:
        raise TransitionError(_l("The case is already with this department."), field="department_id")
    case.department_id = dep.id
    case.assignee_id = None  # the new department assigns its own technician
    return {"department_id": msg("case.transferred", department=dep.name),
            "note": data.get("note"), "message": data.get("message")}


# Within the department (internal): the head assigns a technician, a technician takes an
# unassigned case (抢单), the case's technician hands it over to a colleague.
DEPARTMENT_WORK = frozenset({S.DISPATCHED, S.IN_PROGRESS, S.THIRD_PARTY, S.WAITING_RESIDENT})
COLLEAGUE = {"assignee_id": I, "note": I}


def _colleague(case: Case, data: dict, message) -> User:
    chosen = next((u for u in department_staff(case.department_id, case.estate_id)
                   if u.id == (data.get("assignee_id") or 0)), None)
    if chosen is None:
        raise TransitionError(message, field="assignee_id")
    return chosen


@action("assign", _l("Assign a technician"), {Role.DEPARTMENT}, DEPARTMENT_WORK, public=False,
        audience=COLLEAGUE, when=lambda user, case: user.department_head)
def _assign(case: Case, user: User, data: dict, at: datetime) -> dict:
    chosen = _colleague(case, data, _l("Choose a technician of the department."))
    if chosen.id == case.assignee_id:
        raise TransitionError(_l("The case is already assigned to %(name)s.", name=chosen.display_name),
                              field="assignee_id")
    case.assignee_id = chosen.id
    return {"assignee_id": chosen.display_name, "note": data.get("note")}


@action("take", _l("Take this case"), {Role.DEPARTMENT}, DEPARTMENT_WORK, public=False,
        audience={}, when=lambda user, case: case.assignee_id is None)
def _take(case: Case, user: User, data: dict, at: datetime) -> dict:
    if case.assignee_id is not None:  # someone took it a moment earlier
        raise TransitionError(_l("A colleague has already taken this case."))
    case.assignee_id = user.id
    return {}  # the event's actor is who took it


@action("hand_over", _l("Hand over"), {Role.DEPARTMENT}, DEPARTMENT_WORK, public=False,
        audience=COLLEAGUE, when=lambda user, case: case.assignee_id == user.id)
def _hand_over(case: Case, user: User, data: dict, at: datetime) -> dict:
    chosen = _colleague(case, data, _l("Choose the colleague who takes the case over."))
    if chosen.id == user.id:
        raise TransitionError(_l("Choose a colleague other than yourself."), field="assignee_id")
    case.assignee_id = chosen.id
    return {"assignee_id": chosen.display_name, "note": data.get("note")}


@action("accept", _l("Accept"), {Role.DEPARTMENT}, {S.DISPATCHED}, S.IN_PROGRESS, audience={"note": I})
def _accept(case: Case, user: User, data: dict, at: datetime) -> dict:
    if case.assignee_id is None:  # whoever accepts an unassigned case has it
        case.assignee_id = user.id
    return {"note": data.get("note")}


@action("plan", _l("Post finding and plan"), {Role.DEPARTMENT}, {S.IN_PROGRESS},
        audience={"finding": P, "plan": P, "promised_at": P})
def _plan(case: Case, user: User, data: dict, at: datetime) -> dict:
    finding = _require(data, "finding", _l("Describe what the investigation found."))
    plan = _require(data, "plan", _l("Describe the plan."))
    promised = data.get("promised_at")
    if not isinstance(promised, datetime):
        raise TransitionError(_l("Give the promised finish time."), field="promised_at")
    if promised <= at:
        raise TransitionError(_l("The promised finish time must be in the future."), field="promised_at")
    case.finding, case.plan, case.promised_at = finding, plan, promised
    return {"finding": case.finding, "plan": case.plan}


@action("complete", _l("Report completion"), {Role.DEPARTMENT}, {S.IN_PROGRESS}, S.RESOLVED,
        audience={"note": P, "resident_present": I, "resident_confirmation": P})
def _complete(case: Case, user: User, data: dict, at: datetime) -> dict:
    case.completion_note = _require(data, "note", _l("Describe what was done."))
    case.resolved_at = at
    case.confirmed_at = None
    if not data.get("resident_present"):
        return {"note": case.completion_note}
    # The resident confirms on the technician's phone: the outcome is confirmed, as by `confirm`.
    name = _require(data, "resident_confirmation",
                    _l("The resident types their name to confirm, or untick the box."))
    case.confirmed_at = at
    return {"note": case.completion_note,
            "resident_confirmation": msg("case.confirmed_on_site", name=name)}


@action("third_party", _l("Third-party responsibility"), {Role.DEPARTMENT}, {S.DISPATCHED, S.IN_PROGRESS},
        S.THIRD_PARTY, audience={"third_party": P, "note": P})
def _third_party(case: Case, user: User, data: dict, at: datetime) -> dict:
    party = _require(data, "third_party", _l("Name the party being chased."))
    case.explanation = _require(data, "note", _l("Write the explanation the resident will read."))
    case.third_party = party
    return {"third_party": f"{case.third_party}: {case.explanation}"}


@action("await_resident", _l("Wait for the resident"), {Role.DEPARTMENT} | STAFF,
        {S.DISPATCHED, S.IN_PROGRESS}, S.WAITING_RESIDENT, audience={"note": P})
def _await_resident(case: Case, user: User, data: dict, at: datetime) -> dict:
    return {"note": _require(data, "note", _l("Say what the resident needs to do or provide."))}


@action("resume", _l("Resume work"), {Role.DEPARTMENT} | STAFF, {S.THIRD_PARTY, S.WAITING_RESIDENT}, S.IN_PROGRESS,
        audience={"note": I})
def _resume(case: Case, user: User, data: dict, at: datetime) -> dict:
    return {"note": data.get("note")}


@action("cannot_handle", _l("Cannot be handled"), {Role.DEPARTMENT}, {S.DISPATCHED, S.IN_PROGRESS}, S.CANNOT_HANDLE,
        audience={"note": P})
def _cannot(case: Case, user: User, data: dict, at: datetime) -> dict:
    case.explanation = _require(data, "note", _l("Write the explanation and the legitimate reason."))
    return {"note": case.explanation}


@action("confirm", _l("Confirm the outcome"), {Role.RESIDENT}, {S.RESOLVED}, audience={"note": P})
def _confirm(case: Case, user: User, data: dict, at: datetime) -> dict:
    if case.confirmed_at is not None:
        raise TransitionError(_l("You have already confirmed this outcome."))
    case.confirmed_at = at
    return {"note": data.get("note")}


@action("reject", _l("Reject the outcome"), {Role.RESIDENT}, {S.RESOLVED}, S.DISPATCHED, audience={"note": P})
def _reject(case: Case, user: User, data: dict, at: datetime) -> dict:
    if case.confirmed_at is not None:
        raise TransitionError(_l("You have already confirmed this outcome."))
    reason = _require(data, "note", _l("Tell us why you are not satisfied."))
    reopen(case)
    return {"note": reason}


CALLBACK_ROLES = STAFF | {Role.RESIDENT}  # a resident answers the online survey
CALLBACK_NOTE = {"note": I}  # what a caller writes down is for staff (SPEC §9)


@action("callback", _l("Callback"), CALLBACK_ROLES, {S.RESOLVED}, S.CALLBACK_DONE, offered=False,
        audience=CALLBACK_NOTE)
def _callback(case: Case, user: User, data: dict, at: datetime) -> dict:
    """A reached callback that did not reopen the case (SPEC §6)."""
    return {"note": data.get("note")}


@action("callback_reopen", _l("Reopened after a dissatisfied callback"), CALLBACK_ROLES,
        {S.RESOLVED, S.CALLBACK_DONE, S.CLOSED}, S.DISPATCHED, offered=False, audience=CALLBACK_NOTE)
def _callback_reopen(case: Case, user: User, data: dict, at: datetime) -> dict:
    reopen(case)
    case.closed_at = None
    return {"note": data.get("note")}


@action("close", _l("Close"), {Role.MANAGER}, {S.RESOLVED, S.CALLBACK_DONE, S.INVALID, S.CANNOT_HANDLE}, S.CLOSED,
        audience={"note": I})
def _close(case: Case, user: User, data: dict, at: datetime) -> dict:
    case.closed_at = at
    return {"note": data.get("note")}


@action("comment", _l("Comment"), {Role.RESIDENT, Role.CLERK, Role.DEPARTMENT, Role.MANAGER},
        set(Status) - {S.CLOSED}, audience={"note": P})
def _comment(case: Case, user: User, data: dict, at: datetime) -> dict:
    return {"note": _require(data, "note", _l("Write a comment."))}


@action("instruct", _l("Give an instruction"), {Role.MANAGER}, ANY_OPEN | {S.RESOLVED}, public=False,
        audience={"note": I})
def _instruct(case: Case, user: User, data: dict, at: datetime) -> dict:
    """A manager's instruction: internal, shown to the department on the case and its queue."""
    return {"note": _require(data, "note", _l("Write the instruction for the department."))}


@action("take_over", _l("Take over"), {Role.MANAGER}, ANY_OPEN | {S.RESOLVED}, public=False,
        audience={"owner_id": I, "note": I})
def _take_over(case: Case, user: User, data: dict, at: datetime) -> dict:
    if case.owner_id == user.id:
        raise TransitionError(_l("You already own this case."))
    case.owner_id = user.id
    return {"owner_id": user.display_name, "note": data.get("note")}


# Note-only events on the case timeline (no state change), taken from the callback queue.
@action("callback_attempt", _l("Callback attempt: not reached"), CALLBACK_ROLES, set(Status), public=False,
        offered=False, audience=CALLBACK_NOTE)
@action("callback_unreachable", _l("Callback ended: unreachable"), CALLBACK_ROLES, set(Status), public=False,
        offered=False, audience=CALLBACK_NOTE)
@action("callback_note", _l("Callback"), CALLBACK_ROLES, set(Status), offered=False, audience=CALLBACK_NOTE)
@action("callback_promise", _l("Reply promised during a callback"), CALLBACK_ROLES, set(Status), offered=False,
        audience=CALLBACK_NOTE)
@action("callback_escalate", _l("Dissatisfied again: escalate"), CALLBACK_ROLES, set(Status), public=False,
        offered=False, audience=CALLBACK_NOTE)
@action("promise_answered", _l("Promised reply given"), CALLBACK_ROLES, set(Status), offered=False,
        audience=CALLBACK_NOTE)
def _callback_note(case: Case, user: User, data: dict, at: datetime) -> dict:
    return {"note": data.get("note")}


def reopen(case: Case) -> None:
    """Back to the department; its supervisor visits in person (SPEC §4)."""
    case.reopen_count += 1
    case.supervisor_visit = True
    case.completion_note = ""  # kept in the timeline; the case is not complete any more
    case.resolved_at = None
    case.confirmed_at = None
