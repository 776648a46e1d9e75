"""Departments and categories: create, edit, reorder, deactivate; estate overrides; the choice lists follow."""
from __future__ import annotations

import json

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEntry, Category, CategoryOverride, Department
from tests.admin_helpers import client_of, org  # noqa: F401
from tests.conftest import post


def choices_seen(client, url="/desk/new"):
    return client.get(url).get_data(as_text=True)


def test_a_new_department_appears_and_a_deactivated_one_disappears_from_dispatch(org, client_of, app):
    from portal.cases.service import department_choices
    c = client_of("manager")
    r = post(c, "/admin/departments", {"new-name": "绿化部", "new-estate_id": "0", "new-position": "0"})
    assert r.status_code == 302
    green = db.session.scalar(select(Department).where(Department.name == "绿化部"))
    assert green.estate_id is None and green.code
    with app.app_context(), app.test_request_context():
        assert "绿化部" in [n for _i, n in department_choices()]
    eng = org["ref"]["eng"]
    r = post(c, f"/admin/departments/{eng.id}", {"name": "工程部", "estate_id": "0", "position": "5"})  # unticked
    assert r.status_code == 302
    with app.app_context(), app.test_request_context():
        names = [n for _i, n in department_choices()]
    assert "工程部" not in names and "绿化部" in names
    log = list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "department")
                                  .order_by(AuditEntry.id)))
    assert [e.action for e in log] == ["create", "deactivate"]
    assert json.loads(log[1].after) == {"active": False, "position": 5}


def test_categories_follow_their_order_and_deactivation_in_the_desk(org, client_of):
    c = client_of("manager")
    water, parking = org["ref"]["water"], org["ref"]["parking"]
    post(c, f"/admin/categories/{parking.id}", {"name": "停车", "estate_id": "0", "default_department_id": "0",
                                                "position": "0", "active": "y"})
    post(c, f"/admin/categories/{water.id}", {"name": "水电", "estate_id": "0",
                                              "default_department_id": str(org["ref"]["eng"].id),
                                              "position": "9", "active": "y"})
    html = choices_seen(client_of("clerk"))
    assert html.index(">停车<") < html.index(">水电<")
    r = post(c, "/admin/categories", {"new-name": "绿化", "new-estate_id": "0", "new-default_department_id": "0",
                                      "new-position": "1"})
    assert r.status_code == 302
    post(c, f"/admin/categories/{parking.id}", {"name": "停车", "estate_id": "0", "default_department_id": "0",
                                                "position": "0"})
    db.session.expire_all()
    assert not db.session.get(Category, parking.id).active
    html = choices_seen(client_of("clerk"))
    assert ">停车<" not in html and ">绿化<" in html


def test_an_estate_overrides_a_company_category(org, client_of):
    b = client_of("b_manager")
    water = org["ref"]["water"]
    html = b.get(f"/admin/categories/{water.id}").get_data(as_text=True)
    assert 'name="name"' not in html  # a company category: not theirs to edit
    assert f"o{org['b'].id}-default_department_id" in html and f"o{org['a'].id}-" not in html
    r = post(b, f"/admin/categories/{water.id}/estates/{org['b'].id}",
             {f"o{org['b'].id}-default_department_id": str(org["b_dept"].id)})  # and switched off there
    assert r.status_code == 302
    o = db.session.get(CategoryOverride, (org["b"].id, water.id))
    assert o.default_department_id == org["b_dept"].id and not o.active
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "category_override"))
    assert entry.estate_id == org["b"].id and json.loads(entry.after)["active"] is False
    # Not for estate A, nor editing the company category itself.
    assert post(b, f"/admin/categories/{water.id}/estates/{org['a'].id}",
                {f"o{org['a'].id}-active": "y"}).status_code == 404
    post(b, f"/admin/categories/{water.id}", {"name": "改名", "estate_id": str(org["b"].id), "position": "0"})
    db.session.refresh(water)
    assert water.name == "水电"
    # Another estate's department is not a choice for B.
    a_dept = Department(code="a-green", name="翠湖绿化", estate_id=org["a"].id)
    db.session.add(a_dept)
    db.session.commit()
    r = post(b, f"/admin/categories/{water.id}/estates/{org['b'].id}",
             {f"o{org['b'].id}-default_department_id": str(a_dept.id), f"o{org['b'].id}-active": "y"})
    assert r.status_code == 200 and "error" in r.get_data(as_text=True)


def test_an_estate_manager_keeps_departments_in_their_estate(org, client_of):
    b = client_of("b_manager")
    html = b.get("/admin/departments").get_data(as_text=True)
    assert "清风苑工程部" in html
    assert f'href="/admin/departments/{org["ref"]["eng"].id}"' not in html  # company-wide: listed, not editable
    assert b.get(f"/admin/departments/{org['ref']['eng'].id}").status_code == 404
    r = post(b, "/admin/departments", {"new-name": "公司部门", "new-estate_id": "0"})
    assert r.status_code == 200 and db.session.scalar(select(Department).where(Department.name == "公司部门")) is None
    r = post(b, "/admin/departments", {"new-name": "清风苑保洁", "new-estate_id": str(org["b"].id)})
    assert r.status_code == 302
    r = post(b, "/admin/categories", {"new-name": "清风苑专项", "new-estate_id": str(org["b"].id),
                                      "new-default_department_id": str(org["b_dept"].id)})
    assert r.status_code == 302
    cat = db.session.scalar(select(Category).where(Category.name == "清风苑专项"))
    assert cat.estate_id == org["b"].id and cat.default_department_id == org["b_dept"].id
    assert client_of("a_manager").get(f"/admin/categories/{cat.id}").status_code == 404
