"""Recording a callback: satisfied, dissatisfied, unreachable, promised replies, time as a parameter."""
from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import func, select

from portal.callbacks import jobs
from portal.extensions import db
from portal.models import (
    CallbackPromise, CallbackRecord, CallbackTask, Method, Role, Satisfaction, Status, TaskStatus,
)
from portal.timeutil import local_zone, utcnow
from tests.conftest import post
from tests.helpers import fresh, html
from tests.callback_helpers import events_of, record, resolved, set_setting, tasks_of  # noqa: F401


# --- outcomes ------------------------------------------------------------------------------

def test_satisfied_callback_completes_the_task_and_moves_the_case_to_callback_done(as_, resolved):
    case, task = resolved
    response = record(as_("clerk"), task, satisfaction="very_satisfied", quality_rating="5",
                      effect_rating="4", suggestions="希望保持", confirmed="y")
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert response.headers["HX-Trigger"] == "callbacks-changed"
    [task] = tasks_of(case)
    assert (task.status, task.outcome) == (TaskStatus.DONE, "very_satisfied")
    assert fresh(case).status == Status.CALLBACK_DONE
    rec = db.session.scalar(select(CallbackRecord).where(CallbackRecord.task_id == task.id))
    assert (rec.method, rec.reached, rec.satisfaction, rec.quality_rating, rec.effect_rating, rec.confirmed) == \
        (Method.PHONE, True, Satisfaction.VERY_SATISFIED, 5, 4, True)
    assert events_of(case)[-1] == "callback"


def test_dissatisfied_callback_reopens_the_case_for_a_supervisor_visit_and_escalates_the_second_time(
        as_, people, resolved):
    case, task = resolved
    record(as_("clerk"), task, satisfaction="dissatisfied", shortcomings="还在漏水")
    case = fresh(case)
    assert (case.status, case.reopen_count, case.supervisor_visit) == (Status.DISPATCHED, 1, True)
    assert "callback_reopen" in events_of(case) and "callback_escalate" not in events_of(case)
    from tests.factories import advance
    advance(case, ["accept", "complete"], people)
    db.session.commit()
    second = tasks_of(case)[-1]
    assert second.round == 1 and second.status == TaskStatus.PENDING
    record(as_("clerk"), second, satisfaction="dissatisfied")
    case = fresh(case)
    assert case.reopen_count == 2 and case.status == Status.DISPATCHED
    assert events_of(case)[-1] == "callback_escalate"
    assert [r.task_id for r in jobs.repeat_dissatisfied(utcnow() - timedelta(hours=1))] == [second.id]
    # ...and the manager hears of it at once, once.
    from portal.models import Alert, Notification
    alert = db.session.scalar(select(Alert).where(Alert.case_id == case.id, Alert.rule == "reopened_twice"))
    assert alert is not None and alert.level == 1
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.alert_id == alert.id, Notification.user_id == people["manager"].id,
        Notification.channel == "inapp")) == 1


def test_unreachable_after_the_set_number_of_attempts(as_, resolved):
    set_setting("callback_max_attempts", 2)
    set_setting("callback_retry_hours", 4)
    case, task = resolved
    client = as_("clerk")
    before = utcnow()
    response = record(client, task, reached="no", note="无人接听")
    assert "下次" in response.get_data(as_text=True) or "next attempt" in response.get_data(as_text=True)
    [task] = tasks_of(case)
    assert task.status == TaskStatus.PENDING and task.attempts == 1
    assert task.due_at >= before + timedelta(hours=4)
    local = task.due_at.astimezone(local_zone()).time()
    assert time(8, 30) <= local <= time(17, 30)  # inside working hours (test_callback_retries.py)
    record(client, task, reached="no")
    [task] = tasks_of(case)
    assert (task.status, task.attempts, task.outcome) == (TaskStatus.UNREACHABLE, 2, "unreachable")
    assert fresh(case).status == Status.RESOLVED  # nobody was reached: nothing changes on the case
    callback_clock = [d for d in fresh(case).deadlines if d.clock == "callback"][-1]
    assert callback_clock.met_at is not None and callback_clock.cancelled  # ended; counted as unreachable
    assert events_of(case)[-2:] == ["callback_attempt", "callback_unreachable"]
    page = html(client.get("/callbacks?tab=unreachable"))
    assert page.all(id=f"task-{task.id}")
    assert record(client, task, reached="no").status_code == 200
    assert db.session.scalar(select(func.count(CallbackRecord.id))) == 2  # a finished task takes no more


def promise_a_reply(client, task) -> tuple[CallbackPromise, str]:
    """Record a callback that promises a reply tomorrow; the promise and the time typed."""
    when = (utcnow() + timedelta(days=1)).astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M")
    record(client, task, satisfaction="satisfied", question="维修费用谁承担？", promised_reply_at=when)
    return db.session.scalar(select(CallbackPromise)), when


