"""The action table (SPEC §4): who may do what from which state, and what it writes on the case."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from flask_babel import lazy_gettext as _l

from portal import org
from portal.extensions import db
from portal.models import Case, Department, Role, Status, User
from portal.scopes import department_staff

S = Status
STAFF = frozenset({Role.CLERK, Role.MANAGER})
ANY_OPEN = frozenset({S.REGISTERED, S.ACKNOWLEDGED, S.DISPATCHED, S.IN_PROGRESS, S.THIRD_PARTY,
                      S.WAITING_RESIDENT})
EVERYONE = frozenset(Role)


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
    public: bool = True  # whether the resident sees the event
    offered: bool = True  # False: taken from another screen (the callback queue), not the case page
    # A further condition on the user and the case (the department head, the case's technician).
    when: Callable | None = field(default=None, compare=False)

    def allows(self, user: User, case: Case) -> bool:
        """Role, state and the further condition: whether `user` may do this to `case` now."""
        return (user.role in self.roles and case.status in self.sources
                and (self.when is None or bool(self.when(user, case))))


ACTIONS: dict[str, Action] = {}


def action(name, label, roles, sources, target=None, public=True, offered=True, when=None):
    """Register an action; the decorated function applies its data to the case at `at`."""
    def wrap(fn):
        ACTIONS[name] = Action(name, label, frozenset(roles), frozenset(sources), target, fn, public, offered,
                               when)
        return fn
    return wrap


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


@action("register", _l("Registered"), EVERYONE, {None}, S.REGISTERED, offered=False)
def _register(case: Case, user: User, data: dict, at: datetime) -> str:
    """A new case (built by `intake.register_case`) enters the lifecycle."""
    return ""


@action("acknowledge", _l("Send first reply"), STAFF, {S.REGISTERED}, S.ACKNOWLEDGED)
def _acknowledge(case: Case, user: User, data: dict, at: datetime) -> str:
    case.first_reply = _require(data, "note", _l("Write the reply to the resident."))
    case.first_reply_at = at
    return case.first_reply


@action("classify", _l("Classify"), STAFF, ANY_OPEN | {S.RESOLVED})
def _classify(case: Case, user: User, data: dict, at: datetime) -> str:
    from portal.labels import SEVERITY, label
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
    parts = [case.category.name if case.category else "", label(SEVERITY, case.severity)]
    if case.urgent:
        parts.append(str(_l("Urgent")))
    if case.group_complaint:
        parts.append(str(_l("Group complaint")))
    if case.agitated:
        parts.append(str(_l("Agitated resident")))
    return " / ".join(p for p in parts if p)


@action("dispatch", _l("Dispatch"), STAFF, {S.REGISTERED, S.ACKNOWLEDGED}, S.DISPATCHED)
def _dispatch(case: Case, user: User, data: dict, at: datetime) -> str:
    if case.category_id is None or case.severity is None:
        raise TransitionError(_l("Classify the case (category and severity) before dispatching."))
    dep = _department(case, data)
    case.department_id = dep.id
    return " ".join(p for p in (dep.name, (data.get("note") or "").strip()) if p)


@action("mark_invalid", _l("Judge invalid"), STAFF, {S.REGISTERED, S.ACKNOWLEDGED, S.DISPATCHED}, S.INVALID)
def _invalid(case: Case, user: User, data: dict, at: datetime) -> str:
    case.invalid_reason = _require(data, "note", _l("Give the reason the resident will be told."))
    return case.invalid_reason


@action("overturn", _l("Overturn invalid verdict"), {Role.MANAGER}, {S.INVALID}, S.ACKNOWLEDGED)
def _overturn(case: Case, user: User, data: dict, at: datetime) -> str:
    return _require(data, "note", _l("Say why the verdict is overturned."))


@action("reassign", _l("Reassign"), {Role.MANAGER}, {S.DISPATCHED, S.IN_PROGRESS, S.THIRD_PARTY}, S.DISPATCHED, public=False)
def _reassign(case: Case, user: User, data: dict, at: datetime) -> str:
    dep = _department(case, data)
    if dep.id == case.department_id:
        raise TransitionError(_l("The case is already with this department."), field="department_id")
    case.department_id = dep.id
    case.assignee_id = None  # the new department assigns its own technician
    return " ".join(p for p in (dep.name, (data.get("note") or "").strip()) if p)


# Within the department (internal): the head assigns a technician, a technician takes an
# unassigned case (抢单), the case's technician hands it over to a colleague.
DEPARTMENT_WORK = frozenset({S.DISPATCHED, S.IN_PROGRESS, S.THIRD_PARTY, S.WAITING_RESIDENT})


def _colleague(case: Case, data: dict, message) -> User:
    chosen = next((u for u in department_staff(case.department_id, case.estate_id)
                   if u.id == (data.get("assignee_id") or 0)), None)
    if chosen is None:
        raise TransitionError(message, field="assignee_id")
    return chosen


@action("assign", _l("Assign a technician"), {Role.DEPARTMENT}, DEPARTMENT_WORK, public=False,
        when=lambda user, case: user.department_head)
def _assign(case: Case, user: User, data: dict, at: datetime) -> str:
    chosen = _colleague(case, data, _l("Choose a technician of the department."))
    if chosen.id == case.assignee_id:
        raise TransitionError(_l("The case is already assigned to %(name)s.", name=chosen.display_name),
                              field="assignee_id")
    case.assignee_id = chosen.id
    return " ".join(p for p in (chosen.display_name, (data.get("note") or "").strip()) if p)


@action("take", _l("Take this case"), {Role.DEPARTMENT}, DEPARTMENT_WORK, public=False,
        when=lambda user, case: case.assignee_id is None)
def _take(case: Case, user: User, data: dict, at: datetime) -> str:
    if case.assignee_id is not None:  # someone took it a moment earlier
        raise TransitionError(_l("A colleague has already taken this case."))
    case.assignee_id = user.id
    return ""  # the event's actor is who took it


@action("hand_over", _l("Hand over"), {Role.DEPARTMENT}, DEPARTMENT_WORK, public=False,
        when=lambda user, case: case.assignee_id == user.id)
def _hand_over(case: Case, user: User, data: dict, at: datetime) -> str:
    chosen = _colleague(case, data, _l("Choose the colleague who takes the case over."))
    if chosen.id == user.id:
        raise TransitionError(_l("Choose a colleague other than yourself."), field="assignee_id")
    case.assignee_id = chosen.id
    return " ".join(p for p in (chosen.display_name, (data.get("note") or "").strip()) if p)


@action("accept", _l("Accept"), {Role.DEPARTMENT}, {S.DISPATCHED}, S.IN_PROGRESS)
def _accept(case: Case, user: User, data: dict, at: datetime) -> str:
    if case.assignee_id is None:  # whoever accepts an unassigned case has it
        case.assignee_id = user.id
    return (data.get("note") or "").strip()


@action("plan", _l("Post finding and plan"), {Role.DEPARTMENT}, {S.IN_PROGRESS})
def _plan(case: Case, user: User, data: dict, at: datetime) -> str:
    finding = _require(data, "finding", _l("Describe what the investigation found."))
    plan = _require(data, "plan", _l("Describe the plan."))
    promised = data.get("promised_at")
    if not isinstance(promised, datetime):
        raise TransitionError(_l("Give the promised finish time."), field="promised_at")
    if promised <= at:
        raise TransitionError(_l("The promised finish time must be in the future."), field="promised_at")
    case.finding, case.plan, case.promised_at = finding, plan, promised
    return f"{case.finding}\n{case.plan}"


@action("complete", _l("Report completion"), {Role.DEPARTMENT}, {S.IN_PROGRESS}, S.RESOLVED)
def _complete(case: Case, user: User, data: dict, at: datetime) -> str:
    case.completion_note = _require(data, "note", _l("Describe what was done."))
    case.resolved_at = at
    case.confirmed_at = None
    if not data.get("resident_present"):
        return case.completion_note
    # The resident confirms on the technician's phone: the outcome is confirmed, as by `confirm`.
    name = _require(data, "resident_confirmation",
                    _l("The resident types their name to confirm, or untick the box."))
    case.confirmed_at = at
    return "\n".join((case.completion_note, str(_l("Confirmed on site by the resident: %(name)s", name=name))))


@action("third_party", _l("Third-party responsibility"), {Role.DEPARTMENT}, {S.DISPATCHED, S.IN_PROGRESS}, S.THIRD_PARTY)
def _third_party(case: Case, user: User, data: dict, at: datetime) -> str:
    party = _require(data, "third_party", _l("Name the party being chased."))
    case.explanation = _require(data, "note", _l("Write the explanation the resident will read."))
    case.third_party = party
    return f"{case.third_party}: {case.explanation}"


@action("await_resident", _l("Wait for the resident"), {Role.DEPARTMENT} | STAFF,
        {S.DISPATCHED, S.IN_PROGRESS}, S.WAITING_RESIDENT)
def _await_resident(case: Case, user: User, data: dict, at: datetime) -> str:
    return _require(data, "note", _l("Say what the resident needs to do or provide."))


@action("resume", _l("Resume work"), {Role.DEPARTMENT} | STAFF, {S.THIRD_PARTY, S.WAITING_RESIDENT}, S.IN_PROGRESS)
def _resume(case: Case, user: User, data: dict, at: datetime) -> str:
    return (data.get("note") or "").strip()


@action("cannot_handle", _l("Cannot be handled"), {Role.DEPARTMENT}, {S.DISPATCHED, S.IN_PROGRESS}, S.CANNOT_HANDLE)
def _cannot(case: Case, user: User, data: dict, at: datetime) -> str:
    case.explanation = _require(data, "note", _l("Write the explanation and the legitimate reason."))
    return case.explanation


@action("confirm", _l("Confirm the outcome"), {Role.RESIDENT}, {S.RESOLVED})
def _confirm(case: Case, user: User, data: dict, at: datetime) -> str:
    if case.confirmed_at is not None:
        raise TransitionError(_l("You have already confirmed this outcome."))
    case.confirmed_at = at
    return (data.get("note") or "").strip()


@action("reject", _l("Reject the outcome"), {Role.RESIDENT}, {S.RESOLVED}, S.DISPATCHED)
def _reject(case: Case, user: User, data: dict, at: datetime) -> str:
    if case.confirmed_at is not None:
        raise TransitionError(_l("You have already confirmed this outcome."))
    reason = _require(data, "note", _l("Tell us why you are not satisfied."))
    reopen(case)
    return reason


CALLBACK_ROLES = STAFF | {Role.RESIDENT}  # a resident answers the online survey


@action("callback", _l("Callback"), CALLBACK_ROLES, {S.RESOLVED}, S.CALLBACK_DONE, offered=False)
def _callback(case: Case, user: User, data: dict, at: datetime) -> str:
    """A reached callback that did not reopen the case (SPEC §6)."""
    return (data.get("note") or "").strip()


@action("callback_reopen", _l("Reopened after a dissatisfied callback"), CALLBACK_ROLES,
        {S.RESOLVED, S.CALLBACK_DONE, S.CLOSED}, S.DISPATCHED, offered=False)
def _callback_reopen(case: Case, user: User, data: dict, at: datetime) -> str:
    reopen(case)
    case.closed_at = None
    return (data.get("note") or "").strip()


@action("close", _l("Close"), {Role.MANAGER}, {S.RESOLVED, S.CALLBACK_DONE, S.INVALID, S.CANNOT_HANDLE}, S.CLOSED)
def _close(case: Case, user: User, data: dict, at: datetime) -> str:
    case.closed_at = at
    return (data.get("note") or "").strip()


@action("comment", _l("Comment"), {Role.RESIDENT, Role.CLERK, Role.DEPARTMENT, Role.MANAGER},
        set(Status) - {S.CLOSED})
def _comment(case: Case, user: User, data: dict, at: datetime) -> str:
    return _require(data, "note", _l("Write a comment."))


@action("instruct", _l("Give an instruction"), {Role.MANAGER}, ANY_OPEN | {S.RESOLVED}, public=False)
def _instruct(case: Case, user: User, data: dict, at: datetime) -> str:
    """A manager's instruction: internal, shown to the department on the case and its queue."""
    return _require(data, "note", _l("Write the instruction for the department."))


