"""Registering a phone call: the unit as callers say it, the caller beside the form, and an open case
at the same place offered as "add to this case" before a duplicate is made."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Attachment, Building, Case, CaseEvent, Role, Unit
from tests import factories
from tests.conftest import login_as, post
from tests.helpers import html, make_case, tiny_png


def register_data(people, **extra):
    return {"resident_id": people["resident"].id, "kind": "complaint", "channel": "phone",
            "category_id": people["ref"]["water"].id, "severity": "", "location_type": "unit",
            "description": "来电：楼上漏水到卫生间", "contact_name": "张三", "contact_phone": "13800000000", **extra}


@pytest.fixture
def fifth(people):
    """Building 5栋 with unit 0802 and its resident 赵六; and 5号楼 elsewhere is not ours."""
    b = Building(estate=people["ref"]["estate"], name="5栋")
    unit = Unit(building=b, number="0802")
    db.session.add_all([b, unit])
    db.session.flush()
    zhao = factories.user(Role.RESIDENT, unit=unit, name="赵六")
    db.session.commit()
    return zhao


@pytest.mark.parametrize("said", ["5栋0802", "5-0802", "5栋 802", "5号楼802", "5#802室"])
def test_the_resident_search_understands_how_callers_say_the_unit(as_, fifth, said):
    page = html(as_("clerk").get("/desk/residents", query_string={"q": said}))
    options = page.all("input", type="radio")
    assert [o.attrs["value"] for o in options] == [str(fifth.id)]
    assert options[0].attrs["data-fill-contact_name"] == "赵六"
    assert options[0].attrs["data-fill-contact_phone"] == fifth.phone


def test_the_board_search_understands_the_unit_too(as_, people, fifth):
    case = factories.case(fifth)
    make_case(people)
    db.session.commit()
    body = as_("clerk").get("/board", query_string={"q": "5号楼802", "status": "open"}).get_data(as_text=True)
    assert f'id="row-{case.id}"' in body and body.count('<tr id="row-') == 1


def test_the_unit_search_stays_in_the_clerks_estates(app, people, elsewhere, fifth):
    client = app.test_client()
    login_as(client, elsewhere["clerk"])
    assert "赵六" not in client.get("/desk/residents", query_string={"q": "5栋0802"}).get_data(as_text=True)


def test_the_caller_panel_shows_household_open_and_earlier_cases(as_, people):
    spouse = factories.user(Role.RESIDENT, unit=people["ref"]["units"][0], name="张太太")
    open_case = make_case(people, description="还没修好")
    done = make_case(people, ["acknowledge", "mark_invalid"], description="以前的投诉")
    page = html(as_("clerk").get(f"/desk/caller/{people['resident'].id}"))
    panel = page.by_id("caller-panel")
    assert "张三" in panel.text and spouse.display_name in panel.text
    assert open_case.number in panel.one(data_testid="caller-open").text
    assert done.number in panel.one(data_testid="caller-earlier").text
    assert done.number not in panel.one(data_testid="caller-open").text


def test_the_caller_panel_is_refused_outside_the_clerks_estates(app, people, elsewhere):
    client = app.test_client()
    login_as(client, elsewhere["clerk"])
    assert client.get(f"/desk/caller/{people['resident'].id}").status_code == 404


def test_an_open_case_at_the_same_place_and_category_is_offered_before_a_duplicate(as_, people):
    first = make_case(people, ["acknowledge", "classify"], description="卫生间漏水")
    r = post(as_("clerk"), "/desk/new", register_data(people))
    assert r.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1  # nothing registered yet
    page = html(r)
    offer = page.one(data_testid="duplicates")
    button = offer.one("button", data_testid=f"append-{first.number}")
    assert button.attrs["formaction"] == f"/desk/append/{first.id}"
    assert page.by_id("description").text.strip() == "来电：楼上漏水到卫生间"  # nothing typed is lost


def test_adding_to_the_case_appends_the_callers_statement_through_an_action(as_, people):
    first = make_case(people, ["acknowledge", "classify"], description="卫生间漏水")
    r = post(as_("clerk"), f"/desk/append/{first.id}", register_data(people))
    assert r.status_code == 302 and r.location.endswith(f"/cases/{first.id}")
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    event = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == first.id)
                               .order_by(CaseEvent.id.desc())).first()
    assert event.action == "comment" and event.actor_id == people["clerk"].id
    assert "来电：楼上漏水到卫生间" in event.note and "张三" in event.note and "13800000000" in event.note


def test_adding_an_empty_statement_is_refused(as_, people):
    first = make_case(people, ["acknowledge", "classify"])
    before = db.session.scalar(select(func.count()).select_from(CaseEvent))
    r = post(as_("clerk"), f"/desk/append/{first.id}", register_data(people, description=""), follow_redirects=True)
    assert "请描述问题" in r.get_data(as_text=True) or "描述" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CaseEvent)) == before


def test_the_clerk_may_still_register_a_new_case(as_, people):
    make_case(people, ["acknowledge", "classify"])
    r = post(as_("clerk"), "/desk/new", register_data(people, new_anyway="y"))
    assert r.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Case)) == 2


def test_another_category_or_a_closed_case_is_no_duplicate(as_, people):
    other = make_case(people, ["acknowledge"])
    other.category_id = people["ref"]["parking"].id
    make_case(people, ["acknowledge", "mark_invalid"]).category_id = people["ref"]["water"].id
    db.session.commit()
    assert post(as_("clerk"), "/desk/new", register_data(people)).status_code == 302


def test_appending_to_another_estates_case_is_not_found(app, people, elsewhere):
    theirs = factories.case(elsewhere["resident"])
    db.session.commit()
    client = app.test_client()
    login_as(client, people["clerk"])
    assert post(client, f"/desk/append/{theirs.id}", register_data(people)).status_code == 404


def test_adding_to_the_case_carries_the_photos_of_the_registration_form(as_, people):
    first = make_case(people, ["acknowledge", "classify"], description="卫生间漏水")
    clerk = as_("clerk")
    offer = post(clerk, "/desk/new", {**register_data(people), "photos": [(io.BytesIO(tiny_png()), "leak.png")]},
                 content_type="multipart/form-data")
    hint = html(offer).field_container("photos").text
    assert "1" in hint and "再次" in hint  # the browser dropped the file: the clerk is told to choose it again
    r = post(clerk, f"/desk/append/{first.id}",
             {**register_data(people), "photos": [(io.BytesIO(tiny_png()), "leak.png"), (io.BytesIO(tiny_png()), "ceiling.png")]},
             content_type="multipart/form-data")
    assert r.status_code == 302
    event = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == first.id)
                               .order_by(CaseEvent.id.desc())).first()
    photos = db.session.scalars(select(Attachment).where(Attachment.case_id == first.id)).all()
    assert sorted(a.filename for a in photos) == ["ceiling.png", "leak.png"]
    assert {a.event_id for a in photos} == {event.id} and event.action == "comment"
    page = html(clerk.get(f"/cases/{first.id}"))
    assert len(page.by_id("timeline").all("img")) == 2


def test_a_refused_photo_keeps_the_statement_and_adds_nothing(as_, people):
    first = make_case(people, ["acknowledge", "classify"], description="卫生间漏水")
    before = db.session.scalar(select(func.count()).select_from(CaseEvent))
    r = post(as_("clerk"), f"/desk/append/{first.id}",
             {**register_data(people), "photos": [(io.BytesIO(b"not a picture"), "notes.txt")]},
             content_type="multipart/form-data")
    assert r.status_code == 200
    page = html(r)
    assert page.field_container("photos").all("p", cls="error")  # beside the field
    assert page.by_id("description").text.strip() == "来电：楼上漏水到卫生间"  # nothing typed lost
    assert page.one(data_testid="duplicates").one("button", data_testid=f"append-{first.number}")
    assert db.session.scalar(select(func.count()).select_from(CaseEvent)) == before
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
