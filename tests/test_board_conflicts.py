"""Two clerks on one case: the second edit gets a conflict and keeps what it typed."""
from __future__ import annotations

from datetime import datetime, timedelta


from portal.extensions import db
from portal.models import Role
from tests import factories
from tests.board_helpers import SHANGHAI, only_row
from tests.conftest import post
from tests.helpers import fresh, html, textarea_value


# --- optimistic locking -----------------------------------------------------------------------

def version_on_page(client, case, action) -> str:
    return html(client.get(f"/cases/{case.id}")).by_id(f"{action}-version").attrs["value"]


def test_second_of_two_concurrent_edits_gets_a_conflict_and_keeps_its_text(as_, people):
    people["eng2"] = factories.user(Role.DEPARTMENT, department=people["ref"]["eng"])
    case = factories.case(people["resident"])
    factories.advance(case, ["classify", "dispatch", "accept"], people)
    db.session.commit()
    first, second = as_("eng"), as_("eng2")
    seen_first, seen_second = version_on_page(first, case, "plan"), version_on_page(second, case, "plan")
    assert seen_first == seen_second

    promised = (datetime.now(SHANGHAI) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r1 = post(first, f"/cases/{case.id}/act/plan", {"plan-version": seen_first, "plan-finding": "阀门老化",
                                                    "plan-plan": "更换阀门", "plan-promised_at": promised})
    assert r1.status_code == 302
    r2 = post(second, f"/cases/{case.id}/act/plan", {"plan-version": seen_second, "plan-finding": "水压过高",
                                                     "plan-plan": "加装减压阀", "plan-promised_at": promised},
              htmx_target="case-body")
    assert r2.status_code == 200
    page = html(r2)
    form = page.by_id("plan-finding")
    while form.tag != "form":
        form = form.parent
    assert form.all("div", cls="form-errors"), "a conflict message is shown on the submitted form"
    assert textarea_value(page.by_id("plan-finding")) == "水压过高"
    assert textarea_value(page.by_id("plan-plan")) == "加装减压阀"
    assert [e.action for e in fresh(case).events].count("plan") == 1
    assert (fresh(case).finding, fresh(case).plan) == ("阀门老化", "更换阀门")

    # the re-rendered form carries the current version: submitting again applies the second change
    new_version = page.by_id("plan-version").attrs["value"]
    assert new_version == str(fresh(case).version_id) != seen_second
    r3 = post(second, f"/cases/{case.id}/act/plan", {"plan-version": new_version, "plan-finding": "水压过高",
                                                     "plan-plan": "加装减压阀", "plan-promised_at": promised})
    assert r3.status_code == 302
    assert fresh(case).finding == "水压过高"


def test_conflicting_first_reply_keeps_the_message_and_typed_text(as_, people):
    people["clerk2"] = factories.user(Role.CLERK)
    case = factories.case(people["resident"])
    db.session.commit()
    first, second = as_("clerk"), as_("clerk2")
    seen = version_on_page(first, case, "acknowledge")
    assert version_on_page(second, case, "acknowledge") == seen
    post(first, f"/cases/{case.id}/act/acknowledge", {"acknowledge-version": seen, "acknowledge-note": "第一条回复"})
    r = post(second, f"/cases/{case.id}/act/acknowledge",
             {"acknowledge-version": seen, "acknowledge-note": "第二条回复，打了很久"}, htmx_target="case-body")
    assert fresh(case).first_reply == "第一条回复"
    page = html(r)
    assert page.all("div", cls="form-errors")
    assert "第二条回复，打了很久" in r.get_data(as_text=True)


def test_conflicting_row_dispatch_shows_the_conflict_in_the_row(as_, people):
    people["clerk2"] = factories.user(Role.CLERK)
    case = factories.case(people["resident"], category=people["ref"]["water"], severity="minor")
    db.session.commit()
    first, second = as_("clerk"), as_("clerk2")
    seen = str(case.version_id)
    post(first, f"/cases/{case.id}/act/dispatch", {"dispatch-version": seen,
                                                   "dispatch-department_id": people["ref"]["eng"].id},
         htmx_target=f"row-{case.id}")
    r = post(second, f"/cases/{case.id}/act/dispatch", {"dispatch-version": seen,
                                                        "dispatch-department_id": people["ref"]["sec"].id},
             htmx_target=f"row-{case.id}")
    assert fresh(case).department_id == people["ref"]["eng"].id
    only_row(r, case)
    assert html(r).all("p", cls="error"), "the clerk is told the case changed under them"
