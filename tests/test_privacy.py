"""The complainant's privacy (SPEC §1, §9, issue 14): masked numbers, a logged reveal, staff complaints."""
from __future__ import annotations

import io

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from portal.cases.lifecycle import perform
from portal.cases.uploads import check_photos, save_photos
from portal.extensions import db
from portal.models import Attachment, Kind, Notification, PhoneReveal, Role
from portal.privacy import masked
from tests import factories
from tests.conftest import htmx_get, login_as, post
from tests.helpers import act, html, make_case, tiny_png

TO_ENG = ("classify", "dispatch")


def status(response) -> int:
    """The status of a file download, its file closed."""
    response.close()
    return response.status_code


def photo(name="evidence.png"):
    return [FileStorage(io.BytesIO(tiny_png()), filename=name, content_type="image/png")]


def test_masking_keeps_the_first_three_and_last_four_digits():
    assert masked("13800000000") == "138****0000"
    assert masked("") == "" and masked("1234") == "****"


def test_department_sees_the_mobile_masked_and_a_call_button(as_, people):
    case = make_case(people, TO_ENG)
    number = people["resident"].phone
    page = as_("eng").get(f"/cases/{case.id}").get_data(as_text=True)
    assert number not in page
    assert masked(number) in page
    assert f"/cases/{case.id}/phone" in page
    clerk_page = as_("clerk").get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'href="tel:{number}"' in clerk_page  # the customer-service centre calls back as before


def test_calling_reveals_dials_and_logs_who_when_which_case(as_, people):
    case = make_case(people, TO_ENG)
    client = as_("eng")
    r = post(client, f"/cases/{case.id}/phone", htmx_target=f"phone-{case.id}")
    assert r.status_code == 200 and "<html" not in r.get_data(as_text=True)
    fragment = html(r)
    link = fragment.one("a", cls="call")
    assert link.attrs["href"] == f"tel:{people['resident'].phone}"
    (log,) = db.session.scalars(select(PhoneReveal)).all()
    assert (log.user_id, log.case_id, log.estate_id) == (people["eng"].id, case.id, case.estate_id)
    assert log.at is not None
    # Without JavaScript the same button answers with a page holding the dialling link; logged again.
    page = post(client, f"/cases/{case.id}/phone")
    assert f'href="tel:{people["resident"].phone}"' in page.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(PhoneReveal)) == 2


def test_only_department_staff_of_the_case_can_reveal(as_, people):
    case = make_case(people, TO_ENG)
    assert post(as_("sec"), f"/cases/{case.id}/phone").status_code == 404  # not their case
    assert post(as_("clerk"), f"/cases/{case.id}/phone").status_code == 403  # they see it plainly anyway
    assert db.session.scalar(select(db.func.count()).select_from(PhoneReveal)) == 0


def test_managers_read_the_reveal_log_filtered_and_scoped_by_estate(app, as_, people):
    case = make_case(people, TO_ENG)
    post(as_("eng"), f"/cases/{case.id}/phone")
    page = html(as_("manager").get("/admin/phone-reveals"))
    rows = page.one(id="reveal-list").all("tr")
    assert len(rows) == 2 and case.number in rows[1].text and people["eng"].display_name in rows[1].text
    assert not html(as_("manager").get("/admin/phone-reveals?case=NOPE")).one(id="reveal-list").all("tr")
    fragment = htmx_get(as_("manager"), f"/admin/phone-reveals?case={case.number}", "reveal-list")
    assert case.number in fragment.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    other = factories.estate("别的小区")
    elsewhere = factories.user(Role.MANAGER, estates=[other["estate"]])
    db.session.commit()
    client = app.test_client()
    login_as(client, elsewhere)
    assert case.number not in client.get("/admin/phone-reveals").get_data(as_text=True)
    assert as_("eng").get("/admin/phone-reveals").status_code in (403, 404)


def misconduct_case(people):
    case = factories.case(people["resident"], people["clerk"], kind=Kind.COMPLAINT, subject="保安 王师傅",
                          misconduct=True, witnesses="邻居 赵六 13911112222", evidence="监控录像 3号门",
                          contact_name="张三", contact_phone="13712345678")
    (evidence,) = save_photos(case, people["clerk"], check_photos(photo(), people["clerk"]))
    factories.advance(case, ["classify"], people)
    perform(case, people["clerk"], "dispatch", {"department_id": people["ref"]["sec"].id})
    db.session.commit()
    return case, evidence


