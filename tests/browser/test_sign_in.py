"""Issue 13 in a real browser: a resident registers with an SMS code (read from the file backend),
claims a unit, the desk confirms it and the resident files a case — on a phone and a desktop."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_pages import assert_no_horizontal_scroll, login, wait_until

pytestmark = pytest.mark.browser


def latest_code(page: Page, phone: str) -> str:
    """The newest code the file SMS backend wrote for this number, in the folder the page names."""
    outbox = Path(page.locator("#dev-outbox").get_attribute("data-dir"))
    found = []
    for f in outbox.glob("sms-*.json"):
        data = json.loads(f.read_text(encoding="utf-8"))
        if data["phone"] == phone:
            found.append((f.stat().st_mtime, re.search(r"\b(\d{6})\b", data["text"]).group(1)))
    assert found, f"no SMS for {phone} in {outbox}"
    return max(found)[1]


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_resident_registers_claims_a_unit_is_confirmed_and_files_a_case(new_context, size):
    resident = new_context(**(PHONE if size == "phone" else DESKTOP)).new_page()
    number = "139" + "".join(random.choice("0123456789") for _ in range(8))

    resident.goto("/register")
    expect(resident.locator("#dev-outbox")).to_be_visible()  # development says where the code lands
    resident.fill("#name", "周小燕")
    resident.fill("#phone", "139 123")  # a wrong number first: the message is beside the field, input kept
    with resident.expect_navigation():
        resident.get_by_test_id("send-code").click()
    expect(resident.locator("#phone-error")).to_be_visible()
    expect(resident.locator("#phone")).to_have_value("139 123")
    expect(resident.locator("#name")).to_have_value("周小燕")
    resident.fill("#phone", f"{number[:3]}-{number[3:7]}-{number[7:]}")
    with resident.expect_navigation():
        resident.get_by_test_id("send-code").click()
    expect(resident.locator("#code-sent")).to_be_visible()
    if size == "phone":
        assert_no_horizontal_scroll(resident)
    resident.fill("#code", latest_code(resident, number))
    with resident.expect_navigation():
        resident.locator("main form button.primary[type=submit]").click()
    expect(resident).to_have_url(re.compile(r"/account/units$"))
    expect(resident.locator("#no-homes")).to_be_visible()

    # A unit that does not exist: told beside the field, what was typed is kept.
    resident.select_option("#estate_id", label="翠湖花园")
    resident.fill("#building", "3栋")
    resident.fill("#unit", "9999")
    with resident.expect_navigation():
        resident.locator("main form button.primary[type=submit]").click()
    expect(resident.locator("#unit-error")).to_be_visible()
    expect(resident.locator("#building")).to_have_value("3栋")
    resident.fill("#unit", "1201")
    resident.select_option("#relation", "tenant")
    with resident.expect_navigation():
        resident.locator("main form button.primary[type=submit]").click()
    expect(resident.locator("#claims")).to_contain_text("1201")
    if size == "phone":
        assert_no_horizontal_scroll(resident)

    desk = new_context(**DESKTOP).new_page()
    login(desk, "clerk1")
    desk.goto("/desk/claims")
    item = desk.locator(".cb-item", has_text=number)
    expect(item).to_have_count(1)
    with desk.expect_navigation():
        item.locator("button.primary").click()
    expect(desk.locator(".flash")).to_contain_text("周小燕")

    resident.goto("/account/units")
    expect(resident.locator("#homes")).to_contain_text("3栋-1201")
    resident.goto("/cases/new")
    resident.select_option("#kind", "repair")
    resident.select_option("#category_id", index=1)  # the form asks for a category every time
    resident.fill("#description", "阳台地漏堵塞，下雨时积水。")
    with resident.expect_navigation():
        resident.locator("main form button[type=submit]").click()
    expect(resident).to_have_url(re.compile(r"/cases/\d+/receipt$"))
    if size == "phone":
        assert_no_horizontal_scroll(resident)


def test_the_sign_in_pages_fit_a_phone_in_both_languages(phone: Page):
    for path in ("/login", "/login/code", "/register"):
        phone.goto(path)
        assert_no_horizontal_scroll(phone)
    with phone.expect_navigation():
        phone.get_by_test_id("lang-switch").click()
    wait_until(phone, "document.documentElement.lang === 'en'")
    for path in ("/login", "/login/code", "/register"):
        phone.goto(path)
        assert_no_horizontal_scroll(phone)
    expect(phone.locator("h1")).to_have_text("Register as a resident")
