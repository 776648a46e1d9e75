"""The work contact slip (QR code, dispatch, back link, print) and the managers' menus."""
from __future__ import annotations

import pytest

from portal import settings
from portal.extensions import db
from tests.helpers import html, make_case


def test_the_slip_carries_request_dispatch_estate_company_and_a_qr_code(as_, people):
    settings.put("company_name", "安居物业")
    db.session.commit()
    case = make_case(people, ["acknowledge", "classify"], request="今天下午前修好")
    from portal.cases.lifecycle import perform
    perform(case, people["clerk"], "dispatch", {"department_id": people["ref"]["eng"].id, "note": "带上备用水管"})
    db.session.commit()
    r = as_("clerk").get(f"/cases/{case.id}/slip")
    assert r.status_code == 200
    page = html(r)
    slip = page.all("section", cls="slip")[0]
    assert "今天下午前修好" in slip.text and "带上备用水管" in slip.text
    assert "安居物业" in slip.text and "测试花园" in slip.text
    qr = slip.one(data_testid="slip-qr")
    assert qr.one("svg") is not None
    assert page.one("a", data_testid="slip-back").attrs["href"] == f"/cases/{case.id}"
    assert "data-print" in page.one("button", data_testid="slip-print").attrs
    scripts = [s.attrs.get("src", "") for s in page.all("script")]
    assert any(src.endswith("/static/portal.js") for src in scripts)
    assert all(s.attrs.get("src") for s in page.all("script"))  # no inline script (CSP)


def test_the_qr_code_encodes_the_case_link():
    from portal.cases.slip import case_qr_svg
    import segno
    svg = case_qr_svg("https://portal.example/cases/7")
    assert svg.startswith("<svg") and "<script" not in svg
    expected = segno.make("https://portal.example/cases/7", error="m")
    assert expected.svg_inline(scale=3, border=2, dark="#000", light="#fff", omitsize=False) == str(svg)


MANAGER_PAGES = ["/reports/monthly", "/disclosure", "/callbacks/plans", "/callbacks/works", "/admin/outbox",
                 "/board/export.csv", "/admin/audit", "/register/import", "/admin/phrases"]


def test_the_managers_menus_reach_everything_they_have(as_, people):
    page = html(as_("manager").get("/board"))
    links = {a.attrs["href"] for a in page.one("nav", cls="mainnav").all("a")}
    for path in MANAGER_PAGES:
        assert path in links, path
    for path in MANAGER_PAGES:
        assert as_("manager").get(path).status_code == 200, path


@pytest.mark.parametrize("who", ["clerk", "resident", "eng"])
def test_others_get_no_manager_menu(as_, who):
    page = html(as_(who).get("/"))
    assert not page.all(data_testid="admin-menu") and not page.all(data_testid="data-menu")


def test_the_menu_button_controls_the_navigation(as_):
    page = html(as_("manager").get("/board"))
    button = page.one("button", data_testid="nav-toggle")
    assert button.attrs["aria-controls"] == "mainnav" and button.attrs["aria-expanded"] == "false"
    assert page.by_id("mainnav").tag == "nav"
