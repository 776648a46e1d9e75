"""The callback queue on a 390-px phone: open a task and record the call without leaving the page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_pages import assert_no_horizontal_scroll, assert_same_document, login, mark_document

pytestmark = pytest.mark.browser


def test_phone_clerk_records_a_callback_in_the_queue(phone: Page):
    login(phone, "clerk1")
    phone.goto("/callbacks")
    items = phone.locator("#callback-queue .cb-item")
    expect(items.first).to_be_visible()
    assert_no_horizontal_scroll(phone)
    mark_document(phone)
    before = phone.locator("#callback-queue .count").inner_text()

    items.first.locator("a.cb-open").click()
    panel = phone.locator("#task-panel")
    expect(panel.locator(".record-form")).to_be_visible()
    expect(panel.locator("#timeline")).to_be_visible()  # the case history
    assert_no_horizontal_scroll(phone)

    panel.locator("input[name=reached][value=yes]").check()
    panel.locator("input[name=satisfaction][value=satisfied]").check()
    panel.locator("#suggestions").fill("希望维修后及时清理现场")
    panel.locator(".record-form button[type=submit]").click()
    expect(panel.locator(".notice")).to_contain_text("回访已记录")
    expect(panel.locator(".record-form")).to_have_count(0)  # done: no more recording
    # The list refreshed itself: one callback fewer to do.
    expect(phone.locator("#callback-queue .count")).not_to_have_text(before)
    assert_same_document(phone)
    assert_no_horizontal_scroll(phone)


def test_phone_unreached_hides_the_answer_fields_and_logs_an_attempt(phone: Page):
    login(phone, "clerk1")
    phone.goto("/callbacks")
    phone.locator("#callback-queue .cb-item a.cb-open").first.click()
    panel = phone.locator("#task-panel")
    panel.locator("input[name=reached][value=no]").check()
    expect(panel.locator(".reached-only")).to_be_hidden()
    panel.locator(".record-form button[type=submit]").click()
    expect(panel.locator(".notice")).to_contain_text("已记录本次尝试")


def test_queue_tabs_swap_the_list_and_push_the_url(page: Page):
    login(page, "manager1")
    page.goto("/callbacks")
    mark_document(page)
    page.locator(".tabs a[data-tab=overdue]").click()
    expect(page).to_have_url(re.compile(r"/callbacks\?.*tab=overdue"))
    expect(page.locator(".tabs a[aria-current=page]")).to_have_attribute("data-tab", "overdue")
    page.select_option("#kind", "complaint")
    expect(page).to_have_url(re.compile(r"kind=complaint"))
    expect(page).to_have_url(re.compile(r"tab=overdue"))  # the tab survives a filter change
    assert_same_document(page)
