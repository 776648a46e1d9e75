"""The access matrix's world: the dataset every cell asks about, and one shared copy for the GET cells.

A write may change the dataset, so each POST cell gets a fresh one (tests/test_access.py's `dataset`
fixture). A read changes nothing the matrix checks (and the matrix itself asserts that for every
outsider), so the GET cells share one app, one database and one dataset per test process
(`reads_world`): on PostgreSQL a database of its own, since other tests empty theirs after each test.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import config as portal_config
from portal import create_app
from portal.callbacks.links import make_token
from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import (
    Alert, Attachment, CallbackKind, CallbackPlan, CallbackTask, ImprovementAction, Notification, Phrase,
    Relation, ReportRun, RunStatus, SavedView, UnitClaim,
)
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import RequestScopedClient, _database_url, _empty_schema, _fresh_schema, make_elsewhere, make_people

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(scope="session")
def reads_world():
    """(app, people, elsewhere, dataset), built once per test process; its app context stays pushed
    under whatever other tests push, so the objects stay in one session."""
    folder = tempfile.mkdtemp(prefix="portal-access-reads-")
    config = portal_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = _database_url("_reads")
    config.UPLOAD_DIR = os.path.join(folder, "uploads")
    config.OUTBOX_DIR = os.path.join(folder, "outbox")
    app = create_app(config)
    app.test_client_class = RequestScopedClient
    context = app.app_context()
    context.push()
    try:
        _fresh_schema()
        if db.engine.dialect.name == "postgresql":
            _empty_schema()  # a run stopped half-way may have left rows
        people = make_people()
        elsewhere = make_elsewhere(people)
        yield app, people, elsewhere, make_dataset(app, people, elsewhere)
    finally:
        db.session.remove()
        _empty_schema()
        db.engine.dispose()
        context.pop()
        shutil.rmtree(folder, ignore_errors=True)


def make_dataset(app, people: dict, elsewhere: dict) -> dict:
    """other_resident's complaint, dispatched to security, with a stored photo; and one phrase."""
    clerk = people["clerk"]
    case = factories.case(people["other_resident"], category=people["ref"]["parking"],
                          description="车位被占用了。")
    perform(case, clerk, "classify", {"category_id": people["ref"]["parking"].id, "severity": "minor"})
    perform(case, clerk, "dispatch", {"department_id": people["ref"]["sec"].id})
    stored = "0123456789abcdef0123456789abcdef.png"
    upload_dir = app.config["UPLOAD_DIR"]
    os.makedirs(upload_dir, exist_ok=True)
    with open(os.path.join(upload_dir, stored), "wb") as fh:
        fh.write(PNG)
    att = Attachment(case=case, uploaded_by_id=people["other_resident"].id, filename="car.png",
                     content_type="image/png", size=len(PNG), stored_name=stored)
    db.session.add(att)
    db.session.commit()
    phrase = db.session.scalar(select(Phrase))
    # A failed SMS to the case's resident: only she may open it, only a manager may retry it.
    note = Notification(user_id=people["other_resident"].id, case_id=case.id, channel="sms", kind="resident_plan",
                        subject="测试", body="", address="13800000000", dedup_key="access-test",
                        status="failed", attempts=5)
    db.session.add(note)
    alert = Alert(case_id=case.id, rule="agitated", level=1, round=0, note="")  # for the escalation board
    db.session.add(alert)
    # A pending callback on the case (the owner's survey) and a draft callback plan.
    task = CallbackTask(kind=CallbackKind.COMPLAINT, case_id=case.id, resident_id=case.resident_id,
                        unit_id=case.unit_id, due_at=utcnow() + timedelta(days=3), reason="complaint")
    plan = CallbackPlan(year=2026, month=12)
    estate_id = people["ref"]["estate"].id
    run = ReportRun(month="2026-11", status=RunStatus.DONE, step=5, steps=5, estate_id=estate_id)
    improvement = ImprovementAction(month="2026-11", problem="回访不及时", action="增加回访人手", estate_id=estate_id)
    # A resident's claim of a unit, waiting for the desk.
    claim = UnitClaim(user_id=people["other_resident"].id, unit_id=people["ref"]["units"][0].id,
                      relation=Relation.TENANT)
    db.session.add_all([task, plan, run, improvement, claim])
    db.session.commit()
    with app.test_request_context():
        token = make_token(task)
    view = SavedView(user_id=people["clerk"].id, name="access", query="status=open")  # the clerk's own
    db.session.add(view)
    db.session.commit()
    return {"view": view, "case": case, "attachment": att, "phrase": phrase, "notification": note, "alert": alert,
            "task": task, "plan": plan, "token": token, "run": run, "improvement": improvement,
            "claim": claim, "admin": _administered(people), "integrations": _integrations(people, case)}


def _integrations(people, case) -> dict:
    """A key, a webhook subscription and one of its deliveries, all of the case's estate."""
    from portal.api.keys import issue
    from portal.models import WebhookSubscription
    estate = people["ref"]["estate"]
    key, _ = issue("热线", [estate], ["cases:read"], people["manager"])
    hook = WebhookSubscription(name="呼叫中心", url="http://127.0.0.1:9/hook", secret="s", events="case.created",
                               created_by=people["manager"], estates=[estate], active=False)
    db.session.add(hook)
    db.session.flush()
    delivery = Notification(user_id=people["manager"].id, case_id=case.id, channel="webhook", kind="case.created",
                            subject="case.created", body="{}", address=hook.url, dedup_key=f"wh:{hook.id}:evt_x",
                            status="failed", attempts=9)
    db.session.add(delivery)
    db.session.commit()
    return {"key_id": key.id, "hook_id": hook.id, "delivery_id": delivery.id}


def _administered(people) -> dict:
    """Rows of the administration screens that the manager administers (the reference estate)."""
    from datetime import date

    from portal.models import Department, Relation, Residency
    unit = people["ref"]["units"][1]
    estate = unit.building.estate
    people["manager"].estates = [estate]
    people["clerk"].estates = [estate]
    residency = Residency(unit_id=unit.id, user_id=people["other_resident"].id, relation=Relation.OWNER,
                          moved_in=date(2024, 1, 1))
    dept = Department(code="access-dept", name="访问测试部", estate=estate)
    db.session.add_all([residency, dept])
    db.session.commit()
    return {"estate_id": estate.id, "building_id": unit.building_id, "unit_id": unit.id,
            "resident_id": people["other_resident"].id, "residency_id": residency.id,
            "account_id": people["clerk"].id, "department_id": dept.id,
            "category_id": people["ref"]["water"].id}


def url_args(arguments: frozenset, data: dict) -> dict:
    values = {
        "case_id": data["case"].id,
        "attachment_id": data["attachment"].id,
        "name": "comment",
        "code": "en",
        "phrase_id": data["phrase"].id,
        "notification_id": data["notification"].id,
        "alert_id": data["alert"].id,
        "action": "instruct",
        "task_id": data["task"].id,
        "plan_id": data["plan"].id,
        "token": data["token"],
        "run_id": data["run"].id,
        "action_id": data["improvement"].id,
        "claim_id": data["claim"].id,
        "view_id": data["view"].id,
        "number": data["case"].number,
        **data["integrations"],
        **data["admin"],
    }
    unknown = arguments - values.keys()
    assert not unknown, f"tests/test_access.py has no sample value for URL argument(s) {unknown}; add one"
    return {k: values[k] for k in arguments}


