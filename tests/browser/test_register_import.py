"""The register import in a real browser: the preview swaps in, bad rows are listed, confirm imports,
at desktop size and on a 390-px phone, in Chinese and English (screenshots under screenshots/)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_pages import assert_no_horizontal_scroll, login, mark_document, assert_same_document
from tests.register_files import HEADER, csv_bytes

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent.parent / "screenshots"
ESTATE = "导入测试苑"
GOOD = [
    ["9栋", "0101", "89.5", "孔一", "17700000001", "业主", "2020-05-01", "孔二", "+86 177 0000 0002", "家属", ""],
    ["9栋", "0102", "", "孟三", "177-0000-0003", "租户", "2024/3/15", "", "", "", ""],
]
BAD = GOOD + [
    ["9栋", "", "", "曾四", "17700000004", "业主", "", "", "", "", ""],
    ["9栋", "0103", "大", "曾五", "1770000000", "房东", "2024-02-30", "", "", "", ""],
    ["9栋", "0101", "", "曾六", "17700000006", "业主", "", "", "", "", ""],
]


@pytest.fixture(scope="module", autouse=True)
def import_estate(live_app):
    """A fresh estate to import into, and manager1 as a company-level manager (as the demo makes him)."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Estate, User
    with live_app.app_context():
        if db.session.scalar(select(Estate).where(Estate.name == ESTATE)) is None:
            db.session.add(Estate(name=ESTATE))
        db.session.scalar(select(User).where(User.username == "manager1")).company_wide = True
        db.session.commit()
        db.session.remove()


def choose(page: Page, rows, name: str, lang: str) -> None:
    if lang == "en" and page.locator("[data-testid=lang-switch]").inner_text().strip() == "English":
        page.locator("[data-testid=lang-switch]").click()
    page.goto("/register/import")
    page.select_option("#estate", label=ESTATE)
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": csv_bytes(rows, HEADER)}])
    mark_document(page)
    with page.expect_response(lambda r: r.url.endswith("/register/import") and r.request.method == "POST"):
        page.locator("form.register-upload button[type=submit]").click()
    expect(page.locator("#register-preview")).to_be_visible()
    assert_same_document(page)  # htmx swapped the section in


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"register-{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bad_rows_are_listed_on_a_phone(phone: Page, lang: str):
    page = phone
    login(page, "manager1")
    choose(page, BAD, "台账.csv", lang)
    problems = page.locator("[data-testid=register-problems] tbody tr")
    expect(problems).to_have_count(6)  # no unit number; bad area, mobile, relation and date; 0101 twice
    expect(page.locator("[data-testid=register-confirm]")).to_have_count(0)
    text = page.locator("[data-testid=register-problems]").inner_text()
    assert ("缺少房号" in text) if lang == "zh" else ("missing unit number" in text)
    assert_no_horizontal_scroll(page)
    shoot(page, f"errors-390-{lang}")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_preview_confirm_and_reimport_on_a_desktop(page: Page, lang: str):
    login(page, "manager1")
    rows = [[r[0].replace("9栋", f"9栋{lang}")] + r[1:] for r in GOOD]
    rows = [r[:4] + [r[4][:-2] + ("1" if lang == "en" else "2") + r[4][-1]] + r[5:] for r in rows]
    rows = [r[:8] + ([r[8][:-2] + ("1" if lang == "en" else "2") + r[8][-1]] if r[8] else [""]) + r[9:] for r in rows]
    choose(page, rows, "register.csv", lang)
    counts = page.locator("[data-testid=register-counts]").inner_text()
    assert re.search(r"\b0\b", counts)  # no bad rows
    shoot(page, f"preview-desktop-{lang}")
    page.locator("[data-testid=register-confirm]").click()
    expect(page.locator(".flash.success")).to_be_visible()
    choose(page, rows, "register.csv", lang)
    expect(page.locator("#register-preview .empty")).to_be_visible()
    expect(page.locator("[data-testid=register-confirm]")).to_have_count(0)


def test_preview_on_a_phone_fits_the_screen(phone: Page):
    page = phone
    login(page, "manager1")
    rows = [["9栋p", f"{n:04d}", "75", f"住户{n}", f"1770001{n:04d}", "业主", "2022-01-01", "", "", "", ""]
            for n in range(1, 6)]
    choose(page, rows, "a-very-long-register-file-name-from-the-finance-office-2026.csv", "zh")
    expect(page.locator("[data-testid=register-confirm]")).to_be_visible()
    assert_no_horizontal_scroll(page)
    shoot(page, "preview-390-zh")
