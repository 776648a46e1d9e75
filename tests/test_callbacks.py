"""Callbacks 回访 (SPEC §6): tasks from resolutions, the queue, every outcome, promises, survey links."""
from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

import pytest
from sqlalchemy import func, select

from portal import settings
from portal.callbacks import jobs
from portal.callbacks.links import make_token
from portal.extensions import db
from portal.models import (
    CallbackKind, CallbackPromise, CallbackRecord, CallbackTask, CaseEvent, Kind, Method, Role,
    Satisfaction, Status, TaskStatus,
)
from portal.timeutil import local_zone, utcnow
from tests.conftest import login_as, post
from tests.helpers import fresh, html, make_case

RESOLVE = ["classify", "dispatch", "accept", "plan", "complete"]


def tasks_of(case) -> list[CallbackTask]:
    db.session.expire_all()
    return list(db.session.scalars(select(CallbackTask).where(CallbackTask.case_id == case.id)
                                   .order_by(CallbackTask.id)))


def events_of(case) -> list[str]:
    return list(db.session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id)
                                   .order_by(CaseEvent.id)))


def set_setting(key, value):
    settings.put(key, value)
    db.session.commit()


def record(client, task, htmx=True, **fields):
    data = {"method": "phone", "reached": "yes", **fields}
    return post(client, f"/callbacks/{task.id}/record", data, htmx_target="task-panel" if htmx else None)


@pytest.fixture
def resolved(people):
    """A minor complaint, resolved by engineering, with its callback task."""
    case = make_case(people, RESOLVE)
    return case, tasks_of(case)[0]


# --- where callbacks come from -------------------------------------------------------------

def _working_days_after(moment, days):
    from portal.sla import calendar
    cal = calendar.load()
    end = cal.add_work(moment, days * cal.day_seconds)
    assert cal.work_between(moment, end) == pytest.approx(days * cal.day_seconds)  # float seconds
    return end


def test_resolving_a_complaint_creates_one_task_due_in_three_days_for_the_clerks_pool(people):
    case = make_case(people, RESOLVE)
    [task] = tasks_of(case)
    assert (task.kind, task.status, task.assignee_role) == (CallbackKind.COMPLAINT, TaskStatus.PENDING, Role.CLERK)
    assert task.due_at == _working_days_after(fresh(case).resolved_at, 3)
    # The task is a deadline on the case too, so the scan escalates it when overdue.
    assert [d.due_at for d in fresh(case).deadlines if d.clock == "callback"] == [task.due_at]
    assert task.reason == "complaint" and task.resident_id == people["resident"].id
    # Jobs may run twice: still one task.
    assert jobs.create_task_for_case(case.id) == task.id
    assert jobs.create_missing_tasks(utcnow() - timedelta(days=1)) == 0
    assert len(tasks_of(case)) == 1


def test_major_complaint_callback_goes_to_the_managers(people):
    case = make_case(people, ["classify"])
    case.severity = "major"
    db.session.commit()
    from tests.factories import advance
    advance(case, ["dispatch", "accept", "plan", "complete"], people)
    db.session.commit()
    assert tasks_of(case)[0].assignee_role == Role.MANAGER


def test_the_due_time_is_the_callback_service_level(people):
    """One owner: the "callback" service level on /admin/deadlines (there is no second setting)."""
    from portal.sla import policy
    assert "callback_due_days" not in settings.SPECS
    policy.save("complaint", "minor", "callback", 10, "working_days")
    db.session.commit()
    case = make_case(people, RESOLVE)
    [task] = tasks_of(case)
    assert task.due_at == _working_days_after(fresh(case).resolved_at, 10)
    assert [d.due_at for d in fresh(case).deadlines if d.clock == "callback"] == [task.due_at]


def test_a_drawn_repair_is_due_at_the_repair_callback_level(people):
    from portal.sla import policy
    set_setting("callback_repair_sample_percent", 100)
    policy.save("repair", "minor", "callback", 2, "working_days")
    db.session.commit()
    case = make_case(people, RESOLVE, kind=Kind.REPAIR)
    assert tasks_of(case)[0].due_at == _working_days_after(fresh(case).resolved_at, 2)


def test_repairs_are_drawn_at_the_managers_rate_and_the_draw_is_shown(people):
    set_setting("callback_repair_sample_percent", 0)
    skipped = make_case(people, RESOLVE, kind=Kind.REPAIR)
    assert tasks_of(skipped) == []
    set_setting("callback_repair_sample_percent", 100)
    drawn = make_case(people, RESOLVE, kind=Kind.REPAIR)
    [task] = tasks_of(drawn)
    month = fresh(drawn).resolved_at.astimezone(local_zone()).strftime("%Y-%m")
    assert task.kind == CallbackKind.REPAIR and task.reason == "sampled"
    assert task.reason_detail.startswith(month + ": 0.") and task.reason_detail.endswith("< 100%")
    # The catch-up scan draws the same way: at 100% the skipped repair is drawn now.
    assert jobs.create_missing_tasks(utcnow() - timedelta(days=1)) == 1


