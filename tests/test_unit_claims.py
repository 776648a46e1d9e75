"""Self-registration and unit claims the register or the desk decides."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import ClaimStatus, Estate, Notification, Relation, Residency, Role, UnitClaim, User
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import csrf_token, post
from tests.signin_helpers import NEW_NUMBER, error_of, value_of, code_sign_in


# --- registration and unit claims ----------------------------------------------------------------

def _claim(client, estate_id, building, unit, relation="owner"):
    return client.post("/account/units", data={"estate_id": estate_id, "building": building, "unit": unit,
                                               "relation": relation, "csrf_token": csrf_token(client)})


def test_registration_keeps_the_name_and_leads_to_the_claim(app, client, people):
    response = code_sign_in(app, client, NEW_NUMBER, url="/register", name="王小明")
    assert urlsplit(response.location).path == "/account/units"
    assert db.session.scalar(select(User).where(User.phone == NEW_NUMBER)).display_name == "王小明"


def test_a_number_the_register_lists_for_the_unit_is_linked_at_once(app, client, people):
    unit = people["ref"]["units"][1]
    listed = factories.user(Role.RESIDENT, name="业主")
    listed.phone, listed.active = "+86 139 1234 5678", False  # an older record of the same person
    db.session.add(Residency(unit_id=unit.id, user_id=listed.id, relation=Relation.FAMILY,
                             moved_in=utcnow().date() - timedelta(days=30)))
    db.session.commit()
    code_sign_in(app, client, NEW_NUMBER, url="/register")
    response = _claim(client, unit.building.estate_id, "1栋", "0202", relation="tenant")
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.phone == NEW_NUMBER))
    residency = db.session.scalar(select(Residency).where(Residency.user_id == user.id))
    assert residency.unit_id == unit.id and residency.relation == Relation.FAMILY  # the register's word
    assert user.unit_id == unit.id
    assert db.session.scalar(select(UnitClaim)) is None


@pytest.mark.parametrize("building,unit,field", [("1栋", "9999", "unit"), ("9栋", "0101", "unit"),
                                                 ("", "0101", "building")])
def test_a_claim_for_a_unit_that_does_not_exist_is_refused_beside_the_field(app, client, people, building, unit,
                                                                             field):
    code_sign_in(app, client, NEW_NUMBER)
    estate_id = people["ref"]["units"][0].building.estate_id
    html = _claim(client, estate_id, building, unit).get_data(as_text=True)
    assert error_of(html, field)
    assert value_of(html, "unit") == unit and (value_of(html, "building") or "") == building
    assert db.session.scalar(select(UnitClaim)) is None


def test_an_unlisted_claim_waits_for_the_desk_which_approves_it(app, client, people, as_):
    code_sign_in(app, client, NEW_NUMBER)
    unit = people["ref"]["units"][0]
    assert _claim(client, unit.building.estate_id, "1", "0101").status_code == 302  # "1" means 1栋
    claim = db.session.scalar(select(UnitClaim))
    assert claim.status == ClaimStatus.PENDING
    assert "0101" in client.get("/account/units").get_data(as_text=True)
    desk = as_("clerk")
    page = desk.get("/desk/claims").get_data(as_text=True)
    assert f'id="claim-{claim.id}"' in page
    assert post(desk, f"/desk/claims/{claim.id}/approve").status_code == 302
    db.session.expire_all()
    user = db.session.get(User, claim.user_id)
    assert claim.status == ClaimStatus.APPROVED and user.unit_id == unit.id
    channels = set(db.session.scalars(select(Notification.channel).where(Notification.user_id == user.id,
                                                                         Notification.kind == "resident_unit_claim")))
    assert channels == {"inapp", "sms"}
    # The resident files a case for the unit.
    response = client.get("/cases/new")
    assert response.status_code == 200


def test_the_desk_refuses_with_a_reason_the_resident_reads(app, client, people, as_):
    code_sign_in(app, client, NEW_NUMBER)
    unit = people["ref"]["units"][0]
    _claim(client, unit.building.estate_id, "1栋", "0101")
    claim = db.session.scalar(select(UnitClaim))
    desk = as_("manager")
    html = post(desk, f"/desk/claims/{claim.id}/refuse", {f"claim{claim.id}-reason": "  "}).get_data(as_text=True)
    assert error_of(html, f"claim{claim.id}-reason")
    post(desk, f"/desk/claims/{claim.id}/refuse", {f"claim{claim.id}-reason": "业主不认识此人"})
    db.session.expire_all()
    assert claim.status == ClaimStatus.REFUSED
    assert "业主不认识此人" in client.get("/account/units").get_data(as_text=True)
    sms = [n for n in db.session.scalars(select(Notification).where(Notification.kind == "resident_unit_claim"))]
    assert {n.channel for n in sms} == {"inapp", "sms"} and all("业主不认识此人" in n.body for n in sms)


def test_the_desk_of_another_estate_cannot_decide(app, client, people, as_):
    code_sign_in(app, client, NEW_NUMBER)
    unit = people["ref"]["units"][0]
    _claim(client, unit.building.estate_id, "1栋", "0101")
    claim = db.session.scalar(select(UnitClaim))
    other = Estate(name="别的小区")
    db.session.add(other)
    people["clerk"].estates = [other]
    db.session.commit()
    desk = as_("clerk")
    assert f'id="claim-{claim.id}"' not in desk.get("/desk/claims").get_data(as_text=True)
    assert post(desk, f"/desk/claims/{claim.id}/approve").status_code == 404
