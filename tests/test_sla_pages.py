"""The managers' service-level pages: policy table, holiday schedule, missing-calendar banner."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CalendarDay, SlaRule
from portal.sla import calendar, policy
from portal.timeutil import local_now
from tests.conftest import post
from tests.helpers import html, textarea_value


def policy_data(page) -> dict:
    """Everything the policy form would send as shown: inputs and selected units."""
    form = page.one("form", cls="policy-form")
    data = {}
    for node in form.all("input"):
        data[node.attrs["name"]] = node.attrs.get("value", "")
    for select_node in form.all("select"):
        chosen = [o for o in select_node.all("option") if "selected" in o.attrs]
        data[select_node.attrs["name"]] = chosen[0].attrs["value"]
    data.pop("csrf_token", None)
    return data


def fresh_calendar() -> calendar.WorkCalendar:
    """The test's app context caches the calendar in g like a request would; drop it."""
    g.pop("_work_calendar", None)
    return calendar.load()


def in_english(client):
    """Messages asserted below are the English source strings, whatever the translations say."""
    post(client, "/lang/en")
    return client


def next_year() -> int:
    return local_now().year + 1


def test_policy_page_shows_the_defaults(as_):
    page = html(as_("manager").get("/admin/deadlines?kind=complaint"))
    cell = page.one("td", data_cell="major__first_reply")
    assert cell.one("input").attrs["value"] == "2"
    assert [o.attrs["value"] for o in cell.all("option") if "selected" in o.attrs] == ["hours"]
    assert "default" in cell.one("small").classes
    resolution = page.one("td", data_cell="important__resolution")
    assert resolution.one("input").attrs["value"] == "2"
    # Repairs only: complaints have no dispatch clock by default (blank = off).
    assert page.one("td", data_cell="minor__dispatch").one("input").attrs.get("value", "") == ""


def test_saving_stores_only_changed_cells_and_policy_uses_them(as_):
    client = as_("manager")
    data = policy_data(html(client.get("/admin/deadlines?kind=complaint")))
    data["major__first_reply__amount"] = "30"
    data["major__first_reply__unit"] = "minutes"
    response = post(client, "/admin/deadlines?kind=complaint", data)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(SlaRule)) == 1
    assert policy.level("complaint", "major", "first_reply") == policy.Level(30, "minutes")
    cell = html(client.get("/admin/deadlines?kind=complaint")).one("td", data_cell="major__first_reply")
    assert cell.one("input").attrs["value"] == "30"
    assert "changed" in cell.one("small").classes


def test_blank_amount_turns_a_clock_off(as_):
    client = as_("manager")
    data = policy_data(html(client.get("/admin/deadlines?kind=repair")))
    data["minor__investigation__amount"] = ""
    assert post(client, "/admin/deadlines?kind=repair", data).status_code == 302
    db.session.expire_all()
    assert not policy.level("repair", "minor", "investigation").active


@pytest.mark.parametrize("bad,message", [("-3", "negative"), ("abc", "number")])
def test_invalid_amount_comes_back_beside_its_cell_with_input_kept(as_, bad, message):
    client = in_english(as_("manager"))
    data = policy_data(html(client.get("/admin/deadlines?kind=complaint")))
    data["minor__resolution__amount"] = bad
    data["major__first_reply__amount"] = "5"  # valid, but nothing is stored while another cell is wrong
    response = post(client, "/admin/deadlines?kind=complaint", data)
    assert response.status_code == 200
    page = html(response)
    cell = page.one("td", data_cell="minor__resolution")
    assert cell.one("input").attrs["value"] == bad
    assert cell.one("input").attrs["aria-invalid"] == "true"
    assert message in cell.one("p", cls="error").text
    assert page.one("td", data_cell="major__first_reply").one("input").attrs["value"] == "5"
    assert db.session.scalar(select(func.count()).select_from(SlaRule)) == 0


@pytest.mark.parametrize("who", ["clerk", "eng", "resident"])
def test_only_managers_open_the_service_level_pages(as_, who):
    for url in ("/admin/deadlines", "/admin/calendar"):
        assert as_(who).get(url).status_code == 403
    assert post(as_(who), "/admin/deadlines", {}).status_code == 403


def _makeup_saturday(year: int) -> date:
    day = date(year, 9, 30)
    while day.weekday() != 5:
        day -= timedelta(days=1)
    return day


def test_entering_a_schedule_drives_the_calendar(as_):
    year = next_year()
    client = as_("manager")
    assert calendar.load().source(year) in ("weekends", "library")
    saturday = _makeup_saturday(year)
    response = post(client, f"/admin/calendar?year={year}", {
        "holidays": f"{year}-10-01..{year}-10-07 国庆节\n# comment\n",
        "workdays": f"{saturday.isoformat()} 调休上班",
    })
    assert response.status_code == 302
    cal = fresh_calendar()
    assert cal.source(year) == "manual"
    assert not cal.is_working_day(date(year, 10, 1))
    assert cal.is_working_day(saturday)
    page = html(client.get(f"/admin/calendar?year={year}"))
    assert "source-manual" in page.by_id(f"year-{year}").classes
    assert f"{year}-10-07 国庆节" in textarea_value(page.by_id("holidays"))
    assert textarea_value(page.by_id("workdays")) == f"{saturday.isoformat()} 调休上班"


def test_a_bad_schedule_line_is_explained_and_nothing_is_stored(as_):
    year = next_year()
    response = post(in_english(as_("manager")), f"/admin/calendar?year={year}", {
        "holidays": f"{year}-10-01 国庆节\n{year}-13-01 oops", "workdays": "",
    })
    assert response.status_code == 200
    page = html(response)
    box = page.field_container("holidays")
    assert "Line 2" in box.one("p", cls="error").text
    assert "oops" in textarea_value(page.by_id("holidays"))
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 0


def test_a_day_both_holiday_and_working_is_refused(as_):
    year = next_year()
    response = post(in_english(as_("manager")), f"/admin/calendar?year={year}", {
        "holidays": f"{year}-10-01", "workdays": f"{year}-10-01"})
    assert response.status_code == 200
    assert "both" in html(response).field_container("workdays").one("p", cls="error").text
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 0


def test_managers_are_warned_until_next_year_is_entered(as_):
    client = as_("manager")
    missing = calendar.missing_years(local_now().date())
    assert next_year() in missing, "the library now covers next year"
    banner = html(client.get("/board")).by_id("calendar-warning")
    assert str(next_year()) in banner.text
    assert banner.one("a").attrs["href"] == f"/admin/calendar?year={missing[0]}"
    for year in missing:
        post(client, f"/admin/calendar?year={year}", {"holidays": f"{year}-10-01 国庆节", "workdays": ""})
    assert not html(client.get("/board")).all(id="calendar-warning")


@pytest.mark.parametrize("who,url", [("clerk", "/board"), ("eng", "/dept"), ("resident", "/my/cases")])
def test_other_roles_never_see_the_calendar_warning(as_, who, url):
    response = as_(who).get(url)
    assert response.status_code == 200
    assert not html(response).all(id="calendar-warning")
