"""Callback domain rules: which callbacks are owed, and what a recorded callback does to its case."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.exc import IntegrityError

from portal import settings
from portal.callbacks.rules import callback_due, retry_at
from portal.callbacks.sampling import draw, month_seed
from portal.cases.intake import register_case
from portal.cases.lifecycle import ACTIONS, perform
from portal.extensions import db
from portal.messages import lab, msg, render
from portal.sla import calendar, deadlines
from portal.models import (
    CallbackKind, CallbackPromise, CallbackRecord, CallbackTask, Case, Channel, Kind, Method, Role, Satisfaction,
    Severity, Status, TaskStatus, User,
)
from portal.timeutil import fmt_dt, local_zone, utcnow

LOW = (Satisfaction.NEUTRAL, Satisfaction.DISSATISFIED)


class CallbackError(Exception):
    """A callback that cannot be recorded as asked; `field` names the form field to blame."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class AlreadyDone(CallbackError):
    """The task was finished (answered, or by a simultaneous answer) before this one arrived."""


# --- which callbacks are owed ------------------------------------------------------------

def rated_low(case: Case) -> bool:
    """An earlier callback on this case was neutral or dissatisfied, or rated 2 or less."""
    return bool(db.session.scalar(select(exists().where(
        CallbackRecord.case_id == case.id,
        or_(CallbackRecord.satisfaction.in_(LOW), CallbackRecord.quality_rating <= 2,
            CallbackRecord.effect_rating <= 2)))))


def repair_reason(case: Case) -> tuple[str, str] | None:
    """(reason, detail) when a resolved repair is drawn for a callback, else None."""
    if case.reopen_count:
        return "reopened", ""
    if case.severity == Severity.MAJOR:
        return "major", ""
    if rated_low(case):
        return "low_rating", ""
    month = case.resolved_at.astimezone(local_zone()).strftime("%Y-%m")
    result = draw(month_seed(month), case.number, settings.get("callback_repair_sample_percent"), month)
    return ("sampled", result.detail) if result.drawn else None


def task_for_case(case: Case) -> CallbackTask | None:
    """The callback task this resolution of the case already has, if any."""
    return db.session.scalar(select(CallbackTask).where(
        CallbackTask.case_id == case.id, CallbackTask.round == case.reopen_count))


def create_for_case(case: Case) -> CallbackTask | None:
    """Owe a callback for a resolved complaint (always) or repair (when drawn). Idempotent."""
    if case.resolved_at is None or case.status not in (Status.RESOLVED, Status.CLOSED):
        return None
    if case.kind not in (Kind.COMPLAINT, Kind.REPAIR):
        return None
    existing = task_for_case(case)
    if existing is not None:
        return existing
    if case.kind == Kind.COMPLAINT:
        kind, (reason, detail) = CallbackKind.COMPLAINT, ("complaint", "")
    else:
        drawn = repair_reason(case)
        if drawn is None:
            return None
        kind, (reason, detail) = CallbackKind.REPAIR, drawn
    major = case.kind == Kind.COMPLAINT and case.severity == Severity.MAJOR
    task = CallbackTask(kind=kind, case_id=case.id, round=case.reopen_count, unit_id=case.unit_id,
                        resident_id=case.resident_id, assignee_role=Role.MANAGER if major else Role.CLERK,
                        due_at=callback_due(case), reason=reason, reason_detail=detail,
                        status=TaskStatus.PENDING)
    try:
        with db.session.begin_nested():
            db.session.add(task)
    except IntegrityError:  # another worker created it first
        return task_for_case(case)
    # The task's due time is a deadline like any other: the scan escalates an overdue callback.
    deadlines.start(case, "callback", case.resolved_at, calendar.load(), case.reopen_count, due=task.due_at)
    deadlines.summarise(case)
    return task


def cancel_superseded(case: Case, at: datetime | None = None) -> int:
    """A reopened case is not resolved any more: its pending callback waits for the next resolution."""
    stale = db.session.scalars(select(CallbackTask).where(
        CallbackTask.case_id == case.id, CallbackTask.status == TaskStatus.PENDING,
        CallbackTask.round < case.reopen_count))
    n = 0
    for task in stale:
        task.status, task.outcome, task.closed_at = TaskStatus.CANCELLED, "reopened", at or utcnow()
        n += 1
    return n


# --- recording a callback ----------------------------------------------------------------

def dissatisfied_before(case: Case) -> int:
    """Dissatisfied callbacks already recorded on this case (a rejected outcome is not one)."""
    return db.session.scalar(select(func.count(CallbackRecord.id)).where(
        CallbackRecord.case_id == case.id, CallbackRecord.reached.is_(True),
        CallbackRecord.satisfaction == Satisfaction.DISSATISFIED)) or 0


