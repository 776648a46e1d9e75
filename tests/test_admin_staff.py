"""Staff accounts: create with a temporary password shown once, edit, deactivate (sessions end at once),
new temporary password, the last company-level manager, estate managers' limits."""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEntry, Role, User
from tests.admin_helpers import client_of, org  # noqa: F401
from tests.conftest import csrf_token, post


def fields(o, **extra):
    data = {"display_name": "王客服", "phone": "13912345678", "email": "", "role": "clerk",
            "estates": [str(o["a"].id)], "department_id": "0", "manager_level": "1"}
    data.update(extra)
    return data


def reload(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


def signed_in(client) -> bool:
    r = client.get("/notifications")
    return r.status_code == 200


def test_a_new_account_shows_its_temporary_password_once(org, client_of, app):
    c = client_of("manager")
    r = post(c, "/admin/staff/new", fields(org, username="wang.kf"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    password = re.search(r'<code class="big-number">([^<]+)</code>', html).group(1)
    user = db.session.scalar(select(User).where(User.username == "wang.kf"))
    assert user.role == Role.CLERK and user.password_temporary and user.active
    assert [e.id for e in user.estates] == [org["a"].id] and user.check_password(password)
    assert password not in c.get(f"/admin/staff/{user.id}").get_data(as_text=True)  # shown once
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "user", AuditEntry.action == "create"))
    assert json.loads(entry.after)["role"] == "clerk" and password not in entry.after
    other = app.test_client()
    token = csrf_token(other)
    assert other.post("/login", data={"username": "wang.kf", "password": password, "csrf_token": token}).status_code == 302


def test_invalid_account_form_keeps_input_with_messages_beside_fields(org, client_of):
    c = client_of("manager")
    r = post(c, "/admin/staff/new", fields(org, username="x y", role="department", estates=[]))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="username-error"' in html and 'value="x y"' in html
    assert 'value="王客服"' in html
    r = post(c, "/admin/staff/new", fields(org, username="dept.one", role="department"))
    assert r.status_code == 200 and 'id="department_id-error"' in r.get_data(as_text=True)
    r = post(c, "/admin/staff/new", fields(org, username=org["clerk"].username))
    assert 'id="username-error"' in r.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "dept.one")) is None


def test_deactivating_an_account_signs_it_out_at_once(org, client_of):
    clerk = client_of("clerk")
    assert signed_in(clerk)
    r = post(client_of("manager"), f"/admin/staff/{org['clerk'].id}/active", {})
    assert r.status_code == 302
    assert not reload(org["clerk"]).active
    r = clerk.get("/board")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "deactivate"))
    assert entry.object_id == str(org["clerk"].id) and entry.actor_id == org["manager"].id


def test_changing_role_or_estates_signs_the_account_out_but_a_new_name_does_not(org, client_of):
    eng = client_of("eng")
    manager = client_of("manager")
    data = fields(org, display_name="工程师傅", role="department", department_id=str(org["ref"]["eng"].id))
    assert post(manager, f"/admin/staff/{org['eng'].id}", data).status_code == 302
    assert signed_in(eng)
    data["estates"] = [str(org["a"].id), str(org["b"].id)]
    assert post(manager, f"/admin/staff/{org['eng'].id}", data).status_code == 302
    assert not signed_in(eng)
    assert {e.id for e in reload(org["eng"]).estates} == {org["a"].id, org["b"].id}


def test_a_new_temporary_password_ends_the_old_sessions(org, client_of):
    clerk = client_of("clerk")
    r = post(client_of("manager"), f"/admin/staff/{org['clerk'].id}/password", {})
    password = re.search(r'<code class="big-number">([^<]+)</code>', r.get_data(as_text=True)).group(1)
    user = reload(org["clerk"])
    assert user.password_temporary and user.check_password(password)
    assert not signed_in(clerk)


