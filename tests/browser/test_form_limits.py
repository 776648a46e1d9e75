"""The browser checks photo count, photo size and text length before sending (static/limits.js):
the message stands beside the field, nothing is sent, nothing typed is lost; a counter on long text."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.test_pages import login, png_bytes


def test_limits_are_checked_before_uploading_on_a_phone(phone: Page, tmp_path):
    page = phone
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/cases/new" in r.url else None)
    login(page, "resident1")
    page.goto("/cases/new")
    page.select_option("#category_id", index=2)
    page.fill("#description", "卫生间天花板渗水")
    expect(page.locator("#description ~ .counter")).to_have_text("8 / 4000")

    six = [{"name": f"p{i}.png", "mimeType": "image/png", "buffer": png_bytes()} for i in range(6)]
    page.set_input_files("#photos", files=six)
    expect(page.locator("#photos-client-error")).to_contain_text("5")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#photos")).to_be_focused()
    page.screenshot(path=str(tmp_path / "limits-phone.png"), full_page=True)

    huge = [{"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff" + b"\x00" * (8 * 2**20)}]
    page.set_input_files("#photos", files=huge)
    expect(page.locator("#photos-client-error")).to_contain_text("big.jpg")
    expect(page.locator("#photos-client-error")).to_contain_text("8 MB")

    page.set_input_files("#photos", files=[{"name": "ok.png", "mimeType": "image/png", "buffer": png_bytes()}])
    expect(page.locator("[data-client-error]")).to_have_count(0)
    page.fill("#description", "水" * 4001)
    expect(page.locator("#description ~ .counter")).to_have_text("4001 / 4000")
    expect(page.locator("#description ~ .counter")).to_have_class(re.compile("over"))
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#description-client-error")).to_contain_text("4000")
    expect(page.locator("#description")).to_be_focused()
    assert posts == [], "nothing was sent while a limit was exceeded"

    page.fill("#description", "卫生间天花板渗水，滴到洗手台上")
    expect(page.locator("[data-client-error]")).to_have_count(0)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+/receipt$"))
    assert len(posts) == 1
