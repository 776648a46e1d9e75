"""The board's filter and bulk forms offer the company's categories and departments and those of the
viewer's own estates, never another estate's own (SPEC §9: every view is scoped by estate)."""
from __future__ import annotations

from portal.extensions import db
from portal.models import Category, Department
from tests.conftest import login_as
from tests.helpers import html


def _options(page, name: str) -> set[str]:
    return {o.attrs.get("value") for o in page.one("select", name=name).all("option")}


def _theirs(elsewhere) -> tuple[Category, Department]:
    there = elsewhere["ref"]["estate"]
    category = Category(code="there-garden", name="清风苑园林", estate=there)
    department = Department(code="there-garden", name="清风苑绿化组", estate=there)
    db.session.add_all([category, department])
    db.session.commit()
    return category, department


def test_an_estate_clerk_sees_no_other_estates_own_categories_or_departments(app, client, people, elsewhere):
    category, department = _theirs(elsewhere)
    here = people["ref"]
    login_as(client, people["clerk"])  # works for the first estate only
    page = html(client.get("/board"))
    for name, theirs, ours in (("category", category, here["water"]), ("department", department, here["eng"]),
                               ("category_id", category, here["water"]), ("department_id", department, here["eng"])):
        offered = _options(page, name)
        assert str(ours.id) in offered, name  # the company's (or this estate's) are there
        assert str(theirs.id) not in offered, name
    assert "清风苑园林" not in page.text and "清风苑绿化组" not in page.text


def test_the_other_estates_clerk_and_company_staff_see_them(app, client, people, elsewhere):
    category, department = _theirs(elsewhere)
    for user in (elsewhere["clerk"], people["manager"]):  # that estate's clerk; the company-level manager
        client.get("/logout")
        login_as(client, user)
        page = html(client.get("/board"))
        for name, theirs in (("category", category), ("department", department),
                             ("category_id", category), ("department_id", department)):
            assert str(theirs.id) in _options(page, name), (user.username, name)
