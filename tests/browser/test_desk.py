"""A clerk's day at the desk and a manager's menus, in Chromium at 390 px and on a desktop."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_pages import assert_no_horizontal_scroll, login, png_bytes

pytestmark = pytest.mark.browser


def fits(page: Page) -> None:
    """On a phone nothing scrolls sideways; a desktop page is wider than any phone by design."""
    if page.viewport_size["width"] <= 400:
        assert_no_horizontal_scroll(page)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_clerk_works_the_board_views_and_classifies_two_cases_at_once(page: Page, phone: Page, size):
    page = phone if size == "phone" else page
    login(page, "clerk1")
    page.goto("/board")
    tabs = page.locator("nav.view-tabs")
    expect(tabs.locator("a[aria-current=page]")).to_have_text("工作视图")
    fits(page)

    tabs.get_by_role("link", name="待派单").click()
    expect(tabs.locator("a[aria-current=page]")).to_have_text("待派单")
    rows = page.locator("#case-table tbody tr")
    expect(rows.first).to_be_visible()
    numbers = [rows.nth(i).locator("a.case-no").inner_text().strip() for i in range(2)]
    for number in numbers:
        page.get_by_test_id(f"select-{number}").check()
    bulk = page.locator("#bulk")
    expect(bulk.locator("select[name=action]")).to_be_visible()  # ticking a row opened the bulk form
    bulk.locator("select[name=action]").select_option("classify")
    bulk.locator("select[name=category_id]").select_option(index=1)
    bulk.locator("select[name=severity]").select_option("minor")
    bulk.locator("button[type=submit]").click()
    results = page.locator("#bulk-results")
    expect(results).to_contain_text("2 件中已完成 2 件")
    for number in numbers:
        expect(results.get_by_test_id(f"bulk-{number}")).to_contain_text("已完成")
        # The table refreshed itself (the ticks went with the old rows), showing the new severity.
        expect(page.get_by_test_id(f"select-{number}")).not_to_be_checked()
        expect(page.locator("tr", has=page.get_by_test_id(f"select-{number}")).locator(".badge.sev-minor")).to_be_visible()
    fits(page)


def test_saving_a_view_keeps_it_as_a_tab(page: Page):
    login(page, "clerk1")
    page.goto("/board?status=open&overdue=y&kind=repair&sort=due")
    page.locator("details.save-view > summary").click()
    page.locator("details.save-view input[name=name]").fill("超时报修")
    page.locator("details.save-view button[type=submit]").click()
    expect(page.locator("nav.view-tabs a[aria-current=page]")).to_have_text("超时报修")
    page.goto("/board")
    page.locator("nav.view-tabs").get_by_role("link", name="超时报修").click()
    expect(page).to_have_url(re.compile(r"kind=repair"))


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_registering_a_call_finds_the_unit_as_said_and_fills_the_contact(page: Page, phone: Page, size):
    page = phone if size == "phone" else page
    login(page, "clerk1")
    page.goto("/desk/new")
    page.locator("#resident-q").press_sequentially("5号楼802", delay=10)
    option = page.locator("#resident-results input[type=radio]").first
    expect(page.locator("#resident-results")).to_contain_text("李娜")
    option.check()
    expect(page.locator("#contact_name")).to_have_value("李娜")
    expect(page.locator("#contact_phone")).to_have_value("13800000002")
    panel = page.locator("#caller-panel")
    expect(panel).to_contain_text("李娜")
    expect(panel).to_contain_text("未结案件")
    fits(page)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_second_call_about_the_same_problem_is_added_to_the_open_case_with_its_photo(page: Page, phone: Page,
                                                                                        size, tmp_path):
    page = phone if size == "phone" else page
    login(page, "clerk1")
    photo = tmp_path / "car.png"
    photo.write_bytes(png_bytes())

    def fill_call(text: str) -> None:
        page.goto("/desk/new")
        page.locator("#resident-q").press_sequentially("5栋0802", delay=10)
        page.locator("#resident-results input[type=radio]").first.check()
        expect(page.locator("#contact_name")).to_have_value("李娜")
        page.locator("#category_id").select_option(label="停车")
        page.locator("#description").fill(text)

    fill_call("车位被外来车辆占用")
    page.locator("form#register-form button[type=submit]").last.click()
    offer = page.get_by_test_id("duplicates")
    # Wait for the answer: the receipt, or the duplicate offer when an earlier run (the other
    # screen size on this worker's server) already filed such a case.
    expect(offer.or_(page.get_by_test_id("case-number"))).to_be_visible()
    if offer.count():
        page.get_by_test_id("new-anyway").click()
    expect(page).to_have_url(re.compile(r"/receipt"))
    number = page.get_by_test_id("case-number").inner_text().strip()

    fill_call("邻居也来电：车位又被占了")
    page.locator("#photos").set_input_files(str(photo))
    page.locator("form#register-form button[type=submit]").last.click()
    offer = page.get_by_test_id("duplicates")
    expect(offer).to_be_visible()
    expect(page.locator("#description")).to_have_value("邻居也来电：车位又被占了")  # kept
    expect(offer).to_contain_text("再次选择这 1 张照片")  # the browser dropped it: chosen again beside the offer
    offer.locator("#offer-photos").set_input_files(str(photo))
    fits(page)
    offer.get_by_test_id(f"append-{number}").click()
    expect(page.locator(".flash.success")).to_contain_text(number)
    statement = page.locator("#timeline li", has_text="邻居也来电：车位又被占了")
    expect(statement.locator("img")).to_have_count(1)  # the photo came with the statement
    fits(page)


def test_on_a_phone_the_managers_menu_folds_behind_a_button(phone: Page):
    login(phone, "manager1")
    phone.goto("/board")
    nav = phone.locator("#mainnav")
    expect(nav).to_be_hidden()
    header = phone.locator("header.topbar").bounding_box()
    assert header["height"] < 160, header
    phone.get_by_test_id("nav-toggle").click()
    expect(nav).to_be_visible()
    phone.get_by_test_id("data-menu").locator("summary").click()
    phone.get_by_test_id("data-menu").get_by_role("link", name="发送队列").click()
    expect(phone).to_have_url(re.compile(r"/admin/outbox"))
    assert_no_horizontal_scroll(phone)


def test_on_a_desktop_the_menus_reach_the_audit_log(page: Page):
    login(page, "manager1")
    page.goto("/board")
    expect(page.get_by_test_id("nav-toggle")).to_be_hidden()
    page.get_by_test_id("admin-menu").locator("summary").click()
    page.get_by_test_id("admin-menu").get_by_role("link", name="操作日志").click()
    expect(page).to_have_url(re.compile(r"/admin/audit"))


def test_the_slip_prints_and_links_back(page: Page):
    page.add_init_script("window.print = () => { window.__printed = true; };")
    login(page, "clerk1")
    page.goto("/board?status=dispatched")
    href = page.locator("#case-table a.case-no").first.get_attribute("href")
    page.goto(href + "/slip")
    expect(page.get_by_test_id("slip-qr").first.locator("svg")).to_be_visible()
    page.get_by_test_id("slip-print").click()
    assert page.evaluate("window.__printed") is True
    page.get_by_test_id("slip-back").click()
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))


def test_manager_acknowledges_escalations_in_bulk(page: Page):
    login(page, "manager1")
    page.goto("/escalations")
    before = page.locator("#escalation-list .count").inner_text()
    page.get_by_test_id("ack-select-all").check()
    page.get_by_test_id("ack-selected").click()
    expect(page.locator(".flash.success")).to_contain_text("已确认")
    expect(page.locator("#escalation-list .count")).not_to_have_text(before)
