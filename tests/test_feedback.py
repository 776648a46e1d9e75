"""Every action tells the user it worked: in the case body, the board row, or a flash."""
from tests.conftest import htmx_get, post
from tests.helpers import fresh, html, make_case


def _version(case) -> str:
    return str(fresh(case).version_id)


def test_htmx_action_on_the_case_page_confirms_success(as_, people):
    case = make_case(people)
    r = post(as_("clerk"), f"/cases/{case.id}/act/acknowledge",
             {"acknowledge-version": _version(case), "acknowledge-note": "您好，已收到。"}, htmx_target="case-body")
    page = html(r)
    assert page.by_id("case-body").all("p", cls="notice")
    assert "<html" not in r.get_data(as_text=True)


def test_plain_form_action_flashes_success_after_redirect(as_, people):
    case = make_case(people)
    client = as_("clerk")
    r = post(client, f"/cases/{case.id}/act/acknowledge",
             {"acknowledge-version": _version(case), "acknowledge-note": "您好，已收到。"})
    assert r.status_code == 302
    follow = client.get(r.location).get_data(as_text=True)
    assert 'class="flash success"' in follow


def test_failed_action_shows_no_success_notice(as_, people):
    case = make_case(people)
    r = post(as_("clerk"), f"/cases/{case.id}/act/acknowledge",
             {"acknowledge-version": _version(case), "acknowledge-note": ""}, htmx_target="case-body")
    assert not html(r).by_id("case-body").all("p", cls="notice")
    assert html(r).by_id("case-body").all("p", cls="error")


def test_row_action_marks_the_updated_row(as_, people):
    case = make_case(people, category=people["ref"]["water"], severity="minor")
    r = post(as_("clerk"), f"/cases/{case.id}/act/dispatch",
             {"dispatch-version": _version(case), "dispatch-department_id": people["ref"]["eng"].id},
             htmx_target=f"row-{case.id}")
    row = html(r).by_id(f"row-{case.id}")
    assert "row-updated" in row.classes and row.all("p", cls="notice")
    # The next board refresh shows the row without the highlight.
    table = htmx_get(as_("clerk"), "/board", "case-table").get_data(as_text=True)
    assert "row-updated" not in table


def test_board_row_flags_an_open_case_past_its_deadline(as_, people):
    from datetime import timedelta

    from portal.timeutil import utcnow
    late = make_case(people, ("acknowledge", "classify", "dispatch", "accept"),
                     received_at=utcnow() - timedelta(days=10))
    on_time = make_case(people, ("acknowledge", "classify", "dispatch", "accept"))
    page = html(htmx_get(as_("clerk"), "/board", "case-table"))
    late_cell = page.by_id(f"row-{late.id}").one("td", cls="due")
    assert "sla-overdue" in late_cell.classes and late_cell.all("span", cls="sla-overdue")
    on_time_cell = page.by_id(f"row-{on_time.id}").one("td", cls="due")
    assert "sla-ok" in on_time_cell.classes and not on_time_cell.all("span", cls="sla-overdue")


def test_department_accepts_from_its_queue_row(as_, people):
    from portal.models import Status
    case = make_case(people, ("acknowledge", "classify", "dispatch"))
    eng = as_("eng")
    queue = html(htmx_get(eng, "/dept", "case-table"))
    assert queue.by_id(f"row-{case.id}").all("details")  # the row offers its action menu
    menu = html(eng.get(f"/board/rows/{case.id}/actions"))
    assert [f.attrs["data-action"] for f in menu.all("form")] == ["accept", "take"]  # unassigned: 抢单 too
    r = post(eng, f"/cases/{case.id}/act/accept", {"accept-version": _version(case)}, htmx_target=f"row-{case.id}")
    row = html(r).by_id(f"row-{case.id}")
    assert fresh(case).status == Status.IN_PROGRESS
    assert row.all("span", cls="st-in_progress") and "row-updated" in row.classes
    # The queue hides the department and resident columns; so does the updated row.
    assert not [td for td in row.all("td") if td.attrs.get("data-label") in ("部门", "住户", "业主", "Department", "Resident")]
