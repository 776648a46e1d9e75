"""The escalation board: manager alerts listed, filtered, acknowledged and acted on in place."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import Alert, Case, Status
from portal.sla.alerts import fire, firing_for
from tests.conftest import htmx_get, post
from tests.helpers import event_actions, fresh, html, make_case

TO_ENG = ("classify", "dispatch")


def major_complaint(people, steps=()) -> tuple[Case, Alert]:
    """A complaint classified major: the lifecycle hook fires the manager alert at once."""
    case = make_case(people, steps)
    perform(case, people["clerk"], "classify", {"category_id": people["ref"]["water"].id, "severity": "major"})
    db.session.commit()
    alert = db.session.scalar(select(Alert).where(Alert.case_id == case.id, Alert.rule == "major"))
    assert alert is not None and alert.level == 1
    return case, alert


def row_ids(response) -> set[str]:
    return {n.attrs["id"] for n in html(response).all("tr") if n.attrs.get("id", "").startswith("alert-")}


def dispatched_major(people) -> tuple[Case, Alert]:
    case, alert = major_complaint(people)
    perform(case, people["clerk"], "dispatch", {"department_id": people["ref"]["eng"].id})
    db.session.commit()
    return case, alert


def version(case: Case) -> str:
    return str(db.session.scalar(select(Case.version_id).where(Case.id == case.id)))


def test_a_major_complaint_appears_on_the_board_and_a_closed_cases_alert_does_not(as_, people):
    case, alert = major_complaint(people)
    closed = make_case(people, TO_ENG + ("accept", "complete", "close"))
    closed_alert = fire([firing_for(closed, "agitated")])
    db.session.commit()
    response = as_("manager").get("/escalations")
    rows = row_ids(response)
    assert f"alert-{alert.id}" in rows
    assert f"alert-{closed_alert[0]}" not in rows  # its case is closed
    row = html(response).by_id(f"alert-{alert.id}")
    assert row.one("a", cls="case-no").attrs["href"] == f"/cases/{case.id}"
    assert case.number in row.text
    # "all" shows the closed case's escalation too.
    assert f"alert-{closed_alert[0]}" in row_ids(as_("manager").get("/escalations?show=all"))


def test_filters_by_level_and_rule(as_, people):
    _, alert = major_complaint(people)
    other = make_case(people)
    group = fire([firing_for(other, "group", level=2)])[0]
    db.session.commit()
    client = as_("manager")
    assert row_ids(client.get("/escalations?level=2")) == {f"alert-{group}"}
    assert row_ids(client.get("/escalations?rule=major")) == {f"alert-{alert.id}"}
    assert row_ids(client.get("/escalations?level=x&rule=nonsense")) == {f"alert-{group}", f"alert-{alert.id}"}


def test_acknowledging_records_who_and_removes_it_from_the_open_list(as_, people):
    _, alert = major_complaint(people)
    client = as_("manager")
    response = post(client, f"/escalations/{alert.id}/acknowledge", {f"ack{alert.id}-note": "已电话联系业主"},
                    htmx_target=f"alert-{alert.id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith("<tr")
    db.session.expire_all()
    alert = db.session.get(Alert, alert.id)
    assert alert.acknowledged_by_id == people["manager"].id and alert.acknowledged_at is not None
    assert alert.note == "已电话联系业主"
    assert f"alert-{alert.id}" not in row_ids(client.get("/escalations"))
    assert f"alert-{alert.id}" in row_ids(client.get("/escalations?show=acknowledged"))


def test_acknowledge_without_javascript_redirects_back_to_the_board(as_, people):
    _, alert = major_complaint(people)
    response = post(as_("manager"), f"/escalations/{alert.id}/acknowledge", {})
    assert response.status_code == 302 and response.location.endswith("/escalations")
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).acknowledged_at is not None


def test_take_over_sets_the_owner(as_, people):
    case, alert = major_complaint(people)
    response = post(as_("manager"), f"/escalations/{alert.id}/act/take_over",
                    {"take_over-version": version(case)}, htmx_target=f"alert-{alert.id}")
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert fresh(case).owner_id == people["manager"].id
    owner_cell = html(response).by_id(f"alert-{alert.id}").all("td")[7]  # the select box comes first
    assert people["manager"].display_name in owner_cell.text


def test_reassign_changes_the_department(as_, people):
    case, alert = dispatched_major(people)
    response = post(as_("manager"), f"/escalations/{alert.id}/act/reassign",
                    {"reassign-version": version(case), "reassign-department_id": str(people["ref"]["sec"].id)},
                    htmx_target=f"alert-{alert.id}")
    assert response.status_code == 200
    case = fresh(case)
    assert case.department_id == people["ref"]["sec"].id and case.status == Status.DISPATCHED


def test_reassign_without_a_department_comes_back_open_with_a_message(as_, people):
    case, alert = dispatched_major(people)
    response = post(as_("manager"), f"/escalations/{alert.id}/act/reassign",
                    {"reassign-version": version(case), "reassign-department_id": "0"},
                    htmx_target=f"alert-{alert.id}")
    assert response.status_code == 200
    row = html(response).by_id(f"alert-{alert.id}")
    assert "open" in row.one("details").attrs
    assert row.one("form", data_action="reassign").all("p", cls="error")
    assert fresh(case).department_id == people["ref"]["eng"].id


def test_instruction_is_shown_to_the_department_but_not_to_the_resident(as_, people):
    case, alert = dispatched_major(people)
    response = post(as_("manager"), f"/escalations/{alert.id}/act/instruct",
                    {"instruct-version": version(case), "instruct-note": "今天下班前必须回复业主"},
                    htmx_target=f"alert-{alert.id}")
    assert response.status_code == 200
    assert "今天下班前必须回复业主" in html(response).by_id(f"alert-{alert.id}").one(cls="manager-instruction").text
    dept_page = html(as_("eng").get(f"/cases/{case.id}"))
    assert "instruct" in event_actions(dept_page)
    assert "今天下班前必须回复业主" in dept_page.by_id("timeline").text
    resident_page = as_("resident").get(f"/cases/{case.id}")
    assert resident_page.status_code == 200
    assert "今天下班前必须回复业主" not in resident_page.get_data(as_text=True)


def test_an_empty_instruction_is_refused_without_javascript_and_the_board_reopens_the_row(as_, people):
    case, alert = major_complaint(people)
    response = post(as_("manager"), f"/escalations/{alert.id}/act/instruct",
                    {"instruct-version": version(case), "instruct-note": ""})
    assert response.status_code == 200
    page = html(response)
    assert page.all("html")
    assert "open" in page.by_id(f"alert-{alert.id}").one("details").attrs
    assert "instruct" not in [e.action for e in fresh(case).events]


def test_htmx_filtering_returns_the_list_fragment(as_, people):
    major_complaint(people)
    response = htmx_get(as_("manager"), "/escalations?level=1", "escalation-list")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert html(response).by_id("escalation-list")


def test_pagination(app, as_, people):
    app.config["BOARD_PAGE_SIZE"] = 2
    for _ in range(3):
        major_complaint(people)
    client = as_("manager")
    # (the same resident's later complaints are also flagged as repeats; count the major ones)
    assert len(row_ids(client.get("/escalations?rule=major"))) == 2
    page2 = client.get("/escalations?rule=major&page=2")
    assert len(row_ids(page2)) == 1
    assert html(page2).one("a", rel="prev").attrs["href"] == "/escalations?page=1&rule=major"


@pytest.mark.parametrize("who", ["clerk", "eng", "resident"])
def test_only_managers_use_the_escalation_board(as_, people, who):
    _, alert = major_complaint(people)
    client = as_(who)
    assert client.get("/escalations").status_code == 403
    assert post(client, f"/escalations/{alert.id}/acknowledge", {}).status_code == 403
    assert post(client, f"/escalations/{alert.id}/act/take_over", {}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).acknowledged_at is None


def test_case_page_shows_the_latest_instruction_and_running_deadlines_to_staff_only(as_, people):
    from tests.helpers import make_case
    case = make_case(people, ("acknowledge", "classify", "dispatch"))
    perform(case, people["manager"], "instruct", {"note": "今天之内上门查看"})
    db.session.commit()
    staff_page = html(as_("eng").get(f"/cases/{case.id}"))
    box = staff_page.one(cls="manager-instruction")
    assert "今天之内上门查看" in box.text
    clocks = staff_page.one("ul", cls="clocks")
    assert len(clocks.all("li")) >= 2 and clocks.all("span", cls="sla-ok")
    resident_page = html(as_("resident").get(f"/cases/{case.id}"))
    assert not resident_page.all(cls="manager-instruction") and not resident_page.all("ul", cls="clocks")
    assert "今天之内上门查看" not in resident_page.text
