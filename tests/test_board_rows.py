"""Acting from a board row: the updated row comes back in place, with errors beside the fields."""
from __future__ import annotations

from portal.extensions import db
from portal.models import Status
from tests import factories
from tests.board_helpers import only_row, row_post
from tests.helpers import fresh, html


def test_row_classify_returns_the_updated_row(as_, people):
    case = factories.case(people["resident"])
    db.session.commit()
    r = row_post(as_("clerk"), case, "classify", category_id=people["ref"]["parking"].id, severity="major")
    assert r.status_code == 200
    body = only_row(r, case)
    assert people["ref"]["parking"].name in body and "sev-major" in body and "row-major" in body
    case = fresh(case)
    assert (case.category_id, case.severity) == (people["ref"]["parking"].id, "major")


def test_row_dispatch_returns_the_updated_row(as_, people):
    case = factories.case(people["resident"], category=people["ref"]["water"], severity="minor")
    db.session.commit()
    r = row_post(as_("clerk"), case, "dispatch", department_id=people["ref"]["eng"].id)
    body = only_row(r, case)
    assert people["ref"]["eng"].name in body and "st-dispatched" in body
    offered = html(as_("clerk").get(f"/board/rows/{case.id}/actions")).all("form", cls="row-form")
    assert [f.attrs["data-action"] for f in offered] == ["classify"]  # dispatch no longer offered
    case = fresh(case)
    assert (case.status, case.department_id) == (Status.DISPATCHED, people["ref"]["eng"].id)


def test_row_close_returns_the_closed_row(as_, people):
    case = factories.case(people["resident"])
    factories.advance(case, ["classify", "dispatch", "accept", "complete"], people)
    db.session.commit()
    r = row_post(as_("manager"), case, "close")
    body = only_row(r, case)
    assert "st-closed" in body
    assert fresh(case).status == Status.CLOSED


def test_failed_row_action_returns_the_row_with_the_error(as_, people):
    case = factories.case(people["resident"])
    db.session.commit()
    r = row_post(as_("clerk"), case, "dispatch", department_id=people["ref"]["eng"].id)  # not classified
    assert r.status_code == 200
    only_row(r, case)
    form = html(r).one("form", data_action="dispatch")
    assert form.all("p", cls="error")
    assert fresh(case).status == Status.REGISTERED


def test_failed_row_action_keeps_the_choice_and_shows_the_field_error(as_, people):
    case = factories.case(people["resident"])
    db.session.commit()
    r = row_post(as_("clerk"), case, "classify", category_id=people["ref"]["parking"].id, severity="")
    only_row(r, case)
    form = html(r).one("form", data_action="classify")
    assert form.all("p", cls="error")
    chosen = [o.attrs["value"] for o in form.by_id(f"classify-category_id-{case.id}").all("option") if "selected" in o.attrs]
    assert chosen == [str(people["ref"]["parking"].id)]
    assert fresh(case).category_id is None


def test_two_open_row_menus_share_no_element_id(as_, people):
    first, second = factories.case(people["resident"]), factories.case(people["other_resident"])
    db.session.commit()
    clerk = as_("clerk")
    ids = []
    for case in (first, second):
        menu = html(clerk.get(f"/board/rows/{case.id}/actions"))
        ids += [n.attrs["id"] for n in menu.iter() if n.attrs.get("id")]
    assert ids and len(ids) == len(set(ids))


def test_row_forms_swap_the_row_they_sit_in(as_, people):
    case = factories.case(people["resident"])
    db.session.commit()
    client = as_("clerk")
    row = html(client.get("/board")).by_id(f"row-{case.id}")
    assert (row.attrs["hx-target"], row.attrs["hx-swap"]) == ("this", "outerHTML")
    forms = html(client.get(f"/board/rows/{case.id}/actions")).all("form", cls="row-form")
    assert forms and all("hx-target" not in f.attrs and f.attrs["hx-post"] == f.attrs["action"] for f in forms)