def test_a_complaint_about_staff_hides_the_complainant_from_the_department(as_, people):
    case, evidence = misconduct_case(people)
    page = as_("sec").get(f"/cases/{case.id}").get_data(as_text=True)
    for secret in ("张三", "13712345678", "3712", "赵六", "13911112222", "监控录像",
                   f"/attachments/{evidence.id}", f"/cases/{case.id}/phone"):
        assert secret not in page, secret
    assert "保安 王师傅" in page and case.description in page  # the department sees the matter
    unit = case.unit.label  # the complainant's home would name them
    assert unit not in page
    slip = as_("sec").get(f"/cases/{case.id}/slip").get_data(as_text=True)
    assert "张三" not in slip and "13712345678" not in slip and unit not in slip
    queue = as_("sec").get("/dept?view=all").get_data(as_text=True)
    assert case.number in queue and unit not in queue and "张三" not in queue
    for who in ("clerk", "manager"):
        staff = as_(who).get(f"/cases/{case.id}").get_data(as_text=True)
        assert all(s in staff for s in ("张三", "13712345678", "赵六", "监控录像", f"/attachments/{evidence.id}", unit))


def test_a_complaint_about_staff_refuses_the_evidence_download_to_the_department(as_, people):
    case, evidence = misconduct_case(people)
    assert status(as_("sec").get(f"/attachments/{evidence.id}")) == 404
    assert post(as_("sec"), f"/cases/{case.id}/phone").status_code == 404
    assert status(as_("clerk").get(f"/attachments/{evidence.id}")) == 200
    assert status(as_("manager").get(f"/attachments/{evidence.id}")) == 200


def test_the_departments_own_photos_stay_visible_on_a_complaint_about_staff(as_, people):
    case, _evidence = misconduct_case(people)
    perform(case, people["sec"], "accept", {})
    event = perform(case, people["sec"], "complete", {"note": "已约谈当事保安"})
    (own,) = save_photos(case, people["sec"], check_photos(photo("done.png"), people["sec"]), event)
    db.session.commit()
    assert status(as_("sec").get(f"/attachments/{own.id}")) == 200
    page = as_("sec").get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/attachments/{own.id}" in page


def test_the_complainants_comment_shows_no_name_to_the_department(as_, people):
    case, _evidence = misconduct_case(people)
    act(as_("resident"), case, "comment", note="我还有补充")
    page = html(as_("sec").get(f"/cases/{case.id}"))
    timeline = page.one(id="timeline").text
    assert "我还有补充" in timeline and "张三" not in timeline


def test_an_overturned_invalid_verdict_tells_the_resident_and_leaves_their_page(as_, people):
    case = make_case(people, ["mark_invalid"])
    before = as_("resident").get(f"/cases/{case.id}").get_data(as_text=True)
    assert "好的" in before  # the reason they were told
    r = act(as_("manager"), case, "overturn", note="经复核，您的投诉成立，我们将尽快处理。")
    assert r.status_code == 302
    page = html(as_("resident").get(f"/cases/{case.id}"))
    handling = page.all("section", cls="card")[1].text
    assert "好的" not in handling
    assert "经复核" in page.one(id="timeline").text
    notices = db.session.scalars(select(Notification).where(
        Notification.user_id == people["resident"].id, Notification.kind == "resident_overturn")).all()
    assert notices and all("经复核" in n.body for n in notices)


def test_the_dispatch_form_says_which_field_the_resident_reads(as_, people):
    case = make_case(people, ["classify"])
    form = html(as_("clerk").get(f"/cases/{case.id}")).one("details", data_action="dispatch")
    assert form.one("textarea", name="dispatch-note") and form.one("textarea", name="dispatch-message")
    hints = [n.text for n in form.all("small", cls="hint")]
    assert len(hints) == 2 and hints[0] != hints[1]
    assert "住户" in hints[1] or "resident" in hints[1]


def test_the_residents_list_shows_the_promise_not_severity_or_clocks(as_, people):
    case = make_case(people, ("classify", "dispatch", "accept", "plan"))
    raw = as_("resident").get("/my/cases").get_data(as_text=True)
    table = html(as_("resident").get("/my/cases")).one(id="case-table")
    assert not table.all("td", cls="due") and table.all("td", cls="promised")
    assert "等级" not in table.text
    assert case.number in table.text and "row-major" not in raw
    # Nor can the resident probe severity through the filters.
    assert as_("resident").get("/my/cases?severity=minor").status_code == 200
    assert "name=\"severity\"" not in as_("resident").get("/my/cases").get_data(as_text=True)