def test_reopened_repairs_are_always_drawn(people, as_):
    set_setting("callback_repair_sample_percent", 0)
    case = make_case(people, RESOLVE + ["reject"], kind=Kind.REPAIR)
    from tests.factories import advance
    advance(fresh(case), ["accept", "complete"], people)
    db.session.commit()
    [task] = tasks_of(case)
    assert (task.reason, task.round) == ("reopened", 1)


def test_a_rejected_outcome_cancels_the_pending_callback_and_the_next_resolution_gets_a_new_one(people):
    from tests.factories import advance
    case = make_case(people, RESOLVE)  # the task is created by a job once the resolution commits
    advance(fresh(case), ["reject"], people)
    db.session.commit()
    [old] = tasks_of(case)
    assert (old.status, old.outcome) == (TaskStatus.CANCELLED, "reopened")
    advance(fresh(case), ["accept", "complete"], people)
    db.session.commit()
    old, new = tasks_of(case)
    assert new.status == TaskStatus.PENDING and new.round == 1


def test_a_case_reopened_before_its_resolution_commits_gets_no_stale_task(people):
    case = make_case(people, RESOLVE + ["reject"])
    assert tasks_of(case) == []


def test_the_minute_tick_creates_lost_tasks_and_next_months_plan(people, monkeypatch):
    from datetime import date

    from portal import jobs as job_runner
    from portal.models import CallbackPlan
    monkeypatch.setattr(job_runner, "enqueue_now", lambda *a, **k: None)  # the task job is "lost"
    case = make_case(people, RESOLVE)
    assert tasks_of(case) == []
    monkeypatch.undo()
    jobs.tick(utcnow())
    assert len(tasks_of(case)) == 1
    assert jobs.ensure_next_plan(date(2026, 12, 10)) is None           # too early for January
    plan_id = jobs.ensure_next_plan(date(2026, 12, 25))
    assert db.session.get(CallbackPlan, plan_id).month == 1
    assert jobs.ensure_next_plan(date(2026, 12, 26)) == plan_id        # once only


def test_enquiries_get_no_callback_task(people):
    assert tasks_of(make_case(people, RESOLVE, kind=Kind.ENQUIRY)) == []


# --- the queue -----------------------------------------------------------------------------

def test_queue_lists_the_task_with_its_reason_and_opens_it_without_leaving_the_page(as_, resolved):
    case, task = resolved
    client = as_("clerk")
    page = html(client.get("/callbacks"))
    item = page.by_id(f"task-{task.id}")
    assert case.number in item.text
    assert "每一件已解决的投诉" in item.text or "Every resolved complaint" in item.text
    link = item.one("a", cls="cb-open")
    assert link.attrs["hx-target"] == "#task-panel"
    panel = client.get(link.attrs["hx-get"], headers={"HX-Request": "true", "HX-Target": "task-panel"})
    body = panel.get_data(as_text=True)
    assert "<html" not in body and 'id="task-panel"' in body
    assert people_phone(case) in body and "更换管道" in body  # the contact and what was promised
    assert 'id="timeline"' in body


def people_phone(case):
    return fresh(case).contact_phone


def test_queue_tabs_filter_by_due_time(as_, people, resolved):
    case, task = resolved
    late = make_case(people, RESOLVE)
    late_task = tasks_of(late)[0]
    late_task.due_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    client = as_("clerk")
    overdue = html(client.get("/callbacks?tab=overdue"))
    assert overdue.all(id=f"task-{late_task.id}") and not overdue.all(id=f"task-{task.id}")
    upcoming = html(client.get("/callbacks?tab=upcoming"))
    assert upcoming.all(id=f"task-{task.id}") and not upcoming.all(id=f"task-{late_task.id}")
    fragment = client.get("/callbacks?tab=overdue", headers={"HX-Request": "true", "HX-Target": "callback-queue"})
    assert "<html" not in fragment.get_data(as_text=True)
    by_kind = html(client.get("/callbacks?kind=repair"))
    assert not by_kind.all(id=f"task-{task.id}")


def test_residents_and_departments_cannot_open_the_queue(as_):
    for who in ("resident", "eng"):
        assert as_(who).get("/callbacks").status_code == 403


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
    assert before + timedelta(hours=4) <= task.due_at <= utcnow() + timedelta(hours=4)
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


