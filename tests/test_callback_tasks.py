"""Where callbacks come from (SPEC §6): tasks owed by resolutions, due at the service level, drawn samples."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal import settings
from portal.callbacks import jobs
from portal.extensions import db
from portal.models import CallbackKind, Kind, Role, TaskStatus
from portal.timeutil import local_zone, utcnow
from tests.helpers import fresh, make_case
from tests.callback_helpers import RESOLVE, set_setting, tasks_of


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