def test_the_last_company_manager_cannot_deactivate_or_demote_themself(org, client_of):
    c = client_of("manager")
    me = org["manager"]
    r = post(c, f"/admin/staff/{me.id}/active", {})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "form-errors" in html and "最后" in html
    assert reload(me).active
    demote = fields(org, display_name=me.display_name, role="manager", manager_level="1")  # company flag unticked
    r = post(c, f"/admin/staff/{me.id}", demote)
    assert r.status_code == 200 and "最后" in r.get_data(as_text=True)
    r = post(c, f"/admin/staff/{me.id}", dict(demote, role="clerk", company_wide="y"))
    assert "最后" in r.get_data(as_text=True)
    me = reload(me)
    assert me.role == Role.MANAGER and me.company_wide and signed_in(c)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "user")) is None


def test_with_a_second_company_manager_the_first_may_step_down(org, client_of):
    org["a_manager"].company_wide = True
    db.session.commit()
    c = client_of("manager")
    me = org["manager"]
    r = post(c, f"/admin/staff/{me.id}", fields(org, display_name=me.display_name, role="manager"))
    assert r.status_code == 302
    me = reload(me)
    assert not me.company_wide
    assert not signed_in(c)  # scope changed: the session ended
    # Now the other one is the last and is protected from anyone.
    other = client_of("a_manager")
    r = post(other, f"/admin/staff/{org['a_manager'].id}/active", {})
    assert "最后" in r.get_data(as_text=True) and reload(org["a_manager"]).active


def test_an_estate_manager_manages_only_their_estates_staff(org, client_of):
    c = client_of("b_manager")
    html = c.get("/admin/staff").get_data(as_text=True)
    assert org["b_clerk"].display_name in html and org["clerk"].display_name not in html
    assert org["manager"].display_name not in html
    for who in ("clerk", "manager", "a_manager"):
        assert c.get(f"/admin/staff/{org[who].id}").status_code == 404
        assert post(c, f"/admin/staff/{org[who].id}/active", {}).status_code == 404
        assert post(c, f"/admin/staff/{org[who].id}/password", {}).status_code == 404
    assert reload(org["clerk"]).active
    # They cannot hand out company-level access nor another estate.
    r = post(c, "/admin/staff/new", fields(org, username="b.boss", estates=[str(org["a"].id)], company_wide="y"))
    assert r.status_code == 200 and db.session.scalar(select(User).where(User.username == "b.boss")) is None
    r = post(c, "/admin/staff/new", fields(org, username="b.two", estates=[str(org["b"].id)]))
    assert r.status_code == 200
    user = db.session.scalar(select(User).where(User.username == "b.two"))
    assert [e.id for e in user.estates] == [org["b"].id] and not user.company_wide


def test_staff_list_searches_and_filters_by_role(org, client_of):
    c = client_of("manager")
    html = c.get("/admin/staff?q=清风苑").get_data(as_text=True)
    assert org["b_clerk"].display_name in html and org["b_manager"].display_name in html
    assert org["clerk"].display_name not in html
    html = c.get("/admin/staff?q=清风苑&role=clerk", headers={"HX-Request": "true", "HX-Target": "staff-list"})
    part = html.get_data(as_text=True)
    assert "<html" not in part and org["b_manager"].display_name not in part and org["b_clerk"].display_name in part


def test_a_manager_makes_a_department_account_its_head_and_the_audit_log_says_so(org, client_of):
    eng = org["eng"]
    c = client_of("manager")
    data = fields(org, display_name=eng.display_name, role="department", department_id=str(eng.department_id),
                  department_head="y")
    assert post(c, f"/admin/staff/{eng.id}", data).status_code == 302
    assert reload(eng).department_head is True
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "user",
                                                       AuditEntry.object_id == str(eng.id))
                              .order_by(AuditEntry.id.desc()).limit(1))
    assert json.loads(entry.after)["department_head"] is True
    data.pop("department_head")
    post(c, f"/admin/staff/{eng.id}", data)
    assert reload(eng).department_head is False
    # A clerk is never a department head.
    clerk = org["clerk"]
    post(c, f"/admin/staff/{clerk.id}", fields(org, display_name=clerk.display_name, department_head="y"))
    assert reload(clerk).department_head is False
