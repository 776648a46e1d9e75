"""Each role's work through the test client: resident, clerk, department, manager."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from PIL import Image
from sqlalchemy import select

from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import Attachment, Case, CaseEvent, Channel, Kind, Phrase, Status
from tests import factories
from tests.conftest import post
from tests.helpers import act, event_actions, fresh, html, make_case, textarea_value, tiny_png


TO_ENG = ("classify", "dispatch")


# --- resident ---------------------------------------------------------------------------------

def new_case_data(people, **extra):
    return {"kind": "complaint", "category_id": people["ref"]["water"].id, "location_type": "unit",
            "description": "厨房水管漏水，地板泡了", **extra}


def test_resident_files_a_case_with_a_photo_and_gets_a_receipt_with_its_number(as_, people):
    client = as_("resident")
    png = tiny_png()
    r = post(client, "/cases/new", new_case_data(people, photos=(io.BytesIO(png), "leak.png")))
    assert r.status_code == 302
    case = db.session.scalar(select(Case))
    assert case.resident_id == people["resident"].id and case.channel == Channel.ONLINE
    assert case.unit_id == people["resident"].unit_id
    (att,) = db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)).all()
    assert att.content_type == "image/png" and att.thumb_name  # re-encoded; the thumbnail job ran

    receipt = html(client.get(r.location))
    assert receipt.one(data_testid="case-number").text.strip() == case.number

    with client.get(f"/attachments/{att.id}") as photo:
        assert photo.status_code == 200 and photo.mimetype == "image/png"
        assert Image.open(io.BytesIO(photo.data)).size == (1, 1) and len(photo.data) == att.size
    assert as_("other_resident").get(f"/attachments/{att.id}").status_code == 404


def test_fake_jpeg_is_refused_beside_the_photo_field_and_input_is_kept(as_, people):
    client = as_("resident")
    typed = "电梯按钮失灵，三楼按不亮"
    r = post(client, "/cases/new", new_case_data(people, description=typed, location="三楼电梯厅",
                                                 photos=(io.BytesIO(b"not an image at all\n" * 10), "photo.jpg")))
    assert r.status_code == 200
    assert db.session.scalar(select(Case)) is None
    page = html(r)
    photos = page.field_container("photos")
    assert photos.all("p", cls="error"), "the refusal is shown beside the photo field"
    assert "photo.jpg" in photos.one("p", cls="error").text
    assert textarea_value(page.by_id("description")) == typed
    assert page.by_id("location").attrs["value"] == "三楼电梯厅"


def test_resident_lists_only_own_cases(as_, people):
    mine = make_case(people)
    theirs = factories.case(people["other_resident"])
    db.session.commit()
    page = html(as_("resident").get("/my/cases"))
    rows = {n.attrs["id"] for n in page.all("tr") if n.attrs.get("id", "").startswith("row-")}
    assert rows == {f"row-{mine.id}"}
    assert theirs.number not in page.text


def test_resident_cannot_open_another_residents_case(as_, people):
    theirs = factories.case(people["other_resident"])
    db.session.commit()
    client = as_("resident")
    assert client.get(f"/cases/{theirs.id}").status_code == 404
    assert act(client, theirs, "comment", note="偷看").status_code == 404
    assert db.session.scalar(select(CaseEvent).where(CaseEvent.action == "comment")) is None


def test_resident_sees_timeline_and_adds_a_comment_with_a_photo(as_, people):
    case = make_case(people, ["acknowledge"])
    client = as_("resident")
    r = post(client, f"/cases/{case.id}/act/comment",
             {"comment-version": str(case.version_id), "comment-note": "晚上十点后更严重",
              "comment-photos": (io.BytesIO(tiny_png()), "night.png")})
    assert r.status_code == 302
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.action == "comment"))
    assert event.actor_id == people["resident"].id and event.note == "晚上十点后更严重"
    assert db.session.scalar(select(Attachment.event_id).where(Attachment.case_id == case.id)) == event.id

    page = html(client.get(f"/cases/{case.id}"))
    assert event_actions(page) == ["comment", "acknowledge", "register"]
    assert "晚上十点后更严重" in page.by_id("timeline").text
    assert fresh(case).status == Status.ACKNOWLEDGED


def test_resident_confirms_a_resolved_case(as_, people):
    case = make_case(people, TO_ENG + ("accept", "complete"))
    r = act(as_("resident"), case, "confirm", note="修好了，谢谢")
    assert r.status_code == 302
    case = fresh(case)
    assert case.confirmed_at is not None and case.status == Status.RESOLVED


def test_resident_rejects_a_resolved_case_and_it_is_reopened(as_, people):
    case = make_case(people, TO_ENG + ("accept", "complete"))
    act(as_("resident"), case, "reject", note="还是漏水")
    case = fresh(case)
    assert (case.status, case.reopen_count, case.supervisor_visit) == (Status.DISPATCHED, 1, True)
    page = html(as_("eng").get(f"/cases/{case.id}"))
    assert "还是漏水" in page.by_id("timeline").text


def test_reassign_shows_the_resident_a_transfer_but_not_its_reason(as_, people):
    case = make_case(people, TO_ENG)
    r = act(as_("manager"), case, "reassign", department_id=people["ref"]["sec"].id, note="内部备注：门禁系统")
    assert r.status_code == 302
    resident_page = html(as_("resident").get(f"/cases/{case.id}"))
    assert "reassign" in event_actions(resident_page)
    assert people["ref"]["sec"].name in resident_page.by_id("timeline").text
    assert "内部备注" not in resident_page.text
    clerk_page = html(as_("clerk").get(f"/cases/{case.id}"))
    assert "reassign" in event_actions(clerk_page)
    assert "内部备注：门禁系统" in clerk_page.by_id("timeline").text


# --- clerk ------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["0101", "1栋-0101", "张三", "phone"])
def test_clerk_finds_the_resident_by_unit_name_or_phone(as_, people, query):
    q = people["resident"].phone if query == "phone" else query
    r = as_("clerk").get("/desk/residents", query_string={"q": q})
    assert r.status_code == 200 and "<html" not in r.get_data(as_text=True)
    values = {n.attrs["value"] for n in html(r).all("input", name="resident_id")}
    assert values == {str(people["resident"].id)}


def test_resident_search_is_staff_only(as_):
    assert as_("resident").get("/desk/residents?q=0101").status_code == 403


def register_data(people, **extra):
    return {"resident_id": people["resident"].id, "kind": "complaint", "channel": "phone",
            "category_id": people["ref"]["water"].id, "severity": "", "location_type": "unit",
            "description": "来电：楼上漏水到卫生间", "request": "尽快处理", **extra}


def test_clerk_registers_a_case_for_a_resident_and_issues_a_receipt(as_, people):
    client = as_("clerk")
    r = post(client, "/desk/new", register_data(people, received_at="2025-05-01T08:30"))
    assert r.status_code == 302
    case = db.session.scalar(select(Case))
    assert case.resident_id == people["resident"].id
    assert case.registered_by_id == people["clerk"].id
    assert (case.channel, case.kind, case.status) == (Channel.PHONE, Kind.COMPLAINT, Status.REGISTERED)
    assert case.unit_id == people["resident"].unit_id and case.request == "尽快处理"
    assert case.received_at == datetime(2025, 5, 1, 0, 30, tzinfo=timezone.utc)  # 08:30 Shanghai
    assert case.number == "TS-20250501-0001"
    assert html(client.get(r.location)).one(data_testid="case-number").text.strip() == case.number


def test_misconduct_complaint_without_witnesses_or_evidence_is_refused_with_input_kept(as_, people):
    data = register_data(people, misconduct="y", subject="保安王某", description="保安态度恶劣，推搡业主")
    r = post(as_("clerk"), "/desk/new", data)
    assert r.status_code == 200
    assert db.session.scalar(select(Case)) is None
    page = html(r)
    assert page.field_container("witnesses").all("p", cls="error")
    assert textarea_value(page.by_id("description")) == "保安态度恶劣，推搡业主"
    assert page.by_id("subject").attrs["value"] == "保安王某"
    assert "checked" in page.by_id("misconduct").attrs


@pytest.mark.parametrize("proof", [{"evidence": "大堂监控 2025-05-01 20:10"}, {"witnesses": "邻居李四"}])
def test_misconduct_complaint_with_witnesses_or_evidence_is_registered(as_, people, proof):
    data = register_data(people, misconduct="y", subject="保安王某", description="保安态度恶劣", **proof)
    assert post(as_("clerk"), "/desk/new", data).status_code == 302
    case = db.session.scalar(select(Case))
    assert case.misconduct and case.subject == "保安王某"
    assert (case.witnesses, case.evidence) == (proof.get("witnesses", ""), proof.get("evidence", ""))
    assert html(as_("clerk").get(f"/cases/{case.id}")).by_id("case-body").text.count(next(iter(proof.values()))) == 1


def test_desk_registration_without_a_resident_needs_a_contact_name_and_place(as_, people):
    data = register_data(people, resident_id="", location_type="common", location="")
    r = post(as_("clerk"), "/desk/new", data)
    assert r.status_code == 200
    assert db.session.scalar(select(Case)) is None
    page = html(r)
    assert page.field_container("contact_name").all("p", cls="error")
    assert page.field_container("location").all("p", cls="error")


def test_resident_common_area_case_needs_the_place(as_, people):
    r = post(as_("resident"), "/cases/new", new_case_data(people, location_type="common", location=""))
    assert r.status_code == 200
    assert db.session.scalar(select(Case)) is None
    assert html(r).field_container("location").all("p", cls="error")


def test_clerk_classifies_replies_and_dispatches(as_, people):
    case = make_case(people)
    client = as_("clerk")
    act(client, case, "classify", category_id=people["ref"]["parking"].id, severity="important")
    act(client, case, "acknowledge", note="您好，我们已收到，会及时把处理结果通知您。")
    case = fresh(case)
    assert (case.category_id, case.severity, case.status) == \
        (people["ref"]["parking"].id, "important", Status.ACKNOWLEDGED)
    assert case.first_reply == "您好，我们已收到，会及时把处理结果通知您。"

    page = html(client.get(f"/cases/{case.id}"))
    select_el = page.by_id("dispatch-department_id")
    chosen = [o.attrs["value"] for o in select_el.all("option") if "selected" in o.attrs]
    assert chosen == [str(people["ref"]["sec"].id)], "the category's default department is preselected"

    act(client, case, "dispatch", department_id=people["ref"]["sec"].id, note="请今天处理")
    case = fresh(case)
    assert (case.status, case.department_id) == (Status.DISPATCHED, people["ref"]["sec"].id)


def test_first_reply_is_visible_to_the_resident(as_, people):
    case = make_case(people)
    act(as_("clerk"), case, "acknowledge", note="您好，已安排工程部核查")
    assert "您好，已安排工程部核查" in html(as_("resident").get(f"/cases/{case.id}")).by_id("case-body").text


def test_clerk_judges_a_case_invalid_and_the_resident_reads_the_reason(as_, people):
    case = make_case(people)
    act(as_("clerk"), case, "mark_invalid", note="属市政道路，非物业管理区域")
    case = fresh(case)
    assert (case.status, case.invalid_reason) == (Status.INVALID, "属市政道路，非物业管理区域")
    assert "属市政道路，非物业管理区域" in html(as_("resident").get(f"/cases/{case.id}")).by_id("case-body").text


def test_invalid_verdict_without_reason_shows_error_and_changes_nothing(as_, people):
    case = make_case(people)
    r = act(as_("clerk"), case, "mark_invalid", note="")
    assert r.status_code == 200
    assert html(r).field_container("mark_invalid-note").all("p", cls="error")
    assert fresh(case).status == Status.REGISTERED


def test_work_contact_slip_prints_three_numbered_copies(as_, people):
    case = make_case(people, TO_ENG)
    r = as_("clerk").get(f"/cases/{case.id}/slip")
    slips = html(r).all("section", cls="slip")
    assert len(slips) == 3
    assert all(case.number in s.text for s in slips)
    assert [s.one("p", cls="copy").text.split("·")[0].strip() for s in slips] == ["1/3", "2/3", "3/3"]
    assert as_("resident").get(f"/cases/{case.id}/slip").status_code == 403


# --- department -------------------------------------------------------------------------------

def test_department_queue_shows_only_its_own_cases(as_, people):
    ours = make_case(people, TO_ENG)
    theirs = make_case(people, ("classify",))
    perform(theirs, people["clerk"], "dispatch", {"department_id": people["ref"]["sec"].id})
    db.session.commit()
    page = html(as_("eng").get("/dept"))
    rows = {n.attrs["id"] for n in page.all("tr") if n.attrs.get("id", "").startswith("row-")}
    assert rows == {f"row-{ours.id}"}
    assert as_("eng").get(f"/cases/{theirs.id}").status_code == 404


def test_department_accepts_plans_and_resident_sees_the_plan(as_, people):
    case = make_case(people, TO_ENG)
    client = as_("eng")
    act(client, case, "accept")
    assert fresh(case).status == Status.IN_PROGRESS
    r = act(client, case, "plan", finding="立管锈穿", plan="关阀更换立管", promised_at="2030-01-02T10:30")
    assert r.status_code == 302
    case = fresh(case)
    assert (case.finding, case.plan) == ("立管锈穿", "关阀更换立管")
    assert case.promised_at == datetime(2030, 1, 2, 2, 30, tzinfo=timezone.utc)

    body = html(as_("resident").get(f"/cases/{case.id}")).by_id("case-body").text
    assert "立管锈穿" in body and "关阀更换立管" in body and "2030-01-02 10:30" in body


def test_plan_with_a_past_promised_time_is_refused_beside_the_field(as_, people):
    case = make_case(people, TO_ENG + ("accept",))
    r = act(as_("eng"), case, "plan", finding="立管锈穿", plan="更换", promised_at="2020-01-01T10:00")
    assert r.status_code == 200
    page = html(r)
    assert page.field_container("plan-promised_at").all("p", cls="error")
    assert textarea_value(page.by_id("plan-finding")) == "立管锈穿"
    assert fresh(case).promised_at is None


def test_department_reports_completion(as_, people):
    case = make_case(people, TO_ENG + ("accept",))
    act(as_("eng"), case, "complete", note="已更换立管，试水正常")
    case = fresh(case)
    assert (case.status, case.completion_note) == (Status.RESOLVED, "已更换立管，试水正常")
    assert case.resolved_at is not None


def test_department_marks_third_party_and_resident_sees_who_is_chased(as_, people):
    case = make_case(people, TO_ENG + ("accept",))
    act(as_("eng"), case, "third_party", third_party="供电局", note="片区检修停电，已催促恢复")
    case = fresh(case)
    assert (case.status, case.third_party) == (Status.THIRD_PARTY, "供电局")
    assert case.is_open
    body = html(as_("resident").get(f"/cases/{case.id}")).by_id("case-body").text
    assert "供电局" in body and "片区检修停电，已催促恢复" in body


def test_department_may_not_close(as_, people):
    case = make_case(people, TO_ENG + ("accept", "complete"))
    act(as_("eng"), case, "close")
    assert fresh(case).status == Status.RESOLVED


# --- manager ----------------------------------------------------------------------------------

def test_manager_reassigns_to_another_department(as_, people):
    case = make_case(people, TO_ENG + ("accept",))
    act(as_("manager"), case, "reassign", department_id=people["ref"]["sec"].id)
    case = fresh(case)
    assert (case.status, case.department_id) == (Status.DISPATCHED, people["ref"]["sec"].id)
    assert as_("eng").get(f"/cases/{case.id}").status_code == 404
    assert as_("sec").get(f"/cases/{case.id}").status_code == 200


def test_manager_overturns_an_invalid_verdict(as_, people):
    case = make_case(people, ("mark_invalid",))
    act(as_("clerk"), case, "overturn", note="不行")
    assert fresh(case).status == Status.INVALID
    act(as_("manager"), case, "overturn", note="属物业责任，重新处理")
    assert fresh(case).status == Status.ACKNOWLEDGED


def test_manager_closes_a_resolved_case(as_, people):
    case = make_case(people, TO_ENG + ("accept", "complete"))
    act(as_("clerk"), case, "close")
    assert fresh(case).status == Status.RESOLVED
    act(as_("manager"), case, "close")
    case = fresh(case)
    assert case.status == Status.CLOSED and case.closed_at is not None


def offered_phrases(client, case) -> list[str]:
    page = html(client.get(f"/cases/{case.id}"))
    return [b.attrs["data-insert"] for b in page.all("button", cls="chip")]


def test_manager_adds_a_phrase_and_it_is_offered_in_the_reply_form(as_, people):
    case = make_case(people)
    r = post(as_("manager"), "/admin/phrases", {"new-text": "您好!请问我们能为您做些什么?", "new-position": "0"})
    assert r.status_code == 302
    assert offered_phrases(as_("clerk"), case) == ["您好!请问我们能为您做些什么?", "我们会及时把处理结果通知您。"]


def test_manager_edits_and_retires_a_phrase(as_, people):
    case = make_case(people)
    phrase = db.session.scalar(select(Phrase))
    manager = as_("manager")
    r = post(manager, f"/admin/phrases/{phrase.id}",
             {f"p{phrase.id}-text": "您是否对处理结果感到满意?", f"p{phrase.id}-position": "1",
              f"p{phrase.id}-active": "y"})
    assert r.status_code == 302
    assert offered_phrases(as_("clerk"), case) == ["您是否对处理结果感到满意?"]
    post(manager, f"/admin/phrases/{phrase.id}",
         {f"p{phrase.id}-text": "您是否对处理结果感到满意?", f"p{phrase.id}-position": "1"})
    assert offered_phrases(as_("clerk"), case) == []
    db.session.expire_all()
    assert db.session.get(Phrase, phrase.id) is not None  # retired, never deleted


def test_phrase_settings_are_manager_only(as_, people):
    assert as_("clerk").get("/admin/phrases").status_code == 403
    r = post(as_("clerk"), "/admin/phrases", {"new-text": "x"})
    assert r.status_code == 403
    assert db.session.scalar(select(Phrase).where(Phrase.text == "x")) is None