@dataclass
class Outcome:
    code: str  # done, reopened, opened, attempt, unreachable
    record: CallbackRecord
    case: Case | None = None  # "opened": the case the dissatisfied answer opened


def may_record(user: User | None, task: CallbackTask) -> bool:
    """Managers take any callback; clerks the pool's; residents only their own online survey."""
    if user is None:
        return False
    if user.role == Role.MANAGER:
        return True
    if user.role == Role.CLERK:
        return task.assignee_role == Role.CLERK
    return user.role == Role.RESIDENT and task.resident_id == user.id and task.case_id is not None


# A callback without a case behind it (routine, works, new residents, visits) was recorded: the
# lifecycle's `acted` tells of those with a case. Subscribers (webhooks) connect at app start.
recorded = Namespace().signal("callback-recorded")


def record_callback(task: CallbackTask, user: User, data: dict, at: datetime | None = None) -> Outcome:
    """Log one attempt or answer at `at` (default now) and act on it. The caller commits.

    data: method, reached, satisfaction, quality_rating, effect_rating, shortcomings,
    suggestions, confirmed, note, question, promised_reply_at (aware datetime).
    """
    case_id = task.case_id
    outcome = _record(task, user, data, at)
    if case_id is None:
        recorded.send(task, outcome=outcome.code, at=outcome.record.at if outcome.record is not None else at)
    return outcome


def _record(task: CallbackTask, user: User, data: dict, at: datetime | None) -> Outcome:
    if not task.is_open:
        raise AlreadyDone(_l("This callback is already finished."))
    if not may_record(user, task):
        raise CallbackError(_l("This callback is assigned to a manager."))
    now = at or utcnow()
    reached = bool(data.get("reached"))
    satisfaction = Satisfaction(data["satisfaction"]) if reached and data.get("satisfaction") else None
    if reached and satisfaction is None:
        raise CallbackError(_l("Choose how satisfied the resident is."), "satisfaction")
    question = (data.get("question") or "").strip() if reached else ""
    promised = data.get("promised_reply_at") if question else None
    if question and (not isinstance(promised, datetime) or promised <= now):
        raise CallbackError(_l("Give a reply time in the future for the open question."), "promised_reply_at")
    case = task.case
    reopen = (satisfaction == Satisfaction.DISSATISFIED and case is not None
              and case.status in ACTIONS["callback_reopen"].sources)
    earlier = dissatisfied_before(case) if reopen else 0
    _claim(task)  # before anything is written: a simultaneous answer stops here
    rec = CallbackRecord(
        task=task, case_id=task.case_id, caller=user, at=now, method=Method(data.get("method") or "phone"),
        reached=reached, satisfaction=satisfaction,
        quality_rating=data.get("quality_rating") or None if reached else None,
        effect_rating=data.get("effect_rating") or None if reached else None,
        shortcomings=(data.get("shortcomings") or "").strip() if reached else "",
        suggestions=(data.get("suggestions") or "").strip() if reached else "",
        confirmed=bool(data.get("confirmed")) and reached, note=(data.get("note") or "").strip(),
        escalate=reopen and earlier >= 1,  # the second dissatisfied callback
        client_address=(data.get("client_address") or "")[:45], user_agent=(data.get("user_agent") or "")[:300],
    )
    db.session.add(rec)
    if not reached:
        return _not_reached(task, case, user, rec, now)
    task.status, task.outcome, task.closed_at = TaskStatus.DONE, satisfaction.value, now
    code = "done"
    if case is not None:
        summary = summarize(rec)
        if reopen:
            perform(case, user, "callback_reopen", {"note": summary}, now)
            code = "reopened"
            if rec.escalate:
                perform(case, user, "callback_escalate", {"note": msg(
                    "callback.escalate", callbacks=earlier + 1, n=case.reopen_count)}, now)
        elif case.status == Status.RESOLVED:
            perform(case, user, "callback", {"note": summary}, now)
        else:
            perform(case, user, "callback_note", {"note": summary}, now)
        if question:
            db.session.flush()
            db.session.add(CallbackPromise(case_id=case.id, task_id=task.id, record_id=rec.id,
                                           question=question, due_at=promised))
            deadlines.start_reply_promise(case, now, promised)
            perform(case, user, "callback_promise", {"note": msg(
                "callback.promise", question=question, time=fmt_dt(promised))}, now)
    elif question:
        db.session.flush()
        db.session.add(CallbackPromise(task_id=task.id, record_id=rec.id, question=question, due_at=promised))
    if case is None and satisfaction == Satisfaction.DISSATISFIED:
        return Outcome("opened", rec, open_case(task, user, rec, now))
    return Outcome(code, rec)


