"""The Content-Security-Policy in a real browser: no page of any role trips it."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_pages import login

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""

PAGES = {
    "clerk1": ["/board", "/desk/new", "/callbacks"],
    "manager1": ["/board", "/escalations", "/reports", "/reports/monthly", "/admin/settings", "/admin/calendar", "/admin/deadlines",
                 "/disclosure"],
    "eng1": ["/dept"],
    "resident1": ["/my/cases", "/cases/new", "/disclosure"],
}


@pytest.mark.parametrize("username", sorted(PAGES))
def test_no_page_of_any_role_violates_the_csp(context, username):
    context.add_init_script(RECORD_VIOLATIONS)
    page: Page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(page, username)
    for url in PAGES[username]:
        response = page.goto(url)
        assert response.ok, f"{url}: {response.status}"
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof window.htmx") == "object", f"{url}: htmx did not load"
        assert page.evaluate("window.__csp") == [], f"{url} violates the CSP"
    assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []


def test_the_board_still_polls_but_not_while_a_row_is_being_worked_on(context):
    """The idle check moved from an hx-trigger filter (eval) to a listener; it must still work."""
    page: Page = context.new_page()
    login(page, "clerk1")
    table = page.locator("#case-table")
    expect(table).to_be_visible()
    polls = []
    page.on("request", lambda req: polls.append(req.url)
            if req.url.split("?")[0].endswith("/board") and req.headers.get("hx-request") else None)
    page.evaluate("document.querySelector('#case-table details').open = true")
    page.locator("#case-table details[open] form").first.wait_for()
    polls.clear()
    page.evaluate("htmx.ajax('GET', location.pathname, {source: '#case-table', target: '#case-table', swap: 'outerHTML'})")
    page.wait_for_timeout(500)
    assert polls == [], "a request from the table went out while a row's form was open"
    page.evaluate("document.querySelector('#case-table details[open]').open = false; document.activeElement.blur()")
    page.evaluate("htmx.ajax('GET', location.pathname, {source: '#case-table', target: '#case-table', swap: 'outerHTML'})")
    page.wait_for_timeout(500)
    assert len(polls) == 1
