"""Which clocks each lifecycle action starts, meets, cancels or re-budgets (SPEC §3, §5): one table.

`apply` reads the table for the action just performed, then the state rules below
it; `portal.sla.deadlines` does the arithmetic. Two clocks carry their own due
time and are started by the callback area: the callback (when a callback is owed,
`callbacks.service.create_for_case`, due at the "callback" service level of the
case's kind) and each reply promised during a callback (`callback_reply`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.models import Case, Kind, Role, Status
from portal.models.cases import OPEN_STATUSES, PAUSED_STATUSES
from portal.sla import calendar, deadlines

DEPARTMENT = ("investigation", "proposal")  # the department's clocks after dispatch, restarted on reopening


@dataclass(frozen=True)
class ClockRule:
    meets: tuple = ()  # what these clocks waited for has happened
    cancels: tuple = ()  # these clocks no longer apply
    restores: tuple = ()  # cancelled clocks that count on (from where they stopped being cancelled)
    starts: tuple = ()  # started for the case's current round (a reopening starts a new one)
    from_receipt: bool = False  # start at the time the case was received, not at the action
    rebudget: bool = False  # running policy clocks take the allowance of the case's new kind and severity


ANSWERED = ClockRule(meets=DEPARTMENT)
REOPENED = ("resolution",) + DEPARTMENT  # a reopened case starts a new round of these

RULES: dict[str, ClockRule] = {
    "register": ClockRule(starts=("first_reply", "resolution", "dispatch"), from_receipt=True),
    "classify": ClockRule(rebudget=True),
    "dispatch": ClockRule(meets=("dispatch",), starts=DEPARTMENT),
    "reassign": ClockRule(meets=("dispatch",), starts=DEPARTMENT),
    "plan": ClockRule(meets=DEPARTMENT, starts=("promise",)),
    "third_party": ANSWERED,
    "cannot_handle": ANSWERED,
    "complete": ClockRule(meets=DEPARTMENT + ("resolution", "promise", "dispatch")),
    "mark_invalid": ClockRule(starts=("invalid_notice",)),
    "overturn": ClockRule(cancels=("invalid_notice",), restores=("resolution",)),
    "reject": ClockRule(cancels=("callback",), starts=REOPENED),
    "callback": ClockRule(meets=("callback",)),
    "callback_note": ClockRule(meets=("callback",)),  # reached after the case was closed
    "callback_reopen": ClockRule(meets=("callback",), starts=REOPENED),  # reached, dissatisfied
    "callback_unreachable": ClockRule(cancels=("callback",)),  # given up: counted as unreachable
}
NONE = ClockRule()
# The first thing the resident hears from us meets the first-reply clock: any public staff action but these.
NOT_A_REPLY = {"register", "classify"}
# Once the case is no longer open every other clock stops; these keep running (the notice and callback are ours).
KEEP_RUNNING = {Status.RESOLVED: {"invalid_notice", "callback", "callback_reply"},
                Status.CLOSED: {"callback_reply"}}
SETTLED_KEEPS = KEEP_RUNNING[Status.RESOLVED]
# Clocks that only some kinds of case have.
ONLY_FOR = {"dispatch": {Kind.REPAIR}}
# Clocks with an absolute due time rather than a service level.
FIXED_DUE = {"promise": lambda case: case.promised_at}


def apply(case: Case, action: str, actor, before: Status | None, public: bool, at: datetime) -> None:
    """Bring the case's clocks in line with the action just performed at `at`."""
    rule = RULES.get(action, NONE)
    cal = calendar.load()
    if actor is not None and actor.role != Role.RESIDENT and public and action not in NOT_A_REPLY:
        deadlines.meet(case, {"first_reply"}, at)
    deadlines.meet(case, set(rule.meets), at)
    deadlines.meet(case, set(rule.cancels), at, cancelled=True)
    for d in case.deadlines:
        if d.clock in rule.restores and d.cancelled:
            d.met_at, d.cancelled = None, False
            deadlines.schedule(d, cal)
    since = case.received_at if rule.from_receipt else at
    for clock in rule.starts:
        if clock in ONLY_FOR and case.kind not in ONLY_FOR[clock]:
            continue
        fixed = FIXED_DUE.get(clock)
        deadlines.start(case, clock, since, cal, case.reopen_count, due=fixed(case) if fixed else None)
    if rule.rebudget:
        deadlines.rebudget(case, cal, at)
    if case.status not in OPEN_STATUSES:
        keep = KEEP_RUNNING.get(case.status, SETTLED_KEEPS)
        deadlines.meet(case, {d.clock for d in case.deadlines} - keep, at, cancelled=case.status != Status.RESOLVED)
    if case.status in PAUSED_STATUSES and before not in PAUSED_STATUSES:
        deadlines.pause(case, at, cal)
    elif before in PAUSED_STATUSES and case.status not in PAUSED_STATUSES:
        deadlines.resume(case, at, cal)
    deadlines.summarise(case)