# --- the resident's survey -----------------------------------------------------------------

def test_resident_answers_own_survey_online(as_, people, resolved):
    case, task = resolved
    client = as_("resident")
    page = html(client.get(f"/cases/{case.id}"))
    assert page.by_id("survey-prompt")
    response = post(client, f"/cases/{case.id}/survey", {"satisfaction": "satisfied", "quality_rating": "4"})
    assert response.status_code == 302
    rec = db.session.scalar(select(CallbackRecord))
    assert (rec.method, rec.caller_id, rec.satisfaction) == (Method.ONLINE, people["resident"].id, Satisfaction.SATISFIED)
    assert fresh(case).status == Status.CALLBACK_DONE
    assert not html(client.get(f"/cases/{case.id}")).all(id="survey-prompt")
    assert client.get(f"/cases/{case.id}/survey").status_code == 404  # answered: nothing pending


def test_resident_cannot_open_another_residents_survey(client, people, resolved):
    case, task = resolved
    login_as(client, people["other_resident"])
    assert client.get(f"/cases/{case.id}/survey").status_code == 404
    assert post(client, f"/cases/{case.id}/survey", {"satisfaction": "dissatisfied"}).status_code == 404
    assert tasks_of(case)[0].status == TaskStatus.PENDING


def _token(app, task):
    with app.test_request_context():
        return make_token(task)


def test_signed_link_opens_one_survey_without_login(app, client, people, resolved):
    case, task = resolved
    token = _token(app, task)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert case.number in body and "更换管道" not in body  # the survey, not the case file
    assert client.get(f"/cases/{case.id}").status_code == 302  # the link logs nobody in
    response = post(client, f"/s/{token}", {"satisfaction": "neutral", "shortcomings": "等了太久"})
    assert response.status_code == 200
    rec = db.session.scalar(select(CallbackRecord))
    assert (rec.method, rec.satisfaction, rec.shortcomings) == (Method.ONLINE, Satisfaction.NEUTRAL, "等了太久")
    assert fresh(case).status == Status.CALLBACK_DONE
    again = post(client, f"/s/{token}", {"satisfaction": "dissatisfied"})
    assert again.status_code == 200 and db.session.scalar(select(func.count(CallbackRecord.id))) == 1


def test_signed_link_is_bound_to_its_case_and_cannot_be_altered(app, client, people, resolved):
    case, task = resolved
    other = make_case(people, RESOLVE)
    other_task = tasks_of(other)[0]
    token = _token(app, task)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get(f"/s/{forged}").status_code == 404
    from itsdangerous import URLSafeTimedSerializer
    wrong_key = URLSafeTimedSerializer("not-the-key", salt="callback-survey").dumps({"t": other_task.id, "c": other.id})
    assert client.get(f"/s/{wrong_key}").status_code == 404
    assert other.number not in client.get(f"/s/{token}").get_data(as_text=True)


def test_signed_link_expires(app, client, resolved):
    case, task = resolved
    set_setting("callback_survey_link_days", 2)
    token = _token(app, task)
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() + 3 * 86400):
        expired = client.get(f"/s/{token}")
        assert expired.status_code == 410
        assert post(client, f"/s/{token}", {"satisfaction": "satisfied"}).status_code == 410
    assert tasks_of(case)[0].status == TaskStatus.PENDING
    assert client.get(f"/s/{token}").status_code == 200


def test_staff_never_see_a_survey_link_in_the_task_panel(as_, resolved):
    case, task = resolved
    body = as_("clerk").get(f"/callbacks/{task.id}", headers={"HX-Request": "true", "HX-Target": "task-panel"})
    assert "/s/" not in body.get_data(as_text=True)  # tests/test_survey_integrity.py: the server texts it


def test_demo_seed_fills_the_queue_and_its_callback_done_cases_have_records(runner, client):
    from portal.models import Case, CallbackPlan, PlanStatus
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    pending = db.session.scalar(select(func.count(CallbackTask.id)).where(CallbackTask.status == TaskStatus.PENDING))
    assert pending > 20
    done_complaints = set(db.session.scalars(select(Case.id).where(Case.status == Status.CALLBACK_DONE,
                                                                   Case.kind == Kind.COMPLAINT)))
    with_record = set(db.session.scalars(select(CallbackRecord.case_id)))
    assert done_complaints and done_complaints <= with_record
    statuses = {p.status for p in db.session.scalars(select(CallbackPlan))}
    assert statuses == {PlanStatus.PUBLISHED, PlanStatus.DRAFT}
    counts = db.session.scalar(select(func.count(CallbackTask.id)))
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert db.session.scalar(select(func.count(CallbackTask.id))) == counts


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
