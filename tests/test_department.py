"""Department work (issue 15): notices of new and returned work, the case's technician, the queue's views."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.cases.lifecycle import TransitionError, allowed_actions, perform
from portal.extensions import db
from portal.models import Attachment, Notification, Role, Status
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import post
from tests.helpers import act, fresh, html, make_case, tiny_png

OPEN = ["classify", "dispatch"]


def notices(user, kind=None, channel=None) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    if channel:
        stmt = stmt.where(Notification.channel == channel)
    return list(db.session.scalars(stmt.order_by(Notification.id)))


@pytest.fixture
def crew(people):
    """The engineering department: its head, a technician, and the fixture's engineer."""
    eng = people["ref"]["eng"]
    head = factories.user(Role.DEPARTMENT, department=eng, name="刘强")
    head.department_head = True
    tech = factories.user(Role.DEPARTMENT, department=eng, name="黄磊")
    db.session.commit()
    return {"head": head, "tech": tech, "eng": people["eng"]}


# --- notices --------------------------------------------------------------------------------

def test_a_dispatched_case_notifies_the_departments_staff_in_app_at_once(people, crew):
    case = make_case(people, OPEN)
    for who in crew.values():
        [notice] = notices(who, "department_new", "inapp")
        assert notice.case_id == case.id and case.number in notice.subject and notice.status == "sent"
    assert not notices(people["sec"])  # another department hears nothing
    assert not notices(crew["tech"], channel="sms")  # a minor case: in-app only


def test_major_complaints_and_urgent_repairs_go_by_sms_too_once(people, crew):
    case = factories.case(people["resident"])
    perform(case, people["clerk"], "classify", {"category_id": people["ref"]["water"].id, "severity": "major"})
    event = perform(case, people["clerk"], "dispatch", {"department_id": people["ref"]["eng"].id})
    db.session.commit()
    [sms] = notices(crew["tech"], "department_new", "sms")
    assert sms.address == crew["tech"].phone
    # Idempotent: the same event's notice again adds no row.
    from portal.department.notices import notify_department
    notify_department("dispatch", case=case, user=people["clerk"], event=event)
    db.session.commit()
    assert len(notices(crew["tech"], "department_new")) == 2  # in-app and SMS, once each
    urgent = factories.case(people["resident"], kind="repair")
    perform(urgent, people["clerk"], "classify", {"category_id": people["ref"]["water"].id, "severity": "minor",
                                                  "urgent": True})
    perform(urgent, people["clerk"], "dispatch", {"department_id": people["ref"]["eng"].id})
    db.session.commit()
    assert [n.case_id for n in notices(crew["head"], "department_new", "sms")] == [case.id, urgent.id]


def test_returned_work_and_a_managers_instruction_notify_the_department(people, crew):
    case = make_case(people, OPEN + ["accept", "plan", "complete", "reject"])
    assert [n.case_id for n in notices(crew["tech"], "department_returned", "inapp")] == [case.id]
    perform(case, people["manager"], "instruct", {"note": "今天下班前完成"})
    db.session.commit()
    # The case is the accepting engineer's: the instruction goes to them and the head.
    assert notices(crew["eng"], "department_instruction") and notices(crew["head"], "department_instruction")
    assert not notices(crew["tech"], "department_instruction")
    assert "今天下班前完成" in notices(crew["eng"], "department_instruction")[0].body


def test_a_reassignment_notifies_the_new_department_only_who_see_the_case(people, elsewhere):
    case = make_case(people, OPEN)
    perform(case, people["manager"], "reassign", {"department_id": people["ref"]["sec"].id})
    db.session.commit()
    assert [n.case_id for n in notices(people["sec"], "department_new", "inapp")] == [case.id]
    # The security department is company-wide; its guard in the other estate does not see this case.
    assert not notices(elsewhere["sec"])
    assert fresh(case).assignee_id is None


def test_a_dissatisfied_callback_notifies_the_department(as_, people, crew):
    from tests.callback_helpers import record, tasks_of
    case = make_case(people, OPEN + ["accept", "plan", "complete"])
    record(as_("clerk"), tasks_of(case)[0], satisfaction="dissatisfied", shortcomings="还在漏水")
    [notice] = notices(crew["tech"], "department_returned", "inapp")
    assert notice.case_id == case.id and "还在漏水" in notice.body


def test_the_technician_opens_the_case_from_the_notice(as_, people, crew):
    case = make_case(people, OPEN)
    people["tech"] = crew["tech"]
    client = as_("tech")
    [notice] = notices(crew["tech"], "department_new", "inapp")
    response = post(client, f"/notifications/{notice.id}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.id}")
    db.session.expire_all()
    assert db.session.get(Notification, notice.id).read_at is not None


# --- the case's technician ------------------------------------------------------------------