def test_promised_reply_becomes_a_deadline_on_the_case_until_answered(as_, resolved):
    case, task = resolved
    client = as_("clerk")
    promise, when = promise_a_reply(client, task)
    assert promise.case_id == case.id and promise.answered_at is None
    assert promise.due_at.astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M") == when
    assert "callback_promise" in events_of(case)
    assert jobs.overdue_promises(utcnow()) == []
    assert [p.id for p in jobs.overdue_promises(utcnow() + timedelta(days=2))] == [promise.id]
    # The promise is a deadline the scan escalates like any other.
    from portal.sla.scan import scan
    [clock] = [d for d in fresh(case).deadlines if d.clock == "callback_reply"]
    assert clock.due_at == promise.due_at and clock.met_at is None
    assert ("callback_reply", 1) in [(f.rule, f.level) for f in scan(utcnow() + timedelta(days=2), dry_run=True)]
    db.session.rollback()
    response = post(client, f"/callbacks/{task.id}/answer", {"promise_id": str(promise.id), "answer": "由开发商承担"},
                    htmx_target="task-panel")
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(CallbackPromise, promise.id).answered_at is not None
    assert events_of(case)[-1] == "promise_answered"
    assert jobs.overdue_promises(utcnow() + timedelta(days=2)) == []
    [clock] = [d for d in fresh(case).deadlines if d.clock == "callback_reply"]
    assert clock.met_at is not None
    assert ("callback_reply", 1) not in [(f.rule, f.level) for f in scan(utcnow() + timedelta(days=2),
                                                                         dry_run=True)]


def test_answering_a_promise_twice_or_a_foreign_one_says_why(as_, resolved):
    _case, task = resolved
    client = as_("clerk")
    promise, _when = promise_a_reply(client, task)
    first = post(client, f"/callbacks/{task.id}/answer", {"promise_id": str(promise.id), "answer": "由开发商承担"},
                 htmx_target="task-panel")
    assert first.status_code == 200
    again = post(client, f"/callbacks/{task.id}/answer", {"promise_id": str(promise.id), "answer": "改由业主承担"},
                 htmx_target="task-panel").get_data(as_text=True)
    assert "该问题已答复。" in again
    db.session.expire_all()
    assert db.session.get(CallbackPromise, promise.id).answer == "由开发商承担"
    foreign = post(client, f"/callbacks/{task.id}/answer", {"promise_id": "999999", "answer": "x"},
                   htmx_target="task-panel").get_data(as_text=True)
    assert "请选择要答复的问题。" in foreign


def test_invalid_record_comes_back_with_the_message_beside_the_field_and_input_kept(as_, resolved):
    case, task = resolved
    response = record(as_("clerk"), task, shortcomings="态度一般", question="何时复查？")
    assert response.status_code == 200
    page = html(response)
    assert page.by_id("satisfaction-error")
    assert "态度一般" in page.by_id("shortcomings").text
    assert tasks_of(case)[0].status == TaskStatus.PENDING and fresh(case).status == Status.RESOLVED


def test_plain_form_post_redirects_back_to_the_queue(as_, resolved):
    case, task = resolved
    response = record(as_("clerk"), task, htmx=False, satisfaction="satisfied")
    assert response.status_code == 302 and response.location.endswith(f"/callbacks/{task.id}")


def test_clerks_cannot_record_a_managers_callback(as_, people, resolved):
    case, task = resolved
    task.assignee_role = Role.MANAGER
    db.session.commit()
    response = record(as_("clerk"), task, satisfaction="satisfied")
    assert response.status_code == 200 and tasks_of(case)[0].status == TaskStatus.PENDING
    record(as_("manager"), task, satisfaction="satisfied")
    assert tasks_of(case)[0].status == TaskStatus.DONE


def test_overdue_tasks_query_for_the_scan(resolved):
    case, task = resolved
    assert jobs.overdue_tasks(utcnow()) == []
    assert [t.id for t in jobs.overdue_tasks(utcnow() + timedelta(days=4))] == [task.id]
    assert [t.id for t in jobs.due_soon_tasks(utcnow() + timedelta(days=2), timedelta(days=2))] == [task.id]


def test_the_recorder_takes_the_time_as_a_parameter(resolved, people):
    from portal.callbacks.service import record_callback
    case, task = resolved
    when = utcnow() + timedelta(hours=5)
    outcome = record_callback(task, people["clerk"], {"method": "phone", "reached": True,
                                                      "satisfaction": "satisfied"}, at=when)
    db.session.commit()
    assert outcome.code == "done" and outcome.record.at == when
    assert fresh(case) and db.session.get(CallbackTask, task.id).closed_at == when
    assert fresh(case).status == Status.CALLBACK_DONE
    assert [d.met_at for d in fresh(case).deadlines if d.clock == "callback"] == [when]
    assert max(e.at for e in fresh(case).events) == when
