"""Monthly callback plans: generated from the rules, edited and published by a manager."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select

from portal import settings
from portal.callbacks import jobs, plans
from portal.extensions import db
from portal.models import Building, CallbackKind, CallbackPlan, CallbackTask, Residency, Role, TaskStatus, Unit
from portal.timeutil import local_zone, utcnow
from tests import factories
from tests.conftest import post
from tests.helpers import html


def _households(people, n):
    building = db.session.get(Building, people["ref"]["units"][0].building_id)
    units = [Unit(building=building, number=f"8{i:03d}") for i in range(n)]
    db.session.add_all(units)
    db.session.flush()
    residents = [factories.user(Role.RESIDENT, unit=u) for u in units]
    db.session.commit()
    return residents


def _tasks(plan_id, kind=None):
    stmt = select(CallbackTask).where(CallbackTask.plan_id == plan_id)
    if kind:
        stmt = stmt.where(CallbackTask.kind == kind)
    return list(db.session.scalars(stmt))


def _week_counts(tasks):
    return Counter(t.not_before.astimezone(local_zone()).day for t in tasks)


def test_plan_calls_a_third_of_households_topped_up_to_the_weekly_minimum(app, people):
    _households(people, 58)  # 60 households with the fixture's two residents
    settings.put("callback_weekly_minimum", 10)
    for r in db.session.scalars(select(factories.User).where(factories.User.role == Role.RESIDENT)):
        r.created_at = utcnow() - timedelta(days=400)  # nobody is new
    db.session.commit()
    plan_id = jobs.generate_plan(2026, 1)
    routine = _tasks(plan_id, CallbackKind.ROUTINE)
    assert len(routine) == 40  # a third is 20; the weekly minimum asks 4 × 10
    assert all(n >= 10 for n in _week_counts(routine).values()) and len(_week_counts(routine)) == 4
    assert len({t.unit_id for t in routine}) == 40
    # The quarter's second and third months call the rest; nobody twice in the quarter.
    jobs.generate_plan(2026, 2)
    jobs.generate_plan(2026, 3)
    quarter = [t for m in (1, 2, 3) for t in _tasks(db.session.scalar(
        select(CallbackPlan.id).filter_by(year=2026, month=m)), CallbackKind.ROUTINE)]
    units = [t.unit_id for t in quarter]
    assert len(units) == len(set(units)) == 60  # every household once in the quarter


def test_generating_twice_returns_the_same_plan(app, people):
    _households(people, 5)
    first = jobs.generate_plan(2026, 4)
    count = len(_tasks(first))
    assert jobs.generate_plan(2026, 4) == first and len(_tasks(first)) == count


def test_new_residents_manager_visits_and_incidents_are_planned(app, people):
    _households(people, 3)
    now = utcnow().astimezone(local_zone())
    newcomer = factories.user(Role.RESIDENT, unit=people["ref"]["units"][1], moved_in=now.date())
    settings.put("callback_manager_visits_per_year", 3)
    case = factories.case(people["resident"], kind=factories.Kind.REPAIR)
    factories.advance(case, ["classify", "dispatch", "accept", "complete"], people)
    case.urgent = True
    case.resolved_at = utcnow() - timedelta(days=3)
    db.session.commit()
    nxt = now.replace(day=1) + timedelta(days=32)
    plan_id = jobs.generate_plan(nxt.year, nxt.month)
    assert newcomer.unit_id in {t.unit_id for t in _tasks(plan_id, CallbackKind.NEW_RESIDENT)}
    visits = _tasks(plan_id, CallbackKind.MANAGER_VISIT)
    assert visits and all(t.assignee_role == Role.MANAGER for t in visits)
    [incident] = _tasks(plan_id, CallbackKind.INCIDENT)
    assert incident.case_id == case.id and incident.unit_id == case.unit_id


def test_manager_reviews_edits_and_publishes_a_plan_into_the_queue(as_, people):
    _households(people, 6)
    client = as_("manager")
    nxt = utcnow().astimezone(local_zone()).replace(day=1) + timedelta(days=32)  # next month: upcoming
    response = post(client, "/callbacks/plans", {"month": f"{nxt:%Y-%m}"})
    assert response.status_code == 302
    plan = db.session.scalar(select(CallbackPlan).filter_by(year=nxt.year, month=nxt.month))
    tasks = _tasks(plan.id)
    assert tasks and all(t.status == TaskStatus.PLANNED for t in tasks)
    queue = html(client.get("/callbacks"))
    assert not queue.all(id=f"task-{tasks[0].id}")  # a draft is not in the queue yet
    assert client.get(f"/callbacks/{tasks[0].id}").status_code == 404

    removed = tasks[0]
    assert post(client, f"/callbacks/plan-items/{removed.id}/remove").status_code == 302
    unit = people["ref"]["units"][0]
    response = post(client, f"/callbacks/plans/{plan.id}", {"unit_id": str(unit.id), "kind": "manager_visit",
                                                            "day": f"{nxt:%Y-%m}-20"})
    assert response.status_code == 302
    page = html(client.get(f"/callbacks/plans/{plan.id}"))
    assert not page.all(id=f"plan-item-{removed.id}")
    bad = post(client, f"/callbacks/plans/{plan.id}", {"unit_id": str(unit.id), "kind": "routine", "day": "2020-01-02"})
    assert bad.status_code == 200 and "has-error" in html(bad).field_container("day").classes

    assert post(client, f"/callbacks/plans/{plan.id}/publish").status_code == 302
    db.session.expire_all()
    statuses = Counter(t.status for t in _tasks(plan.id))
    assert statuses[TaskStatus.CANCELLED] == 1 and statuses[TaskStatus.PLANNED] == 0
    added = db.session.scalar(select(CallbackTask).where(CallbackTask.plan_id == plan.id,
                                                         CallbackTask.reason == "added"))
    assert added.status == TaskStatus.PENDING and added.assignee_role == Role.MANAGER
    assert html(client.get("/callbacks?tab=upcoming")).all(id=f"task-{added.id}")
    # Published: no more edits.
    post(client, f"/callbacks/plan-items/{added.id}/remove")
    assert db.session.get(CallbackTask, added.id).status == TaskStatus.PENDING


def test_only_managers_plan(as_):
    assert as_("clerk").get("/callbacks/plans").status_code == 403
    assert as_("clerk").get("/callbacks/works").status_code == 403


def test_weeks_cover_the_month():
    weeks = plans.weeks(2026, 2)
    assert weeks[0][0].day == 1 and weeks[-1][1].month == 3 and len(weeks) == 4


def test_an_incident_after_the_previous_plan_was_drafted_is_planned_next_time(app, people):
    """Plans are drafted ten days ahead: an urgent repair handled on the 25th of October is not in
    November's plan (drafted on the 22nd), so December's plan must call it."""
    _households(people, 3)
    case = factories.case(people["resident"], kind=factories.Kind.REPAIR)
    factories.advance(case, ["classify", "dispatch", "accept", "complete"], people)
    case.urgent = True
    case.resolved_at = datetime(2026, 10, 25, 10, tzinfo=local_zone())
    db.session.commit()
    plan_id = jobs.generate_plan(2026, 12)
    [incident] = _tasks(plan_id, CallbackKind.INCIDENT)
    assert incident.case_id == case.id


def test_new_residents_are_those_the_register_says_moved_in_not_new_accounts(app, people):
    """Importing the register makes accounts for households living there for years: no newcomer calls."""
    from datetime import date
    today = utcnow().astimezone(local_zone()).date()
    long_ago = factories.user(Role.RESIDENT, unit=people["ref"]["units"][0], moved_in=date(2015, 5, 1))
    moved_out = factories.user(Role.RESIDENT, unit=people["ref"]["units"][1], moved_in=today)
    moved_out_stay = db.session.scalar(select(Residency).where(Residency.user_id == moved_out.id))
    moved_out_stay.moved_out = today + timedelta(days=1)
    db.session.commit()
    nxt = today.replace(day=1) + timedelta(days=32)
    plan_id = jobs.generate_plan(nxt.year, nxt.month)
    planned = {t.resident_id for t in _tasks(plan_id, CallbackKind.NEW_RESIDENT)}
    assert long_ago.id not in planned and moved_out.id not in planned


def test_planned_callbacks_are_due_at_the_close_of_a_working_day_not_at_midnight(app, people):
    _households(people, 12)
    plan_id = jobs.generate_plan(2026, 10)  # October opens with the National Day holidays
    due = [t.due_at.astimezone(local_zone()) for t in _tasks(plan_id)]
    assert due and all((d.hour, d.minute) == (17, 30) for d in due)
    from portal.sla import calendar
    cal = calendar.load()
    assert all(cal.is_working_day(d.date()) for d in due)


def test_a_plan_below_the_weekly_minimum_says_so_before_it_is_published(as_, people):
    _households(people, 6)
    settings.put("callback_weekly_minimum", 10)
    db.session.commit()
    plan_id = jobs.generate_plan(2026, 2)
    client = as_("manager")
    page = html(client.get(f"/callbacks/plans/{plan_id}"))
    warning = page.one(cls="plan-short")
    assert len(warning.all("li")) == 4 and "10" in warning.text
    settings.put("callback_weekly_minimum", 0)
    db.session.commit()
    assert not html(client.get(f"/callbacks/plans/{plan_id}")).all(cls="plan-short")
    post(client, f"/callbacks/plans/{plan_id}/publish", {})
    assert not html(client.get(f"/callbacks/plans/{plan_id}")).all(cls="plan-short")  # published: no warning
