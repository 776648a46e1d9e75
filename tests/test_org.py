"""What an estate is offered (departments, categories, default departments, phrases, service levels)
and who its escalations reach, company defaults and estate overrides alike."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal import org
from portal.cases.lifecycle import TransitionError, perform
from portal.extensions import db
from portal.models import (
    Building, Case, Category, CategoryOverride, Department, Estate, Notification, Phrase, Role, SlaRule, Status, Unit,
)
from portal.sla import alerts, policy
from tests import factories
from tests.conftest import csrf_token, login_as


@pytest.fixture
def world(app):
    """Two estates: 东园 takes the company defaults, 西园 overrides them; one company-wide department."""
    east, west, north = Estate(name="东园"), Estate(name="西园"), Estate(name="北园")
    units = {}
    for estate in (east, west, north):
        b = Building(estate=estate, name="1栋")
        units[estate.name] = Unit(building=b, number="0101")
        db.session.add_all([b, units[estate.name]])
    service = Department(code="service", name="客服中心", position=0)
    east_eng = Department(code="east_eng", name="东园工程部", estate=east, position=1)
    west_eng = Department(code="west_eng", name="西园工程部", estate=west, position=1)
    west_old = Department(code="west_old", name="西园旧部", estate=west, active=False)
    water = Category(code="water", name="水电", default_department=east_eng, position=1)
    parking = Category(code="parking", name="停车", default_department=service, position=2)
    pool = Category(code="west_pool", name="泳池", estate=west, default_department=west_eng, position=0)
    db.session.add_all([east, west, north, service, east_eng, west_eng, west_old, water, parking, pool])
    db.session.flush()
    db.session.add_all([
        CategoryOverride(estate_id=west.id, category_id=water.id, default_department_id=west_eng.id),
        CategoryOverride(estate_id=west.id, category_id=parking.id, active=False),
        Phrase(text="公司用语", position=1), Phrase(text="西园用语", position=1, estate_id=west.id),
        Phrase(text="西园停用", position=2, estate_id=west.id, active=False),
    ])
    w = {"east": east, "west": west, "north": north, "service": service, "east_eng": east_eng,
         "west_eng": west_eng, "west_old": west_old, "water": water, "parking": parking, "pool": pool,
         "units": units}
    w["clerk"] = factories.user(Role.CLERK)
    w["clerk"].company_wide = True
    w["resident"] = {name: factories.user(Role.RESIDENT, unit=unit) for name, unit in units.items()}
    db.session.commit()
    return w


def _case(w, estate: str):
    return factories.case(w["resident"][estate], w["clerk"])


def test_an_estate_is_served_by_its_own_and_the_company_wide_active_departments(world):
    assert [d.code for d in org.departments_for(world["east"].id)] == ["service", "east_eng"]
    assert [d.code for d in org.departments_for(world["west"].id)] == ["service", "west_eng"]
    assert not org.serves(world["east_eng"], world["west"].id)
    assert not org.serves(world["west_old"], world["west"].id)
    assert org.serves(world["service"], world["north"].id)


def test_an_estate_offers_company_categories_it_kept_and_its_own_by_position(world):
    assert [c.code for c in org.categories_for(world["east"].id)] == ["water", "parking"]
    assert [c.code for c in org.categories_for(world["west"].id)] == ["west_pool", "water"]
    assert not org.offers(world["pool"].id, world["east"].id)
    assert [c.code for c in org.categories_for_any([world["east"].id, world["west"].id])] == \
        ["west_pool", "water", "parking"]


def test_default_department_override_then_company_default_when_it_serves_then_none(world):
    assert org.default_department(world["water"], world["west"].id) == world["west_eng"]   # override
    assert org.default_department(world["water"], world["east"].id) == world["east_eng"]   # company default
    assert org.default_department(world["parking"], world["north"].id) == world["service"]
    assert org.default_department(world["water"], world["north"].id) is None  # 东园's department: not here
    assert org.default_department(world["pool"], world["west"].id) == world["west_eng"]


def test_an_estate_with_its_own_active_phrases_uses_only_those(world):
    assert [p.text for p in org.phrases_for(world["east"].id)] == ["公司用语"]
    assert [p.text for p in org.phrases_for(world["west"].id)] == ["西园用语"]


def test_service_level_estate_rule_then_company_rule_then_default(world):
    west, east = world["west"].id, world["east"].id
    policy.save("complaint", "minor", "resolution", 5, "working_days")
    policy.save("complaint", "minor", "resolution", 2, "days", estate_id=west)
    db.session.commit()
    assert db.session.scalar(select(SlaRule).filter_by(estate_id=west)).amount == 2
    assert org.service_level(west, "complaint", "minor", "resolution") == policy.Level(2, "days")
    assert org.service_level(east, "complaint", "minor", "resolution") == policy.Level(5, "working_days")
    assert org.service_level(east, "complaint", "major", "resolution") == policy.default(
        "complaint", "major", "resolution")
    c = _case(world, "西园")
    perform(c, world["clerk"], "classify", {"category_id": world["water"].id, "severity": "minor"})
    d = next(d for d in c.deadlines if d.clock == "resolution")
    assert (d.metric, d.budget_seconds) == ("clock", 2 * 86400)


def _options(html: str, name: str) -> list[str]:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option[^>]*>([^<]*)</option>', select_html)


def _selected(html: str, name: str) -> str:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option[^>]*selected[^>]*>([^<]*)</option>', select_html).group(1)


def test_case_page_offers_the_estates_categories_departments_and_phrases(world, client):
    c = _case(world, "西园")
    db.session.commit()
    login_as(client, world["clerk"])
    html = client.get(f"/cases/{c.id}").get_data(as_text=True)
    assert _options(html, "classify-category_id")[1:] == ["泳池", "水电"]
    assert "西园用语" in html and "公司用语" not in html
    perform(c, world["clerk"], "classify", {"category_id": world["water"].id, "severity": "minor"})
    db.session.commit()
    html = client.get(f"/cases/{c.id}").get_data(as_text=True)
    assert _options(html, "dispatch-department_id")[1:] == ["客服中心", "西园工程部"]
    assert _selected(html, "dispatch-department_id") == "西园工程部"   # the estate's default for 水电


def test_dispatch_to_a_department_not_serving_the_estate_is_refused(world, client):
    c = _case(world, "西园")
    perform(c, world["clerk"], "classify", {"category_id": world["water"].id, "severity": "minor"})
    db.session.commit()
    login_as(client, world["clerk"])
    r = client.post(f"/cases/{c.id}/act/dispatch", data={
        "dispatch-department_id": world["east_eng"].id, "dispatch-version": c.version_id},
        headers={"X-CSRFToken": csrf_token(client)})
    assert r.status_code == 200
    db.session.refresh(c)
    assert c.status == Status.REGISTERED and c.department_id is None
    for dep in (world["east_eng"], world["west_old"]):
        with pytest.raises(TransitionError):
            perform(c, world["clerk"], "dispatch", {"department_id": dep.id})
    with pytest.raises(TransitionError):
        perform(c, world["clerk"], "classify", {"category_id": world["parking"].id, "severity": "minor"})
    perform(c, world["clerk"], "dispatch", {"department_id": world["west_eng"].id})
    assert c.status == Status.DISPATCHED


def test_a_resident_is_offered_the_categories_of_their_estate(world, client):
    login_as(client, world["resident"]["东园"])
    html = client.get("/cases/new").get_data(as_text=True)
    assert _options(html, "category_id")[1:] == ["水电", "停车"]


def _manager(estates, level=1, company=False):
    m = factories.user(Role.MANAGER)
    m.manager_level, m.company_wide = level, company
    m.estates = list(estates)
    return m


def test_escalations_go_to_the_estates_own_managers_of_the_level(world):
    east_cs, east_site = _manager([world["east"]], 1), _manager([world["east"]], 2)
    both = _manager([world["east"], world["west"]], 1)
    _manager([], 1, company=True), _manager([], 2, company=True)
    db.session.commit()
    staff = alerts.Staff()
    assert set(staff.managers_for(world["east"].id, 1)) == {east_cs, both}
    assert staff.managers_for(world["east"].id, 2) == [east_site]
    assert staff.managers_for(world["west"].id, 1) == [both]


def test_an_estate_without_managers_escalates_to_the_company_level_ones(world):
    _manager([world["east"]], 1), _manager([world["east"]], 2)
    company_cs, company_site = _manager([], 1, company=True), _manager([], 2, company=True)
    db.session.commit()
    staff = alerts.Staff()
    assert staff.managers_for(world["west"].id, 1) == [company_cs]
    assert staff.managers_for(world["west"].id, 2) == [company_site]


def test_without_any_site_manager_level_two_goes_to_level_one(world):
    west_cs = _manager([world["west"]], 1)
    company_cs = _manager([], 1, company=True)
    db.session.commit()
    staff = alerts.Staff()
    assert staff.managers_for(world["west"].id, 2) == [west_cs]
    assert staff.managers_for(world["north"].id, 2) == [company_cs]


def test_a_fired_escalation_notifies_only_the_cases_estate_managers(world):
    east_cs, west_cs = _manager([world["east"]], 1), _manager([world["west"]], 1)
    company_cs = _manager([], 1, company=True)
    c = _case(world, "西园")
    db.session.commit()
    alerts.fire([alerts.firing_for(c, "agitated", level=1)])
    db.session.commit()
    notified = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "escalation")))
    assert notified == {west_cs.id}
    assert east_cs.id not in notified and company_cs.id not in notified


def test_the_desk_offers_its_estates_categories_and_refuses_one_the_residents_estate_lacks(world, client):
    clerk = factories.user(Role.CLERK)
    clerk.estates = [world["east"], world["west"]]
    db.session.commit()
    login_as(client, clerk)
    assert _options(client.get("/desk/new").get_data(as_text=True), "category_id")[1:] == ["泳池", "水电", "停车"]
    data = {"resident_id": world["resident"]["东园"].id, "kind": "complaint", "channel": "phone",
            "category_id": world["pool"].id, "severity": "", "location_type": "unit", "description": "泳池水浑"}
    r = client.post("/desk/new", data=data, headers={"X-CSRFToken": csrf_token(client)})
    assert r.status_code == 200 and db.session.scalar(select(db.func.count(Case.id))) == 0  # the form again
    data["resident_id"] = world["resident"]["西园"].id
    r = client.post("/desk/new", data=data, headers={"X-CSRFToken": csrf_token(client)})
    assert r.status_code == 302
