"""Sites (estates): chosen at the desk for common areas, a board filter, and the dashboard's links keep it."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Building, Case, Estate, Unit
from tests import factories
from tests.conftest import post
from tests.helpers import html
from tests.test_roles import register_data


def _second_site(people):
    other = Estate(name="翠湖二期")
    building = Building(estate=other, name="A座")
    unit = Unit(building=building, number="0303")
    db.session.add_all([other, building, unit])
    db.session.flush()
    neighbour = factories.user(factories.Role.RESIDENT, unit=unit, name="王五")
    people["clerk"].estates.append(other)  # the clerk works for both sites (a manager of the company sees all)
    db.session.commit()
    return other, neighbour


def test_desk_sets_the_site_from_the_unit_or_the_clerks_choice(as_, people):
    other, _ = _second_site(people)
    clerk = as_("clerk")
    page = html(clerk.get("/desk/new"))
    assert page.by_id("estate_id")  # two sites: the choice is offered
    assert post(clerk, "/desk/new", register_data(people, estate_id=str(other.id))).status_code == 302
    in_unit = db.session.scalars(select(Case).order_by(Case.id.desc())).first()
    assert in_unit.estate_id == people["ref"]["units"][0].building.estate_id  # the unit wins
    data = register_data(people, resident_id="", location_type="common", location="A座大堂",
                         contact_name="路过的访客", estate_id=str(other.id))
    assert post(clerk, "/desk/new", data).status_code == 302
    common = db.session.scalars(select(Case).order_by(Case.id.desc())).first()
    assert common.estate_id == other.id and common.unit_id is None


def test_board_filters_by_site(as_, people):
    other, neighbour = _second_site(people)
    here = factories.case(people["resident"])
    there = factories.case(neighbour)
    db.session.commit()
    assert there.estate_id == other.id and here.estate_id != other.id
    page = as_("clerk").get("/board", query_string={"site": other.id}).get_data(as_text=True)
    assert f'id="row-{there.id}"' in page and f'id="row-{here.id}"' not in page


def test_dashboard_links_carry_the_site(as_, people):
    other, neighbour = _second_site(people)
    factories.case(neighbour)
    db.session.commit()
    from portal.reports.periods import current_month
    page = html(as_("manager").get("/reports", query_string={"month": current_month(), "site": other.id}))
    links = [a.attrs["href"] for a in page.all("a") if a.attrs.get("href", "").startswith("/board?")]
    assert links and all(f"site={other.id}" in href for href in links if "date_from" in href)
