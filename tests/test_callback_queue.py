"""The callback queue: tabs, the task panel, who may open it, the demo's queue."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CallbackRecord, CallbackTask, Kind, Status, TaskStatus
from portal.timeutil import utcnow
from tests.helpers import fresh, html, make_case
from tests.callback_helpers import RESOLVE, resolved, tasks_of  # noqa: F401


# --- the queue -----------------------------------------------------------------------------

def test_queue_lists_the_task_with_its_reason_and_opens_it_without_leaving_the_page(as_, resolved):
    case, task = resolved
    client = as_("clerk")
    page = html(client.get("/callbacks"))
    item = page.by_id(f"task-{task.id}")
    assert case.number in item.text
    assert "每一件已解决的投诉" in item.text or "Every resolved complaint" in item.text
    link = item.one("a", cls="cb-open")
    assert link.attrs["hx-target"] == "#task-panel"
    panel = client.get(link.attrs["hx-get"], headers={"HX-Request": "true", "HX-Target": "task-panel"})
    body = panel.get_data(as_text=True)
    assert "<html" not in body and 'id="task-panel"' in body
    assert people_phone(case) in body and "更换管道" in body  # the contact and what was promised
    assert 'id="timeline"' in body


def people_phone(case):
    return fresh(case).contact_phone


def test_queue_tabs_filter_by_due_time(as_, people, resolved):
    case, task = resolved
    late = make_case(people, RESOLVE)
    late_task = tasks_of(late)[0]
    late_task.due_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    client = as_("clerk")
    overdue = html(client.get("/callbacks?tab=overdue"))
    assert overdue.all(id=f"task-{late_task.id}") and not overdue.all(id=f"task-{task.id}")
    upcoming = html(client.get("/callbacks?tab=upcoming"))
    assert upcoming.all(id=f"task-{task.id}") and not upcoming.all(id=f"task-{late_task.id}")
    fragment = client.get("/callbacks?tab=overdue", headers={"HX-Request": "true", "HX-Target": "callback-queue"})
    assert "<html" not in fragment.get_data(as_text=True)
    by_kind = html(client.get("/callbacks?kind=repair"))
    assert not by_kind.all(id=f"task-{task.id}")


def test_residents_and_departments_cannot_open_the_queue(as_):
    for who in ("resident", "eng"):
        assert as_(who).get("/callbacks").status_code == 403


def test_demo_seed_fills_the_queue_and_its_callback_done_cases_have_records(runner, client):
    from portal.models import Case, CallbackPlan, PlanStatus
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    pending = db.session.scalar(select(func.count(CallbackTask.id)).where(CallbackTask.status == TaskStatus.PENDING))
    assert pending > 20
    done_complaints = set(db.session.scalars(select(Case.id).where(Case.status == Status.CALLBACK_DONE,
                                                                   Case.kind == Kind.COMPLAINT)))
    with_record = set(db.session.scalars(select(CallbackRecord.case_id)))
    assert done_complaints and done_complaints <= with_record
    statuses = {p.status for p in db.session.scalars(select(CallbackPlan))}
    assert statuses == {PlanStatus.PUBLISHED, PlanStatus.DRAFT}
    counts = db.session.scalar(select(func.count(CallbackTask.id)))
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert db.session.scalar(select(func.count(CallbackTask.id))) == counts


def test_the_task_panel_offers_the_callback_phrases_with_placeholders_filled(as_, people, resolved):
    from portal.models import Phrase
    case, task = resolved
    db.session.add(Phrase(text="您好，这里是物业客服 {clerk}，回访案件 {case}。", position=0, use="callback"))
    db.session.add(Phrase(text="已完成维修，请验收。", position=0, use="completion"))
    db.session.commit()
    panel = html(as_("clerk").get(f"/callbacks/{task.id}", headers={"HX-Request": "true", "HX-Target": "task-panel"}))
    chips = panel.one(data_testid="phrases-callback").all("button")
    texts = [c.attrs["data-insert"] for c in chips]
    assert f"您好，这里是物业客服 {people['clerk'].display_name}，回访案件 {case.number}。" in texts
    assert "已完成维修，请验收。" not in texts  # a completion phrase is not offered for a callback
    note = panel.one("textarea", name="note")
    assert all(c.attrs["data-into"] == note.attrs["id"] for c in chips)