def test_the_head_assigns_a_technician_others_may_not(people, crew):
    case = make_case(people, OPEN)
    assert "assign" in [a.name for a in allowed_actions(crew["head"], case)]
    assert "assign" not in [a.name for a in allowed_actions(crew["tech"], case)]
    with pytest.raises(TransitionError):
        perform(case, crew["tech"], "assign", {"assignee_id": crew["tech"].id})
    perform(case, crew["head"], "assign", {"assignee_id": crew["tech"].id})
    db.session.commit()
    assert fresh(case).assignee_id == crew["tech"].id
    [notice] = notices(crew["tech"], "department_assigned", "inapp")
    assert notice.case_id == case.id
    with pytest.raises(TransitionError):  # only the department's own staff
        perform(case, crew["head"], "assign", {"assignee_id": people["sec"].id})


def test_a_technician_takes_an_unassigned_case_once_and_hands_it_over(as_, people, crew):
    case = make_case(people, OPEN)
    people["tech"] = crew["tech"]
    response = act(as_("tech"), case, "take")
    assert response.status_code in (200, 302)
    assert fresh(case).assignee_id == crew["tech"].id
    assert "take" not in [a.name for a in allowed_actions(crew["eng"], fresh(case))]
    with pytest.raises(TransitionError):
        perform(fresh(case), crew["eng"], "take", {})  # a colleague was quicker
    db.session.rollback()
    # The technician hands it over; only they (the case's technician) are offered that.
    assert "hand_over" not in [a.name for a in allowed_actions(crew["eng"], fresh(case))]
    act(as_("tech"), case, "hand_over", assignee_id=str(crew["eng"].id), note="我今天休息")
    assert fresh(case).assignee_id == crew["eng"].id
    page = html(as_("tech").get(f"/cases/{case.id}"))  # still visible to the department
    assert crew["eng"].display_name in page.by_id("case-body").all("dl", cls="facts")[0].text


def _row_menu(client, case) -> list[str]:
    """The actions a queue row's menu offers (the fragment its "act" menu loads)."""
    menu = html(client.get(f"/board/rows/{case.id}/actions"))
    return [f.attrs["data-action"] for f in menu.all("form")]


def test_the_head_assigns_a_technician_from_the_queue_row(as_, people, crew):
    case = make_case(people, OPEN)
    people["head"] = crew["head"]
    head = as_("head")
    assert _row_menu(head, case) == ["accept", "take", "assign"]
    menu = html(head.get(f"/board/rows/{case.id}/actions"))
    form = menu.one("form", data_action="assign")
    names = [o.text for o in form.one("select").all("option")]
    assert crew["tech"].display_name in names and people["sec"].display_name not in names  # the department's own
    assert form.one("label", cls="row-field").text.strip().startswith("维修人员")  # a labelled field
    version = str(fresh(case).version_id)
    r = post(head, f"/cases/{case.id}/act/assign", {"assign-version": version, "assign-assignee_id": str(crew["tech"].id)},
             htmx_target=f"row-{case.id}")
    assert r.status_code == 200 and "<html" not in r.get_data(as_text=True)
    row = html(r).by_id(f"row-{case.id}")  # only the row is swapped, with the confirmation in it
    assert "row-updated" in row.classes and row.one("p", cls="notice").text
    assert row.one("small", cls="assignee").text == crew["tech"].display_name
    assert fresh(case).assignee_id == crew["tech"].id
    [notice] = notices(crew["tech"], "department_assigned", "inapp")
    assert notice.case_id == case.id


def test_a_wrong_choice_in_the_row_comes_back_beside_the_field_and_changes_nothing(as_, people, crew):
    case = make_case(people, OPEN)
    people["head"] = crew["head"]
    version = str(fresh(case).version_id)
    r = post(as_("head"), f"/cases/{case.id}/act/assign",
             {"assign-version": version, "assign-assignee_id": str(people["sec"].id)},  # another department
             htmx_target=f"row-{case.id}")
    row = html(r).by_id(f"row-{case.id}")
    form = row.one("form", data_action="assign")  # the row's form stays open with its message
    assert form.all("p", cls="error")
    assert fresh(case).assignee_id is None


def test_a_technician_takes_from_the_row_and_is_not_offered_to_assign(as_, people, crew):
    case = make_case(people, OPEN)
    people["tech"] = crew["tech"]
    tech = as_("tech")
    assert _row_menu(tech, case) == ["accept", "take"]
    version = str(fresh(case).version_id)
    refused = post(tech, f"/cases/{case.id}/act/assign",
                   {"assign-version": version, "assign-assignee_id": str(crew["tech"].id)},
                   htmx_target=f"row-{case.id}")
    assert html(refused).by_id(f"row-{case.id}").all("p", cls="error")  # only the head assigns
    assert fresh(case).assignee_id is None
    r = post(tech, f"/cases/{case.id}/act/take", {"take-version": version}, htmx_target=f"row-{case.id}")
    row = html(r).by_id(f"row-{case.id}")
    assert row.one("p", cls="notice").text and row.one("small", cls="assignee").text == crew["tech"].display_name
    assert fresh(case).assignee_id == crew["tech"].id
    assert _row_menu(tech, case) == ["accept"]  # taken: no 抢单 any more


def test_accepting_an_unassigned_case_takes_it(people, crew):
    case = make_case(people, OPEN)
    perform(case, crew["tech"], "accept", {})
    assert case.assignee_id == crew["tech"].id


