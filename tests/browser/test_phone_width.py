"""At 390 px no page scrolls sideways, in Chinese or in English (English labels are longer)."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import PHONE
from tests.browser.test_accessibility import PAGES
from tests.browser.test_pages import login

pytestmark = pytest.mark.browser

CASES_FROM = {"clerk1": "/board", "eng1": "/dept", "resident1": "/my/cases", "manager1": "/escalations"}


def switch_to_english(page: Page) -> None:
    with page.expect_navigation():
        page.locator("[data-testid=lang-switch]").click()


def too_wide(page: Page) -> list[str]:
    """The page's scroll width when it is wider than the phone, with the widest culprits named."""
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= 390 + 1:
        return []
    culprits = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > 391 && e.children.length === 0)
        .slice(0, 3).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.trim().slice(0, 40))""")
    return [f"{page.url} scrollWidth={width} {culprits}"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("user", list(PAGES), ids=lambda u: u or "anonymous")
def test_no_page_scrolls_sideways_on_a_phone(new_context, user, lang):
    page = new_context(locale="zh-CN", **PHONE).new_page()
    if user:
        login(page, user)
    else:
        page.goto("/login")
    if lang == "en":
        switch_to_english(page)
    paths = list(PAGES[user])
    if user in CASES_FROM:  # the first cases of the person's list: deadlines, notices, badges
        page.goto(CASES_FROM[user])
        links = page.locator("main a[href*='/cases/']")
        hrefs = {links.nth(i).get_attribute("href") for i in range(min(links.count(), 12))}
        assert hrefs, f"{user} sees no case on {CASES_FROM[user]}"
        paths += sorted(h for h in hrefs if h.rstrip("/").split("/")[-1].isdigit())[:6]
    problems = []
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        problems += too_wide(page)
    assert not problems, "\n".join(problems)


def test_a_queue_rows_menu_stays_beside_its_label_however_wide_its_forms(new_context):
    """English labels and long technician names once pushed the open menu under its "Actions" label."""
    page = new_context(locale="zh-CN", **PHONE).new_page()
    login(page, "eng1")
    switch_to_english(page)
    page.goto("/dept?view=unassigned")
    cell = page.locator("table.cases tbody tr td.row-actions").first
    cell.locator("summary").first.click()
    cell.locator(".row-forms select").first.wait_for()
    place = page.evaluate("""(td) => {
        for (const o of td.querySelectorAll('option')) o.textContent += ' (a rather long technician name)';
        const t = td.getBoundingClientRect(), s = td.querySelector('summary').getBoundingClientRect();
        return {beside: s.left - t.left > 40 && Math.abs(s.top - t.top) < 12,
                width: document.documentElement.scrollWidth}; }""", cell.element_handle())
    assert place == {"beside": True, "width": 390}
