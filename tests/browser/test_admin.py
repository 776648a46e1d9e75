"""The staff-account screens in a real browser, at desktop size and on a 390-px phone."""
from __future__ import annotations

import os
import re
from itertools import count

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.test_pages import assert_no_horizontal_scroll, login

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ADMIN_SCREENSHOTS")  # a folder: save screenshots there to look at them
_n = count(1)


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def company_manager(live_app):
    """manager1 is the demo's company-level manager (as issue 12 has it)."""
    from portal.extensions import db
    from portal.models import Estate, User
    with live_app.app_context():
        manager = db.session.scalar(select(User).where(User.username == "manager1"))
        manager.company_wide = True
        manager.estates = list(db.session.scalars(select(Estate)))
        db.session.commit()
        db.session.remove()
    return "manager1"


def create_account(page: Page, prefix: str, phone: bool = False) -> str:
    """Through the menu to a new clerk account; returns the temporary password shown."""
    page.goto("/")
    if phone:  # on a phone the menu folds behind its button
        page.get_by_test_id("nav-toggle").click()
    menu = page.get_by_test_id("admin-menu")
    menu.locator("summary").click()
    menu.locator("a[href='/admin/staff']").click()
    expect(page).to_have_url(re.compile(r"/admin/staff$"))
    if phone:
        assert_no_horizontal_scroll(page)
    shot(page, f"{prefix}-staff-list")
    page.get_by_test_id("new-staff").click()
    username = f"kf{os.getpid()}x{next(_n)}"
    page.fill("#username", username)
    page.locator("button[type=submit].primary").click()  # nothing filled in yet: messages beside the fields
    expect(page.locator("#display_name-error")).to_be_visible()
    expect(page.locator("#username")).to_have_value(username)
    if phone:
        assert_no_horizontal_scroll(page)
    shot(page, f"{prefix}-staff-new-errors")
    name = f"测试客服{username[-6:]}"
    page.fill("#display_name", name)
    page.fill("#phone", "139 0000 0001")
    page.select_option("#role", "clerk")
    page.locator("input[name=estates]").first.check()
    page.locator("button[type=submit].primary").click()
    box = page.get_by_test_id("temporary-password")
    expect(box).to_be_visible()
    password = box.locator("code").inner_text().strip()
    assert len(password) == 12
    if phone:
        assert_no_horizontal_scroll(page)
    shot(page, f"{prefix}-staff-created")
    # Shown once: the account page, opened again from the list, has no password on it.
    page.locator(".admin-tabs a[href='/admin/staff']").click()
    page.get_by_role("link", name=name).click()
    expect(page.locator("h1")).to_contain_text(username)
    expect(page.get_by_test_id("temporary-password")).to_have_count(0)
    return username


def test_a_manager_creates_a_staff_account_and_sees_the_password_once(page: Page, company_manager):
    login(page, company_manager)
    create_account(page, "desktop-zh")
    page.get_by_test_id("reset-password").click()
    expect(page.get_by_test_id("temporary-password")).to_be_visible()
    shot(page, "desktop-zh-staff-reset")
    page.get_by_test_id("lang-switch").click()
    page.goto("/admin/staff")
    expect(page.locator("h1")).to_have_text("Staff accounts")
    shot(page, "desktop-en-staff-list")
    page.goto("/admin/audit")
    shot(page, "desktop-en-audit")
    page.get_by_test_id("lang-switch").click()


def test_the_staff_screens_work_on_a_phone(phone: Page, company_manager):
    login(phone, company_manager)
    create_account(phone, "phone-zh", phone=True)
    for url in ("/admin/residents", "/admin/estates", "/admin/audit", "/admin/categories"):
        phone.goto(url)
        assert_no_horizontal_scroll(phone)
    shot(phone, "phone-zh-audit")
    phone.get_by_test_id("lang-switch").click()
    phone.goto("/admin/staff/new")
    assert_no_horizontal_scroll(phone)
    shot(phone, "phone-en-staff-new")
    phone.get_by_test_id("lang-switch").click()