# --- the queue --------------------------------------------------------------------------------

def _queue_numbers(client, **args) -> list[str]:
    page = html(client.get("/dept", query_string=args))
    return [a.text for a in page.by_id("case-table").all("a", cls="case-no")]


def test_new_work_comes_first_then_the_nearest_deadline(as_, people):
    old = make_case(people, OPEN + ["accept"])
    old.due_at = utcnow() - timedelta(days=50)  # long overdue, already being worked on
    later = make_case(people, OPEN + ["accept"])
    later.due_at = utcnow() + timedelta(days=3)
    new = make_case(people, OPEN)  # just dispatched: new work
    returned = make_case(people, OPEN + ["accept", "plan", "complete", "reject"])
    db.session.commit()
    order = _queue_numbers(as_("eng"))
    assert set(order[:2]) == {new.number, returned.number}
    assert order[2:] == [old.number, later.number]


def test_the_queue_views_mine_unassigned_all_and_done(as_, people, crew):
    people["tech"] = crew["tech"]
    mine = make_case(people, OPEN)
    perform(mine, crew["tech"], "take", {})
    free = make_case(people, OPEN)
    done = make_case(people, OPEN + ["accept", "plan", "complete"])
    db.session.commit()
    client = as_("tech")
    assert _queue_numbers(client, view="mine", status="open", sort="queue") == [mine.number]
    assert _queue_numbers(client, view="unassigned", status="open", sort="queue") == [free.number]
    assert set(_queue_numbers(client)) == {mine.number, free.number}  # all of the department, open
    assert _queue_numbers(client, view="done", sort="updated") == [done.number]
    page = html(client.get("/dept?view=mine&status=open&sort=queue"))
    tabs = page.one("nav", cls="queue-views").all("a")
    assert [t.attrs.get("aria-current") for t in tabs] == ["page", None, None, None]
    assert page.one("input", type="hidden", name="view").attrs["value"] == "mine"  # filters keep the view
    assert client.get("/dept?view=nonsense").status_code == 404
    # "mine" is the viewer's own: a colleague's list is not served from the technician's cache.
    assert _queue_numbers(as_("eng"), view="mine", status="open", sort="queue") == []


# --- on the phone: thumb, call, photos, the resident's confirmation -----------------------------

def test_the_confirmation_appears_beside_the_actions_and_is_brought_into_view(as_, people):
    case = make_case(people, OPEN)
    version = fresh(case).version_id
    response = post(as_("eng"), f"/cases/{case.id}/act/accept", {"accept-version": str(version)},
                    htmx_target="case-body")
    assert response.headers["HX-Reswap"] == "outerHTML show:#action-notice:top"
    body = html(response)
    assert body.by_id("case-actions").one(id="action-notice").text.strip()


def test_the_residents_number_is_a_call_button(as_, people):
    case = make_case(people, OPEN)
    eng = as_("eng")
    page = html(eng.get(f"/cases/{case.id}"))
    number = fresh(case).contact_phone
    assert number not in page.text  # masked until the call (portal.privacy)
    assert page.one(data_testid="masked-phone").text.strip() == f"{number[:3]}****{number[-4:]}"
    revealed = html(post(eng, f"/cases/{case.id}/phone", htmx_target=f"phone-{case.id}"))
    assert revealed.one("a", cls="call").attrs["href"] == f"tel:{number}"


def test_completion_takes_before_and_after_photos_and_the_residents_confirmation(as_, people):
    case = make_case(people, OPEN + ["accept"])
    version = fresh(case).version_id
    data = {"complete-version": str(version), "complete-note": "已更换水管",
            "complete-photos_before": (io.BytesIO(tiny_png()), "before.png"),
            "complete-photos": (io.BytesIO(tiny_png()), "after.png"),
            "complete-resident_present": "y", "complete-resident_confirmation": "张三"}
    post(as_("eng"), f"/cases/{case.id}/act/complete", data, content_type="multipart/form-data")
    case = fresh(case)
    assert case.status == Status.RESOLVED and case.confirmed_at is not None
    stages = {a.filename: a.stage for a in db.session.scalars(select(Attachment).where(Attachment.case_id == case.id))}
    assert stages == {"before.png": "before", "after.png": "after"}
    note = case.events[-1].note
    assert "张三" in note
    # The resident has confirmed on site: the online confirm/reject is not offered again.
    assert not {"confirm", "reject"} & {a.name for a in allowed_actions(people["resident"], case)}


def test_a_resident_present_must_type_their_name_and_nothing_typed_is_lost(as_, people):
    case = make_case(people, OPEN + ["accept"])
    version = fresh(case).version_id
    response = post(as_("eng"), f"/cases/{case.id}/act/complete",
                    {"complete-version": str(version), "complete-note": "已更换水管",
                     "complete-resident_present": "y"}, htmx_target="case-body")
    assert fresh(case).status == Status.IN_PROGRESS
    body = html(response)
    assert body.by_id("complete-resident_confirmation-error")
    assert "已更换水管" in body.by_id("complete-note").text
