"""Bulk actions: classify or dispatch several cases from the board; acknowledge escalations in bulk."""
from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import Alert, CaseEvent, Status
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import post
from tests.helpers import fresh, html, make_case


def bulk(client, ids, action, htmx=False, **fields):
    data = {"case_ids": [str(i) for i in ids], "action": action, **fields}
    return post(client, "/board/bulk", data, htmx_target="bulk-results" if htmx else None)


def test_bulk_classify_classifies_each_case_through_the_action_table(as_, people):
    a, b = make_case(people), make_case(people)
    a.urgent = True  # a bulk classification keeps each case's own flags
    db.session.commit()
    r = bulk(as_("clerk"), [a.id, b.id], "classify", category_id=people["ref"]["water"].id, severity="important")
    assert r.status_code == 200
    for case in (fresh(a), fresh(b)):
        assert case.category_id == people["ref"]["water"].id and case.severity.value == "important"
        events = db.session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id)).all()
        assert "classify" in events  # recorded by the lifecycle, like a single classification
    assert fresh(a).urgent is True
    results = html(r).by_id("bulk-results")
    assert "2 件中已完成 2 件" in results.text


def test_bulk_dispatch_reports_each_case_and_skips_the_unclassified(as_, people):
    ready = make_case(people, ["acknowledge", "classify"])
    raw = make_case(people)
    r = bulk(as_("clerk"), [ready.id, raw.id], "dispatch", htmx=True, department_id=0, note="今天处理")
    body = r.get_data(as_text=True)
    assert "<html" not in body and r.headers["HX-Trigger"] == "cases-changed"
    assert fresh(ready).status == Status.DISPATCHED
    assert fresh(ready).department_id == people["ref"]["eng"].id  # the category's default department
    assert fresh(raw).status == Status.REGISTERED
    page = html(r)
    assert "ok" in page.one("li", data_testid=f"bulk-{ready.number}").classes
    failed = page.one("li", data_testid=f"bulk-{raw.number}")
    assert "failed" in failed.classes and "派单前请先为案件分类" in failed.text


def test_bulk_action_never_reaches_another_estates_case(as_, people, elsewhere):
    theirs = factories.case(elsewhere["resident"])
    ours = make_case(people)
    db.session.commit()
    r = bulk(as_("clerk"), [theirs.id, ours.id], "classify", category_id=people["ref"]["water"].id, severity="minor")
    assert fresh(theirs).category_id is None
    assert fresh(ours).category_id == people["ref"]["water"].id
    page = html(r)
    assert theirs.number not in r.get_data(as_text=True)
    assert "未找到" in page.one("li", data_testid=f"bulk-#{theirs.id}").text


def test_bulk_without_a_selection_says_so(as_, people):
    r = bulk(as_("clerk"), [], "classify")
    assert r.status_code == 200 and "请至少选择一个案件" in r.get_data(as_text=True)


def test_a_refused_bulk_form_comes_back_open_with_what_was_typed(as_, people):
    """Without htmx the whole board comes back: the submitted form (not the kept empty one), open, its
    message beside it, the instruction and the chosen department kept."""
    clerk = as_("clerk")
    clerk.get("/board")  # the empty bulk form is kept now (reference stamp)
    eng = str(people["ref"]["eng"].id)
    form = html(bulk(clerk, [], "dispatch", note="请带梯子", department_id=eng)).by_id("bulk")
    assert "open" in form.one("details").attrs
    assert form.one("input", name="note").attrs["value"] == "请带梯子"
    chosen = [o.attrs["value"] for o in form.one("select", name="department_id").all("option") if "selected" in o.attrs]
    assert chosen == [eng]
    page = html(bulk(clerk, [], "dispatch", note="请带梯子"))
    assert "请至少选择一个案件" in page.by_id("bulk-results").text
    empty = html(clerk.get("/board")).by_id("bulk")  # the next board shows the empty form again
    assert "open" not in empty.one("details").attrs and not empty.one("input", name="note").attrs.get("value")


def test_rows_carry_a_checkbox_for_the_bulk_form(as_, people):
    case = make_case(people)
    page = html(as_("clerk").get("/board"))
    box = page.one("input", data_testid=f"select-{case.number}")
    assert box.attrs["form"] == "bulk" and box.attrs["value"] == str(case.id)
    assert page.by_id("bulk").attrs["action"] == "/board/bulk"


def major_alert(people) -> Alert:
    case = make_case(people)
    perform(case, people["clerk"], "classify", {"category_id": people["ref"]["water"].id, "severity": "major"})
    db.session.commit()
    return db.session.scalar(select(Alert).where(Alert.case_id == case.id, Alert.rule == "major"))


def test_bulk_acknowledge_acknowledges_the_selected_escalations(as_, people):
    first, second, untouched = major_alert(people), major_alert(people), major_alert(people)
    ids = [first.id, second.id]
    r = post(as_("manager"), "/escalations/acknowledge", {"alert_ids": [str(i) for i in ids], "note": "已阅"},
             follow_redirects=True)
    assert "已确认 2 条升级提醒" in r.get_data(as_text=True)
    db.session.expire_all()
    for alert_id in ids:
        alert = db.session.get(Alert, alert_id)
        assert alert.acknowledged_by_id == people["manager"].id and alert.note == "已阅"
    assert db.session.get(Alert, untouched.id).acknowledged_at is None
    # Again: nothing new, and said so.
    r = post(as_("manager"), "/escalations/acknowledge", {"alert_ids": [str(ids[0])]}, follow_redirects=True)
    assert "1 条此前已被确认" in r.get_data(as_text=True)


def test_bulk_acknowledge_skips_escalations_of_another_estate(as_, people, elsewhere):
    theirs = factories.case(elsewhere["resident"])
    perform(theirs, elsewhere["clerk"], "classify",
            {"category_id": people["ref"]["water"].id, "severity": "major"})
    db.session.commit()
    alert = db.session.scalar(select(Alert).where(Alert.case_id == theirs.id))
    from tests.conftest import login_as
    client = as_("clerk").application.test_client()
    login_as(client, elsewhere["manager_here"])
    r = post(client, "/escalations/acknowledge", {"alert_ids": [str(alert.id)]}, follow_redirects=True)
    assert "1 条未找到" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Alert, alert.id).acknowledged_at is None


def test_escalation_rows_show_how_long_the_deadline_is_overdue_not_the_rows_age(as_, people):
    alert = major_alert(people)
    with time_machine.travel(utcnow() + timedelta(days=3), tick=False):
        alert.due_at = utcnow() - timedelta(days=2, hours=4)  # missed two days ago; the row is three days old
        db.session.commit()
        page = html(as_("manager").get("/escalations"))
    assert page.one("td", cls="overdue-for").text.strip() == "已超时2天4小时"
    assert "已超时" in [th.text.strip() for th in page.all("th")]
