"""Estates, buildings and units through the test client: create, rename, deactivate, scope, refusals."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEntry, Building, Estate, Unit
from tests.admin_helpers import client_of, org  # noqa: F401
from tests.conftest import htmx_get, login_as, post


def entries(object_type):
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == object_type)
                                   .order_by(AuditEntry.id)))


@pytest.mark.parametrize("who", ["clerk", "resident", "eng"])
def test_clerks_residents_and_departments_cannot_open_administration(org, client_of, who):
    c = client_of(who)
    for url in ["/admin/estates", f"/admin/estates/{org['a'].id}/units", "/admin/residents", "/admin/staff",
                "/admin/departments", "/admin/categories", "/admin/audit", "/admin/staff/new"]:
        assert c.get(url).status_code == 403, url
    r = post(c, "/admin/estates", {"new-name": "偷建的小区"})
    assert r.status_code == 403
    assert db.session.scalar(select(Estate).where(Estate.name == "偷建的小区")) is None


def test_company_manager_creates_renames_and_deactivates_an_estate(org, client_of):
    c = client_of("manager")
    r = post(c, "/admin/estates", {"new-name": "  新城小区 ", "new-position": "3"})
    assert r.status_code == 302
    estate = db.session.scalar(select(Estate).where(Estate.name == "新城小区"))
    assert estate.position == 3 and estate.active
    r = post(c, f"/admin/estates/{estate.id}", {"name": "新城花园", "position": "3"})  # "active" unticked
    assert r.status_code == 302
    db.session.refresh(estate)
    assert estate.name == "新城花园" and not estate.active
    log = entries("estate")
    assert [e.action for e in log] == ["create", "deactivate"]
    assert json.loads(log[1].before) == {"name": "新城小区", "active": True}
    assert json.loads(log[1].after) == {"name": "新城花园", "active": False}
    assert log[1].actor_id == org["manager"].id and log[1].estate_id == estate.id
    # Deactivated estates leave the list unless asked for; nothing is deleted.
    assert "新城花园" not in c.get("/admin/estates").get_data(as_text=True)
    assert "新城花园" in c.get("/admin/estates?inactive=y").get_data(as_text=True)
    r = post(c, f"/admin/estates/{estate.id}", {"name": "新城花园", "position": "3", "active": "y"})
    assert entries("estate")[-1].action == "reactivate"


def test_duplicate_estate_name_comes_back_beside_the_field_with_the_input_kept(org, client_of):
    c = client_of("manager")
    r = post(c, f"/admin/estates/{org['b'].id}", {"name": org["a"].name, "position": "7", "active": "y"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'class="error"' in html and 'value="7"' in html
    db.session.refresh(org["b"])
    assert org["b"].name == "清风苑" and entries("estate") == []


def test_an_estate_manager_cannot_create_estates_nor_open_another_estate(org, client_of):
    c = client_of("b_manager")
    html = c.get("/admin/estates").get_data(as_text=True)
    assert "清风苑" in html and org["a"].name not in html
    assert 'name="new-name"' not in html
    post(c, "/admin/estates", {"new-name": "私建小区"})
    assert db.session.scalar(select(Estate).where(Estate.name == "私建小区")) is None
    a, unit = org["a"], org["ref"]["units"][0]
    for url in [f"/admin/estates/{a.id}", f"/admin/estates/{a.id}/units", f"/admin/units/{unit.id}"]:
        assert c.get(url).status_code == 404, url
    assert post(c, f"/admin/estates/{a.id}", {"name": "改名", "active": "y"}).status_code == 404
    assert post(c, f"/admin/estates/{a.id}/buildings", {"nb-name": "9栋"}).status_code == 404
    assert post(c, f"/admin/buildings/{unit.building_id}", {f"b{unit.building_id}-name": "x"}).status_code == 404
    # Their own estate they do administer.
    assert post(c, f"/admin/estates/{org['b'].id}/buildings", {"nb-name": "B座"}).status_code == 302


def test_buildings_and_units_are_added_renamed_and_deactivated(org, client_of):
    c = client_of("b_manager")
    b = org["b"]
    assert post(c, f"/admin/estates/{b.id}/buildings", {"nb-name": "B座"}).status_code == 302
    building = db.session.scalar(select(Building).where(Building.name == "B座"))
    r = post(c, f"/admin/estates/{b.id}/buildings", {"nb-name": "B座"})
    assert r.status_code == 200 and 'id="nb-name-error"' in r.get_data(as_text=True)
    r = post(c, f"/admin/buildings/{building.id}", {f"b{building.id}-name": "B栋"})
    assert r.status_code == 302
    db.session.refresh(building)
    assert building.name == "B栋" and not building.active
    r = post(c, f"/admin/estates/{b.id}/units", {"nu-building_id": str(org["b_building"].id), "nu-number": "1301",
                                                   "nu-area": "89.5"})
    assert r.status_code == 302
    unit = db.session.scalar(select(Unit).where(Unit.number == "1301"))
    assert unit.area == 89.5
    r = post(c, f"/admin/estates/{b.id}/units", {"nu-building_id": str(org["b_building"].id), "nu-number": "1301",
                                                   "nu-area": "nan"})
    assert r.status_code == 200 and r.get_data(as_text=True).count('class="error"') >= 2
    # A building of another estate is not a choice.
    r = post(c, f"/admin/estates/{b.id}/units", {"nu-building_id": str(org["ref"]["units"][0].building_id),
                                                   "nu-number": "9"})
    assert r.status_code == 200 and db.session.scalar(select(Unit).where(Unit.number == "9")) is None
    r = post(c, f"/admin/units/{unit.id}", {"building_id": str(org["b_building"].id), "number": "1302", "area": ""})
    assert r.status_code == 302
    db.session.refresh(unit)
    assert unit.number == "1302" and unit.area is None and not unit.active
    assert [e.action for e in entries("unit")] == ["create", "deactivate"]
    assert [e.action for e in entries("building")] == ["create", "deactivate"]


def test_units_are_searched_and_paged_and_the_list_swaps_alone(org, client_of, app):
    c = client_of("manager")
    building = org["b_building"]
    db.session.add_all([Unit(building=building, number=f"{i:04d}") for i in range(1, 31)])
    db.session.commit()
    url = f"/admin/estates/{org['b'].id}/units"
    html = c.get(url).get_data(as_text=True)
    assert "1 / 2" in html and "A座-0001" in html
    assert "A座-0030" in c.get(url + "?page=2").get_data(as_text=True)
    r = htmx_get(c, url + "?q=A座-0017", "unit-list")
    part = r.get_data(as_text=True)
    assert "<html" not in part and "A座-0017" in part and "A座-0016" not in part
    assert 'class="empty"' in c.get(url + "?q=zzz").get_data(as_text=True)


def test_import_button_appears_only_when_the_import_screen_exists(org, client_of, app):
    url = f"/admin/estates/{org['a'].id}/units"
    assert "/admin/import" not in client_of("manager").get(url).get_data(as_text=True)
