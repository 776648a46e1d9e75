"""The portal in a real browser: htmx swaps, forms, phone layout, session expiry, language."""
from __future__ import annotations

import re
import struct
import zlib

import pytest
from playwright.sync_api import Page, expect

from portal.demo import PASSWORD

pytestmark = pytest.mark.browser

CASE_NUMBER = re.compile(r"^(TS|BX|ZX|JY)-\d{8}-\d{4}$")


def login(page: Page, username: str) -> None:
    """Log in through the real form and wait for the role's home page."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def mark_document(page: Page) -> None:
    """A property on window that only a full page load would wipe out."""
    page.evaluate("window.__sameDocument = true")


def wait_until(page: Page, expression: str, arg=None, timeout: float = 10.0) -> None:
    """Poll a JS expression from Python: `page.wait_for_function` polls with eval, which the CSP refuses."""
    import time
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded instead of swapped"


def assert_no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"{page.url} scrolls sideways on a phone: scrollWidth={width}"


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A tiny valid red PNG, built by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_board_search_swaps_only_the_table_and_pushes_the_url(page: Page):
    login(page, "clerk1")
    expect(page).to_have_url(re.compile(r"/board$"))
    rows = page.locator("#case-table tbody tr")
    expect(rows.first).to_be_visible()
    number = rows.nth(2).locator("a.case-no").inner_text().strip()
    assert CASE_NUMBER.match(number)
    mark_document(page)
    page.evaluate("document.getElementById('filters').__marker = 'kept';"
                  "document.getElementById('case-table').__marker = 'old'")

    with page.expect_response(lambda r: "/board?" in r.url and "q=" in r.url) as response:
        page.locator("#q").press_sequentially(number, delay=10)
    assert response.value.status == 200
    expect(rows).to_have_count(1)
    expect(rows.first.locator("a.case-no")).to_have_text(number)
    # The table is a new node; the filter form (and the typed text) is the same one.
    assert page.evaluate("document.getElementById('case-table').__marker") is None
    assert page.evaluate("document.getElementById('filters').__marker") == "kept"
    assert_same_document(page)
    expect(page).to_have_url(re.compile(r"/board\?.*q=" + re.escape(number)))

    page.reload()
    expect(page.locator("#q")).to_have_value(number)
    expect(rows).to_have_count(1)
    expect(rows.first.locator("a.case-no")).to_have_text(number)


def test_board_row_classify_and_dispatch_in_place(page: Page):
    login(page, "clerk1")
    page.goto("/board?status=registered")
    row = page.locator("#case-table tbody tr").first
    row_id = row.get_attribute("id")
    assert row_id and re.fullmatch(r"row-\d+", row_id)
    row = page.locator(f"#{row_id}")
    expect(row.locator(".badge.st-registered")).to_be_visible()
    mark_document(page)
    url = page.url

    def act(action: str, choose) -> None:
        page.evaluate(f"document.getElementById('{row_id}').__marker = 'old'")
        row.locator("td.row-actions details > summary").click()
        form = row.locator(f"form[data-action={action}]")
        choose(form)
        with page.expect_response(lambda r: r.url.endswith(f"/act/{action}")) as response:
            form.locator("button[type=submit]").click()
        assert response.value.status == 200
        wait_until(page, f"() => !!document.getElementById('{row_id}') && "
                         f"document.getElementById('{row_id}').__marker === undefined")

    def classify(form):
        form.locator("select[name$=category_id]").select_option(index=1)
        form.locator("select[name$=severity]").select_option("major")

    act("classify", classify)
    expect(row.locator(".badge.sev-major")).to_be_visible()
    expect(row.locator(".badge.st-registered")).to_be_visible()
    expect(row).to_have_class(re.compile(r"\brow-major\b"))

    act("dispatch", lambda form: form.locator("select[name$=department_id]").select_option(index=1))
    expect(row.locator(".badge.st-dispatched")).to_be_visible()
    expect(page.locator(f"#{row_id}")).to_have_count(1)
    assert_same_document(page)
    assert page.url == url

    case_url = row.locator("a.case-no").get_attribute("href")
    page.goto(case_url)
    expect(page.locator("#case-body .case-head .badge.st-dispatched")).to_be_visible()


def test_resident_files_a_case_from_a_phone(phone: Page):
    page = phone
    login(page, "resident1")
    expect(page).to_have_url(re.compile(r"/my/cases$"))
    page.goto("/cases/new")
    assert_no_horizontal_scroll(page)
    page.select_option("#kind", "repair")
    page.select_option("#category_id", index=2)
    category = page.eval_on_selector("#category_id", "el => el.value")
    page.fill("#location", "厨房水槽下方")
    page.fill("#request", "请尽快派人维修")
    page.fill("#contact_phone", "13800009999")

    # Empty description: the form comes back with the error beside it and the rest kept.
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/cases/new$"))
    expect(page.locator("#description-error")).to_be_visible()
    expect(page.locator(".field.has-error #description")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator("#kind")).to_have_value("repair")
    expect(page.locator("#category_id")).to_have_value(category)
    expect(page.locator("#location")).to_have_value("厨房水槽下方")
    expect(page.locator("#request")).to_have_value("请尽快派人维修")
    expect(page.locator("#contact_phone")).to_have_value("13800009999")

    page.fill("#description", "厨房水槽下水管漏水，地面积水。")
    page.set_input_files("#photos", files=[{"name": "leak.png", "mimeType": "image/png", "buffer": png_bytes()}])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+/receipt$"))
    number = page.get_by_test_id("case-number").inner_text().strip()
    assert CASE_NUMBER.match(number), number
    assert number.startswith("BX-")
    assert_no_horizontal_scroll(page)

    page.locator(".receipt a.btn.primary").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    expect(page.locator("#case-body h1.case-no")).to_have_text(number)
    expect(page.locator("#case-body .case-head .badge.st-registered")).to_be_visible()
    photo = page.locator("#case-body .photos img")
    expect(photo).to_have_count(1)
    photo.scroll_into_view_if_needed()
    wait_until(page, "img => img.complete && img.naturalWidth === 8", photo.element_handle())


def test_department_accepts_a_case_on_a_phone(phone: Page):
    page = phone
    login(page, "eng1")
    expect(page).to_have_url(re.compile(r"/dept$"))
    expect(page.locator("#case-table tbody tr").first).to_be_visible()
    assert_no_horizontal_scroll(page)

    page.goto("/dept?status=dispatched")
    link = page.locator("#case-table tbody tr a.case-no").first
    number = link.inner_text().strip()
    link.click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    expect(page.locator("#case-body h1.case-no")).to_have_text(number)
    expect(page.locator("#case-body .case-head .badge.st-dispatched")).to_be_visible()
    assert_no_horizontal_scroll(page)
    mark_document(page)
    url = page.url
    page.evaluate("document.getElementById('case-body').__marker = 'old'")

    accept = page.locator("#case-actions details[data-action=accept]")
    accept.locator("summary").click()
    with page.expect_response(lambda r: r.url.endswith("/act/accept")) as response:
        accept.locator("form button[type=submit]").click()
    assert response.value.status == 200
    expect(page.locator("#case-body .case-head .badge.st-in_progress")).to_be_visible()
    assert page.evaluate("document.getElementById('case-body').__marker") is None
    assert_same_document(page)
    assert page.url == url
    # The next step for an accepted case is on offer.
    expect(page.locator("#case-actions details[data-action=plan]")).to_have_count(1)
    assert_no_horizontal_scroll(page)


def test_expired_session_during_htmx_search_goes_to_login(page: Page):
    login(page, "clerk1")
    expect(page.locator("#case-table")).to_be_visible()
    # Let the page's own requests (the bell loads its count) finish first: a response
    # still in flight would set the session cookie again after we clear it.
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()
    with page.expect_response(lambda r: "/board?" in r.url and "q=" in r.url) as response:
        page.locator("#q").press_sequentially("ZX", delay=10)
    assert response.value.headers.get("hx-redirect", "").startswith("/login")
    page.wait_for_url(re.compile(r"/login(\?|$)"))
    expect(page.locator("#username")).to_be_visible()
    expect(page.locator("#case-table")).to_have_count(0)


def test_language_switch_toggles_between_chinese_and_english(page: Page):
    login(page, "clerk1")
    page.goto("/board?status=resolved")
    html = page.locator("html")
    switch = page.get_by_test_id("lang-switch")
    start = html.get_attribute("lang")
    assert start in ("zh-CN", "en")
    other = "en" if start == "zh-CN" else "zh-CN"
    for lang in (other, start, other):
        with page.expect_navigation():
            switch.click()
        expect(html).to_have_attribute("lang", lang)
        # The button offers the other language, and the page and its filter stay put.
        expect(switch).to_have_text("English" if lang == "zh-CN" else "中文")
        expect(page).to_have_url(re.compile(r"/board\?status=resolved$"))
        expect(page.locator("#case-table .badge.st-resolved").first).to_be_visible()
    # The choice lives in the session, not in the URL.
    page.goto("/board")
    expect(html).to_have_attribute("lang", other)


def test_chinese_interface_is_translated(page: Page):
    cjk = re.compile(r"[\u4e00-\u9fff]")
    page.goto("/login")
    if page.locator("html").get_attribute("lang") != "zh-CN":
        with page.expect_navigation():
            page.get_by_test_id("lang-switch").click()
    heading = page.locator("main h1")
    assert cjk.search(heading.inner_text()), heading.inner_text()
    with page.expect_navigation():
        page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert not cjk.search(heading.inner_text()), heading.inner_text()
