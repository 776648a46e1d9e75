"""A technician's day on a 390-px phone: the notice of new work, the case opened from it, taken,
accepted and completed with before/after photos and the resident's confirmation (issue 15)."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.test_pages import assert_no_horizontal_scroll, login, png_bytes

pytestmark = pytest.mark.browser


def dispatched_case(live_app, severity: str = "major") -> str:
    """clerk1 registers, classifies and dispatches a complaint to 工程部; returns its number."""
    from portal.cases.intake import register_case
    from portal.cases.lifecycle import perform
    from portal.extensions import db
    from portal.models import Category, Channel, Department, Kind, User
    with live_app.app_context():
        clerk = db.session.scalar(select(User).filter_by(username="clerk1"))
        resident = db.session.scalar(select(User).filter_by(username="resident1"))
        case = register_case(actor=clerk, resident=resident, kind=Kind.COMPLAINT, channel=Channel.PHONE,
                             description=f"厨房水管爆裂，水漫到客厅 {uuid.uuid4().hex[:6]}")
        category = db.session.scalar(select(Category).filter_by(code="facility"))
        perform(case, clerk, "classify", {"category_id": category.id, "severity": severity})
        department = db.session.scalar(select(Department).filter_by(code="engineering"))
        perform(case, clerk, "dispatch", {"department_id": department.id, "note": "请立即上门"})
        db.session.commit()
        number = case.number
        db.session.remove()
    return number


def in_view(page: Page, selector: str, timeout: float = 3.0) -> bool:
    """Whether the element is (or within `timeout` comes, once the swap has settled) inside the viewport."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        inside = page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                                             return r.top >= -1 && r.bottom <= window.innerHeight + 1; }""", selector)
        if inside or time.monotonic() > deadline:
            return inside
        page.wait_for_timeout(50)


def act(page: Page, name: str) -> None:
    """Open an action on the case page (a tap on its summary) and submit it."""
    action = page.locator(f"#case-actions details[data-action={name}]")
    if not action.evaluate("d => d.open"):  # a user opens it only when it is closed
        action.locator("summary").click()
    expect(action).to_have_attribute("open", "")  # it stays open under the thumb
    action.locator("button[type=submit]").click()


def test_phone_technician_gets_the_notice_takes_the_case_and_completes_it_with_photos(phone: Page, live_app,
                                                                                         tmp_path):
    number = dispatched_case(live_app)
    login(phone, "tech1")
    # The notice is there at once: the bell counts it, the inbox lists it.
    expect(phone.get_by_test_id("bell-count")).to_be_visible()
    phone.locator("#bell").click()
    notice = phone.locator("#notification-list .note-item", has_text=number)
    expect(notice).to_contain_text("新工单")
    assert_no_horizontal_scroll(phone)
    notice.locator("button.note-open").click()
    expect(phone.locator("#case-body h1.case-no")).to_have_text(number)
    expect(phone.get_by_test_id("masked-phone")).to_contain_text("****")  # masked until the call
    phone.locator(".contact-phone button").click()  # the reveal is logged; the number's link takes the focus
    expect(phone.locator("a.call[href^='tel:']")).to_be_focused()  # the next tap dials
    assert_no_horizontal_scroll(phone)

    act(phone, "take")  # 抢单
    expect(phone.locator("#action-notice")).to_contain_text("抢单")
    expect(phone.locator("#case-body")).to_contain_text("黄磊")
    assert in_view(phone, "#action-notice")

    act(phone, "accept")
    expect(phone.locator("#action-notice")).to_contain_text("接单")
    assert in_view(phone, "#action-notice")  # where the thumb is, not a screen above

    before, after = tmp_path / "before.png", tmp_path / "after.png"
    before.write_bytes(png_bytes())
    after.write_bytes(png_bytes(12, 12))
    complete = phone.locator("#case-actions details[data-action=complete]")
    complete.locator("summary").click()
    expect(complete).to_have_attribute("open", "")
    complete.locator("#complete-note").fill("更换爆裂水管，已试水无渗漏")
    complete.locator("#complete-photos_before").set_input_files(str(before))
    complete.locator("#complete-photos").set_input_files(str(after))
    complete.locator("#complete-resident_present").check()
    complete.locator("#complete-resident_confirmation").fill("张伟")  # the resident types on the phone
    complete.locator("button[type=submit]").click()
    expect(phone.locator("#action-notice")).to_be_visible()
    assert in_view(phone, "#action-notice")
    expect(phone.locator("#case-body .case-head .badge.st-resolved")).to_be_visible()
    completed = phone.locator("#timeline li.ev-complete")
    expect(completed).to_contain_text("住户现场确认：张伟")
    expect(completed.locator(".photo-stage")).to_have_text(["维修前", "维修后"])
    expect(completed.locator("img")).to_have_count(2)
    assert_no_horizontal_scroll(phone)


def test_phone_queue_shows_new_work_first_with_its_views(phone: Page, live_app):
    dispatched_case(live_app, severity="minor")
    login(phone, "eng1")
    phone.goto("/dept")
    rows = phone.locator("#case-table tbody tr")
    expect(rows.first).to_be_visible()
    # New and returned work (dispatched, not yet accepted) comes before every case in progress.
    statuses = rows.locator("td .badge[class*='st-']").evaluate_all("els => els.map(e => e.className)")
    first_other = next((i for i, s in enumerate(statuses) if "st-dispatched" not in s), len(statuses))
    assert all("st-dispatched" not in s for s in statuses[first_other:])
    assert first_other >= 1  # the new case at least is on top
    phone.locator(".queue-views a", has_text="待领取").click()
    expect(phone).to_have_url(re.compile(r"view=unassigned"))
    expect(phone.locator(".queue-views a[aria-current=page]")).to_have_text("待领取")
    assert_no_horizontal_scroll(phone)


def test_phone_head_assigns_from_the_queue_row_and_a_technician_takes_from_his(phone: Page, live_app):
    assigned, free = dispatched_case(live_app, severity="minor"), dispatched_case(live_app, severity="minor")
    login(phone, "eng1")  # 刘强, head of 工程部
    phone.goto(f"/dept?q={assigned}")
    row = phone.locator("#case-table tbody tr", has_text=assigned)
    row_id = row.get_attribute("id")
    row.locator("td.row-actions summary").click()
    form = row.locator("form[data-action=assign]")
    form.locator("select").select_option(label="黄磊")
    form.locator("button[type=submit]").click()
    updated = phone.locator(f"#{row_id}.row-updated")
    expect(updated.locator("p.notice")).to_be_visible()  # the confirmation in the row just used
    expect(updated.locator(".assignee")).to_have_text("黄磊")
    assert in_view(phone, f"#{row_id} p.notice")
    assert_no_horizontal_scroll(phone)

    login(phone, "tech1")
    phone.goto("/dept?view=unassigned&status=open&sort=queue&q=" + free)
    row = phone.locator("#case-table tbody tr", has_text=free)
    row_id = row.get_attribute("id")
    row.locator("td.row-actions summary").click()
    expect(row.locator("form[data-action=assign]")).to_have_count(0)  # only the head assigns
    row.locator("form[data-action=take] button[type=submit]").click()  # 抢单
    updated = phone.locator(f"#{row_id}.row-updated")
    expect(updated.locator(".assignee")).to_have_text("黄磊")
    assert in_view(phone, f"#{row_id} p.notice")
