"""Callbacks that go wrong: retries inside working hours, repeated dissatisfaction, answers without a case."""
from __future__ import annotations

from datetime import datetime, timedelta
from html import unescape

from sqlalchemy import select

from portal import settings
from portal.callbacks.service import record_callback
from portal.extensions import db
from portal.models import (
    CallbackKind, CallbackTask, Case, CaseEvent, Channel, Kind, Role, Status, TaskStatus,
)
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import post
from tests.callback_helpers import RESOLVE, events_of, record, resolved, tasks_of  # noqa: F401
from tests.helpers import fresh, html, make_case

from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")  # PORTAL_TIMEZONE of the tests


def _unreached(task, people, at):
    record_callback(task, people["clerk"], {"method": "phone", "reached": False}, at=at)
    db.session.commit()
    return db.session.get(CallbackTask, task.id).due_at.astimezone(ZONE)


def test_a_failed_evening_call_is_retried_the_next_working_morning_not_at_21_27(people, resolved):
    case, task = resolved
    settings.put("callback_retry_hours", 24)
    # Monday 2026-11-30 21:27: 24 hours later would be Tuesday 21:27, after hours.
    due = _unreached(task, people, datetime(2026, 11, 30, 21, 27, tzinfo=ZONE))
    assert due == datetime(2026, 12, 2, 8, 30, tzinfo=ZONE)
    note = db.session.scalar(select(CaseEvent.internal_note).where(CaseEvent.case_id == case.id,
                                                                    CaseEvent.action == "callback_attempt"))
    assert "12-02 08:30" in note


def test_a_retry_inside_working_hours_keeps_its_time_and_a_friday_afternoon_one_moves_to_monday(people):
    settings.put("callback_retry_hours", 4)
    first = tasks_of(make_case(people, RESOLVE))[0]
    assert _unreached(first, people, datetime(2026, 11, 30, 10, 0, tzinfo=ZONE)) == \
        datetime(2026, 11, 30, 14, 0, tzinfo=ZONE)
    second = tasks_of(make_case(people, RESOLVE))[0]
    assert _unreached(second, people, datetime(2026, 12, 4, 15, 0, tzinfo=ZONE)) == \
        datetime(2026, 12, 7, 8, 30, tzinfo=ZONE)  # Friday 19:00 is after hours; the weekend is off


def test_a_first_dissatisfied_callback_after_a_rejection_is_not_called_the_second(as_, people):
    case = make_case(people, RESOLVE + ["reject"])  # reopened once, by the resident
    factories.advance(case, ["accept", "complete"], people)
    db.session.commit()
    record(as_("clerk"), tasks_of(case)[-1], satisfaction="dissatisfied", shortcomings="还在漏水")
    case = fresh(case)
    assert case.reopen_count == 2 and case.status == Status.DISPATCHED
    assert "callback_reopen" in events_of(case) and "callback_escalate" not in events_of(case)
    # The second dissatisfied callback escalates, and its note counts both kinds rightly.
    factories.advance(case, ["accept", "complete"], people)
    db.session.commit()
    record(as_("clerk"), tasks_of(case)[-1], satisfaction="dissatisfied")
    case = fresh(case)
    assert events_of(case)[-1] == "callback_escalate"
    note = db.session.scalar(select(CaseEvent.internal_note).where(CaseEvent.case_id == case.id,
                                                                    CaseEvent.action == "callback_escalate"))
    assert "2" in note and "3" in note  # 2 dissatisfied callbacks, reopened 3 times in all


def _routine_task(people, kind=CallbackKind.ROUTINE) -> CallbackTask:
    resident = people["other_resident"]
    task = CallbackTask(kind=kind, status=TaskStatus.PENDING, unit_id=resident.unit_id, resident_id=resident.id,
                        assignee_role=Role.CLERK, due_at=utcnow() + timedelta(days=2), reason="routine")
    db.session.add(task)
    db.session.commit()
    return task


def test_a_dissatisfied_routine_callback_opens_a_case_found_during_a_callback(as_, people):
    task = _routine_task(people)
    before = set(db.session.scalars(select(Case.id)))
    response = record(as_("clerk"), task, satisfaction="dissatisfied", shortcomings="楼道灯坏了一个月",
                      suggestions="请尽快更换")
    [new] = [c for c in db.session.scalars(select(Case)) if c.id not in before]
    assert (new.channel, new.kind, new.status) == (Channel.CALLBACK, Kind.COMPLAINT, Status.REGISTERED)
    assert new.unit_id == task.unit_id and new.resident_id == people["other_resident"].id
    assert "楼道灯坏了一个月" in new.description and new.request == "请尽快更换"
    assert events_of(new) == ["register", "callback_note"]  # the answer is attached on the timeline
    assert "楼道灯坏了一个月" in db.session.scalar(select(CaseEvent.internal_note).where(
        CaseEvent.case_id == new.id, CaseEvent.action == "callback_note"))
    assert new.number in response.get_data(as_text=True)  # the clerk is told which case was opened
    db.session.expire_all()
    assert db.session.get(CallbackTask, task.id).status == TaskStatus.DONE


def test_a_satisfied_routine_callback_opens_nothing(as_, people):
    task = _routine_task(people, CallbackKind.WORKS)
    count = len(list(db.session.scalars(select(Case.id))))
    record(as_("clerk"), task, satisfaction="satisfied")
    assert len(list(db.session.scalars(select(Case.id)))) == count


def test_after_saving_the_panel_offers_the_next_task_and_the_list_names_the_opened_task(as_, people):
    first, second = _routine_task(people), _routine_task(people)
    client = as_("clerk")
    panel = html(record(client, first, satisfaction="satisfied"))
    link = panel.one("p", cls="next-task").one("a")
    assert link.attrs["href"] == f"/callbacks/{second.id}"
    queue = html(client.get("/callbacks"))
    opener = queue.by_id(f"task-{second.id}").one("a", cls="cb-open")
    assert opener.attrs["hx-push-url"].startswith(f"/callbacks/{second.id}")  # the URL names the opened task


def test_a_case_found_at_a_callback_reads_in_the_readers_language_and_keeps_what_was_said(as_, people):
    """The sentence the system writes is a message key (issue 16); the resident's words stay as typed."""
    task = _routine_task(people)
    before = set(db.session.scalars(select(Case.id)))
    record(as_("clerk"), task, satisfaction="dissatisfied", shortcomings="楼道灯坏了一个月")
    [new] = [c for c in db.session.scalars(select(Case)) if c.id not in before]
    assert new.description_msg[0]["k"] == "callback.complaint" and new.description_msg[1] == "楼道灯坏了一个月"
    english, chinese = as_("clerk"), as_("manager")
    post(english, "/lang/en", {})
    for client, sentence, other in ((english, "Dissatisfied at a callback (Routine).", "回访不满意"),
                                    (chinese, "回访不满意（例行回访）。", "Dissatisfied at a callback")):
        for url in (f"/cases/{new.id}", "/board"):
            page = unescape(client.get(url).get_data(as_text=True))
            assert sentence in page and other not in page, url
        assert "楼道灯坏了一个月" in client.get(f"/cases/{new.id}").get_data(as_text=True)