@action("take_over", _l("Take over"), {Role.MANAGER}, ANY_OPEN | {S.RESOLVED}, public=False)
def _take_over(case: Case, user: User, data: dict, at: datetime) -> str:
    if case.owner_id == user.id:
        raise TransitionError(_l("You already own this case."))
    case.owner_id = user.id
    return " ".join(p for p in (user.display_name, (data.get("note") or "").strip()) if p)


# Note-only events on the case timeline (no state change), taken from the callback queue.
@action("callback_attempt", _l("Callback attempt: not reached"), CALLBACK_ROLES, set(Status), public=False,
        offered=False)
@action("callback_unreachable", _l("Callback ended: unreachable"), CALLBACK_ROLES, set(Status), public=False,
        offered=False)
@action("callback_note", _l("Callback"), CALLBACK_ROLES, set(Status), offered=False)
@action("callback_promise", _l("Reply promised during a callback"), CALLBACK_ROLES, set(Status), offered=False)
@action("callback_escalate", _l("Dissatisfied again: escalate"), CALLBACK_ROLES, set(Status), public=False,
        offered=False)
@action("promise_answered", _l("Promised reply given"), CALLBACK_ROLES, set(Status), offered=False)
def _callback_note(case: Case, user: User, data: dict, at: datetime) -> str:
    return (data.get("note") or "").strip()


def reopen(case: Case) -> None:
    """Back to the department; its supervisor visits in person (SPEC §4)."""
    case.reopen_count += 1
    case.supervisor_visit = True
    case.completion_note = ""  # kept in the timeline; the case is not complete any more
    case.resolved_at = None
    case.confirmed_at = None
