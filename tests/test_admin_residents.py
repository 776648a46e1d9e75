"""Residents: search by name, mobile or unit; add (mobile normalised), edit, move out, deactivate; their cases."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.admin.households import normalise_mobile
from portal.extensions import db
from portal.models import AuditEntry, Residency, Role, User
from tests import factories
from tests.admin_helpers import client_of, org  # noqa: F401
from tests.conftest import post


@pytest.mark.parametrize("typed, stored", [
    ("13800138000", "13800138000"), ("+86 138 0013 8000", "13800138000"), ("138-0013-8000", "13800138000"),
    ("0086 13800138000", "13800138000"), ("8613800138000", "13800138000"), ("+86-138 0013-8000", "13800138000"),
    ("1380013800", None), ("23800138000", None), ("138001380001", None), ("", None), ("１３８００１３８０００", None),
    ("+85 13800138000", None),
])
def test_mobiles_are_stored_as_eleven_digits(typed, stored):
    assert normalise_mobile(typed) == stored


def add(client, o, **extra):
    data = {"new-name": "王五", "new-mobile": "+86 139-1111-2222", "new-estate_id": str(o["a"].id),
            "new-unit": "1栋-0101", "new-relation": "tenant", "new-moved_in": "2026-03-01"}
    data.update(extra)
    return post(client, "/admin/residents", data)


def test_a_resident_is_added_to_a_unit_with_a_normalised_mobile(org, client_of):
    c = client_of("manager")
    r = add(c, org)
    assert r.status_code == 302
    person = db.session.scalar(select(User).where(User.phone == "13911112222"))
    assert person.role == Role.RESIDENT and person.display_name == "王五" and person.unit_id == org["ref"]["units"][0].id
    (res,) = db.session.scalars(select(Residency).where(Residency.user_id == person.id))
    assert res.relation.value == "tenant" and res.moved_in == date(2026, 3, 1) and res.moved_out is None
    assert {e.object_type for e in db.session.scalars(select(AuditEntry))} == {"resident", "residency"}
    # The same mobile again is the same person, holding a second unit.
    r = add(c, org, **{"new-unit": "1栋-0202", "new-mobile": "13911112222", "new-relation": "owner"})
    assert r.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(User).where(User.phone == "13911112222")) == 1
    assert db.session.scalar(select(func.count()).select_from(Residency).where(Residency.user_id == person.id)) == 2


def test_bad_input_comes_back_beside_the_fields_with_everything_kept(org, client_of):
    c = client_of("manager")
    before = db.session.scalar(select(func.count()).select_from(Residency))  # the fixtures' households
    r = add(c, org, **{"new-mobile": "1391111", "new-unit": "9栋-9999"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="new-mobile-error"' in html and 'id="new-unit-error"' in html
    assert 'value="1391111"' in html and 'value="9栋-9999"' in html and 'value="王五"' in html
    assert db.session.scalar(select(func.count()).select_from(Residency)) == before
    assert add(c, org).status_code == 302
    r = add(c, org)  # already lives there
    assert r.status_code == 200 and 'id="new-unit-error"' in r.get_data(as_text=True)


def test_residents_are_found_by_name_mobile_or_unit(org, client_of):
    c = client_of("manager")
    add(c, org)
    add(c, org, **{"new-name": "赵六", "new-mobile": "13722223333", "new-unit": "1栋-0202"})
    c.get("/admin/residents")  # the flashes
    for q in ("王五", "139 1111", "13911112222", "1栋-0101", "0101"):
        html = c.get("/admin/residents", query_string={"q": q}).get_data(as_text=True)
        assert "王五" in html and "赵六" not in html, q
    r = c.get("/admin/residents?q=赵", headers={"HX-Request": "true", "HX-Target": "resident-list"})
    assert "<html" not in r.get_data(as_text=True) and "赵六" in r.get_data(as_text=True)


def test_a_resident_who_moved_out_is_no_longer_current(org, client_of):
    c = client_of("manager")
    add(c, org)
    res = db.session.scalar(select(Residency).order_by(Residency.id.desc()))  # the one just added
    r = post(c, f"/admin/residencies/{res.id}/move-out", {f"r{res.id}-moved_out": "2026-02-01"})
    assert r.status_code == 200 and f'id="r{res.id}-moved_out-error"' in r.get_data(as_text=True)  # before move-in
    r = post(c, f"/admin/residencies/{res.id}/move-out", {f"r{res.id}-moved_out": "2026-04-01"})
    assert r.status_code == 302
    db.session.refresh(res)
    assert res.moved_out == date(2026, 4, 1) and db.session.get(User, res.user_id).unit_id is None
    c.get("/admin/residents")  # the flash
    assert "王五" not in c.get("/admin/residents").get_data(as_text=True)
    assert "王五" in c.get("/admin/residents?inactive=y").get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "residency",
                                                       AuditEntry.action == "update"))
    assert '"moved_out": "2026-04-01"' in entry.after


def test_editing_a_resident_and_deactivating_the_account_signs_it_out(org, client_of):
    resident = client_of("resident")
    c = client_of("manager")
    person = org["resident"]
    r = post(c, f"/admin/residents/{person.id}", {"name": "张三丰", "mobile": "139 0000 1111"})
    assert r.status_code == 302
    db.session.refresh(person)
    assert person.display_name == "张三丰" and person.phone == "13900001111"
    r = post(c, f"/admin/residents/{person.id}", {"name": "张三丰", "mobile": org["other_resident"].phone})
    assert r.status_code == 200 and 'id="mobile-error"' in r.get_data(as_text=True)
    assert resident.get("/my/cases").status_code == 200
    assert post(c, f"/admin/residents/{person.id}/account", {}).status_code == 302
    db.session.refresh(person)
    assert not person.active
    assert resident.get("/my/cases").status_code == 302


def test_a_residents_cases_are_listed_on_their_page(org, client_of):
    case = factories.case(org["resident"])
    db.session.commit()
    html = client_of("manager").get(f"/admin/residents/{org['resident'].id}").get_data(as_text=True)
    assert case.number in html and f"/cases/{case.id}" in html


def test_a_manager_of_another_estate_sees_none_of_these_residents(org, client_of):
    c = client_of("manager")
    add(c, org)
    person = db.session.scalar(select(User).where(User.phone == "13911112222"))
    res = db.session.scalar(select(Residency))
    b = client_of("b_manager")
    assert "13911112222" not in b.get("/admin/residents?inactive=y").get_data(as_text=True)
    assert b.get(f"/admin/residents/{person.id}").status_code == 404
    assert post(b, f"/admin/residencies/{res.id}/move-out", {f"r{res.id}-moved_out": "2026-04-01"}).status_code == 404
    assert post(b, f"/admin/residents/{person.id}/account", {}).status_code == 404
    r = add(b, org)  # estate A is not one of theirs
    assert r.status_code == 200 and 'id="new-estate_id-error"' in r.get_data(as_text=True)