def open_case(task: CallbackTask, user: User, rec: CallbackRecord, at: datetime) -> Case:
    """A dissatisfied routine, works or visit callback (no case behind it) opens a complaint through
    the "found during a callback" channel, the answer attached on its timeline. The desk classifies it."""
    summary = summarize(rec)
    what = (rec.shortcomings or rec.note or "").strip()
    # The system's sentence as a message key (shown in the reader's language), what the resident said as typed.
    description = [msg("callback.complaint", kind=lab("callback_kind", task.kind))] + ([what] if what else [])
    case = register_case(actor=user, resident=task.resident, kind=Kind.COMPLAINT, channel=Channel.CALLBACK,
                         description=render(description), description_msg=description,
                         request=rec.suggestions or "", unit_id=task.unit_id, at=at)
    perform(case, user, "callback_note", {"note": summary}, at)
    return case


def _claim(task: CallbackTask) -> None:
    """Count this attempt only if nobody recorded one since the task was read (compare and set).

    Four simultaneous answers to one survey all find the task open; the conditional UPDATE lets one
    through and the others wait for its commit, then match no row (PostgreSQL re-checks the row,
    SQLite serialises the writers): they are told the survey is already answered, never a 500.
    """
    seen = task.attempts
    claimed = db.session.execute(
        update(CallbackTask).where(CallbackTask.id == task.id, CallbackTask.status == TaskStatus.PENDING,
                                   CallbackTask.attempts == seen)
        .values(attempts=seen + 1).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise AlreadyDone(_l("This callback is already finished."))
    set_committed_value(task, "attempts", seen + 1)


def _not_reached(task, case, user, rec, now) -> Outcome:
    if task.attempts >= settings.get("callback_max_attempts"):
        task.status, task.outcome, task.closed_at = TaskStatus.UNREACHABLE, "unreachable", now
        if case is not None:
            perform(case, user, "callback_unreachable", {"note": msg(
                "callback.unreachable", n=task.attempts)}, now)
        return Outcome("unreachable", rec)
    task.due_at = retry_at(now)
    if case is not None:
        perform(case, user, "callback_attempt", {"note": msg(
            "callback.attempt", n=task.attempts, time=fmt_dt(task.due_at))}, now)
    return Outcome("attempt", rec)


def summarize(rec: CallbackRecord) -> list:
    """The callback as one timeline note: message items (portal.messages), one per line."""
    parts = [msg("callback.answer", method=lab("method", rec.method), satisfaction=lab("satisfaction", rec.satisfaction))]
    if rec.quality_rating or rec.effect_rating:
        parts.append(msg("callback.ratings", q=rec.quality_rating or "—", e=rec.effect_rating or "—"))
    for key, text in (("callback.shortcomings", rec.shortcomings), ("callback.suggestions", rec.suggestions),
                      ("callback.note", rec.note)):
        if text:
            parts.append(msg(key, text=text))
    if rec.confirmed:
        parts.append(msg("callback.confirmed"))
    return parts


def answer_promise(promise: CallbackPromise, user: User, answer: str, at: datetime | None = None) -> None:
    """Give the promised reply; it closes the deadline and goes on the case timeline."""
    if not may_record(user, promise.task):  # the same assignment rule as recording the callback
        raise CallbackError(_l("This callback is assigned to a manager."))
    if promise.answered_at is not None:
        raise CallbackError(_l("This question has already been answered."))
    answer = (answer or "").strip()
    if not answer:
        raise CallbackError(_l("Write the reply."), "answer")
    promise.answer, promise.answered_at, promise.answered_by_id = answer, at or utcnow(), user.id
    if promise.case is not None:
        deadlines.meet_reply_promise(promise.case, promise.due_at, promise.answered_at)
        perform(promise.case, user, "promise_answered", {"note": f"{promise.question}\n{answer}"},
                promise.answered_at)


def survey_task(case: Case) -> CallbackTask | None:
    """The pending callback a resident may answer online for this case."""
    return db.session.scalar(select(CallbackTask).where(
        CallbackTask.case_id == case.id, CallbackTask.status == TaskStatus.PENDING)
        .order_by(CallbackTask.id.desc()).limit(1))


def answer_survey(task: CallbackTask, resident: User, data: dict, at: datetime | None = None,
                  client_address: str = "", user_agent: str = "") -> Outcome:
    """The resident's own answer counts as an online callback; it keeps the address and browser it came from."""
    return record_callback(task, resident, {**data, "method": Method.ONLINE.value, "reached": True,
                                            "question": "", "confirmed": True, "client_address": client_address,
                                            "user_agent": user_agent}, at)
