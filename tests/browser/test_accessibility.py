"""axe-core on every kind of page and after htmx swaps, at desktop and 390 px; focus, live region, targets.

axe comes from its npm package (tests/browser/vendor/, axe-core 4.14.1, MPL-2.0): nothing is downloaded
at run time. It is evaluated through the DevTools protocol, which the Content-Security-Policy does not
govern, so the page under test keeps its real policy.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_pages import login, wait_until

pytestmark = pytest.mark.browser

AXE = (Path(__file__).resolve().parent / "vendor" / "axe-4.14.1.min.js").read_text(encoding="utf-8")
RUN = """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))"""
PAGES = {
    None: ["/login"],
    "clerk1": ["/board", "/board?status=registered&sort=oldest", "/callbacks", "/desk/new", "/notifications",
               "/account"],
    "manager1": ["/escalations", "/reports", "/reports/monthly", "/disclosure", "/admin/settings",
                 "/admin/deadlines", "/admin/calendar", "/admin/phrases", "/admin/estates", "/admin/residents",
                 "/admin/staff", "/admin/departments", "/admin/categories", "/admin/audit"],
    "resident1": ["/my/cases", "/cases/new", "/disclosure"],
    "eng1": ["/dept"],
}
SIZES = {"desktop": DESKTOP, "phone": PHONE}


def serious(page: Page) -> list:
    """Serious and critical axe violations of the page as it is now."""
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(AXE)
    return page.evaluate(RUN)


def assert_clean(page: Page, where: str) -> None:
    found = serious(page)
    assert not found, f"{where}: {json.dumps(found, ensure_ascii=False, indent=1)}"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("user", list(PAGES), ids=lambda u: u or "anonymous")
def test_every_page_has_no_serious_axe_violation(new_context, size, user):
    page = new_context(locale="zh-CN", **SIZES[size]).new_page()
    if user:
        login(page, user)
    paths = list(PAGES[user])
    if user in ("clerk1", "resident1", "eng1"):  # a case page as each of them sees it
        page.goto(paths[0])
        link = page.locator("a.case-no, a[href*='/cases/']").first
        paths.append(link.get_attribute("href"))
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert_clean(page, f"{size} {user} {path}")


@pytest.mark.parametrize("size", SIZES)
def test_board_swaps_stay_clean_announce_the_count_and_send_one_request_per_enter(new_context, size):
    page = new_context(locale="zh-CN", **SIZES[size]).new_page()
    login(page, "clerk1")
    page.goto("/board")
    number = page.locator("#case-table tbody tr a.case-no").nth(1).inner_text().strip()
    sent = []
    page.on("request", lambda r: sent.append(r.url) if "/board?" in r.url and "q=" in r.url else None)
    page.fill("#q", number)
    with page.expect_response(lambda r: "/board?" in r.url and "q=" in r.url):
        page.locator("#q").press("Enter")
    expect(page.locator("#case-table tbody tr")).to_have_count(1)
    page.wait_for_timeout(1200)  # the delayed "input" trigger and a second request would have gone by now
    assert len(sent) == 1, sent
    live = page.locator("#live")
    expect(live).to_have_count(1)
    expect(live).to_have_text(re.compile(r"\d"))  # the count was spoken by the one persistent region
    assert page.evaluate("document.activeElement.id") == "q"  # typing is not interrupted
    assert_clean(page, f"{size} board after search")

    page.goto("/board")
    pager = page.locator(".pager a[rel=next]")
    if pager.count():
        pager.first.click()
        wait_until(page, "() => /page=2/.test(location.search)")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.activeElement !== document.body"), "focus fell back to <body>"
        assert page.evaluate("!!document.activeElement.closest('#case-table')")
        assert_clean(page, f"{size} board page 2")


@pytest.mark.parametrize("size", SIZES)
def test_a_row_action_moves_focus_to_the_notice_and_announces_it(new_context, size):
    page = new_context(locale="zh-CN", **SIZES[size]).new_page()
    login(page, "clerk1")
    page.goto("/board?status=registered")
    row = page.locator("#case-table tbody tr").first
    row_id = row.get_attribute("id")
    row = page.locator(f"#{row_id}")
    row.locator("td.row-actions details > summary").click()
    form = row.locator("form[data-action=classify]")
    form.locator("select[name$=category_id]").select_option(index=1)
    form.locator("select[name$=severity]").select_option("minor")
    assert_clean(page, f"{size} row actions open")
    with page.expect_response(lambda r: r.url.endswith("/act/classify")):
        form.locator("button[type=submit]").click()
    wait_until(page, f"() => !!document.querySelector('#{row_id} .notice')")
    wait_until(page, "() => document.getElementById('live').textContent.trim().length > 0")
    notice = page.locator(f"#{row_id} .notice").inner_text().strip()
    assert page.locator("#live").inner_text().strip() == notice
    assert page.evaluate(f"document.activeElement.closest('#{row_id}') !== null"), "focus is not on the row"
    assert_clean(page, f"{size} row after classify")


def test_a_refused_form_focuses_its_error_summary(page: Page):
    login(page, "clerk1")
    page.goto("/desk/new")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    assert_clean(page, "refused desk form")


def test_tap_targets_in_the_header_are_at_least_24_px_on_a_phone(phone: Page):
    login(phone, "clerk1")
    phone.goto("/board")
    small = phone.evaluate("""() => [...document.querySelectorAll(
        '.topbar a, .topbar button, .topbar summary, #case-table a.case-no, .pager a')]
      .filter(el => el.offsetParent !== null)
      .map(el => [el.textContent.trim().slice(0, 20) || el.id, el.getBoundingClientRect()])
      .filter(([_, r]) => r.width < 24 || r.height < 24)
      .map(([t, r]) => t + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))""")
    assert not small, small


def test_the_bells_name_says_what_it_shows(page: Page):
    login(page, "manager1")
    page.goto("/board")
    bell = page.locator("#bell")
    page.wait_for_load_state("networkidle")
    shown = bell.locator(".bell-count")
    label = bell.get_attribute("aria-label")
    assert label.startswith("通知")
    if shown.count():  # the visible count is part of the name (99+ when there are more)
        assert shown.inner_text().strip() in label


def test_charts_hold_no_links(page: Page):
    login(page, "manager1")
    page.goto("/reports")
    page.wait_for_load_state("networkidle")
    assert page.locator("svg.chart").count() > 0
    assert page.locator("[role=img] a").count() == 0
