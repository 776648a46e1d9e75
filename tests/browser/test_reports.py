"""The manager's dashboard and the monthly report in a real browser, on a phone too."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_pages import assert_no_horizontal_scroll, login

pytestmark = pytest.mark.browser


def test_dashboard_on_a_phone_loads_the_trend_and_links_figures_to_the_board(phone: Page):
    login(phone, "manager1")
    phone.goto("/reports")
    expect(phone.locator("a.tile[data-rate='resolution']")).to_be_visible()
    phone.locator("#trend-box").scroll_into_view_if_needed()
    expect(phone.locator("#trend-box svg.chart")).to_be_visible()  # loaded by htmx when revealed
    assert_no_horizontal_scroll(phone)
    phone.locator("a.tile[data-rate='resolution']").click()
    expect(phone).to_have_url(re.compile(r"/board\?date_from=\d{4}-\d{2}-01&date_to="))


def test_generating_the_monthly_report_shows_progress_then_the_report(page: Page):
    login(page, "manager1")
    page.goto("/reports/monthly")
    page.locator("form.generate button").click()
    expect(page.locator("#report-progress:not([hx-trigger])")).to_be_visible(timeout=30000)
    expect(page.locator("a.tile[data-rate='satisfaction']")).to_be_visible()
