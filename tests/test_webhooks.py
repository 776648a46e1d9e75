"""Webhooks: signed events to a receiver on loopback that fails, times out and recovers; every event
arrives, a repeat only with the same event id; each attempt is logged."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification, WebhookAttempt, WebhookSubscription
from portal.notify.jobs import deliver, sweep
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import post


class Receiver:
    """An HTTP receiver on 127.0.0.1 whose next answers are scripted: 'ok', 'fail' (500) or 'slow'."""

    def __init__(self):
        self.script: list[str] = []
        self.received: list[dict] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                mode = receiver.script.pop(0) if receiver.script else "ok"
                receiver.received.append({"headers": dict(self.headers), "body": body, "mode": mode})
                if mode == "slow":
                    receiver.release.wait(5)
                self.send_response(500 if mode == "fail" else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def subscription(app, people, receiver):
    app.config["WEBHOOK_TIMEOUT"] = 0.5
    sub = WebhookSubscription(name="呼叫中心", url=receiver.url, secret="s3cret", created_by=people["manager"],
                              events="case.created,case.status_changed,callback.recorded,case.escalated",
                              estates=[people["ref"]["estate"]])
    db.session.add(sub)
    db.session.commit()
    return sub


def _rows():
    db.session.expire_all()
    return db.session.scalars(select(Notification).where(Notification.channel == "webhook")
                              .order_by(Notification.id)).all()


def test_events_are_signed_and_carry_id_and_timestamp(app, people, subscription, receiver):
    case = factories.case(people["resident"])
    db.session.commit()  # JOBS_SYNC: the delivery runs after the commit
    got = receiver.received[0]
    body = json.loads(got["body"])
    assert body["type"] == "case.created" and body["data"]["case"]["number"] == case.number
    assert body["id"].startswith("evt_") and body["created_at"]
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["x-portal-event-id"] == body["id"]
    expected = hmac.new(b"s3cret", headers["x-portal-timestamp"].encode() + b"." + got["body"],
                        hashlib.sha256).hexdigest()
    assert headers["x-portal-signature"] == f"sha256={expected}"
    assert people["resident"].phone not in got["body"].decode() and "张三" not in got["body"].decode()


def test_status_change_and_callback_events(app, people, subscription, receiver):
    case = factories.advance(factories.case(people["resident"]), ["classify", "dispatch"], people)
    db.session.commit()
    types = [json.loads(r["body"])["type"] for r in receiver.received]
    assert types == ["case.created", "case.status_changed"]
    assert json.loads(receiver.received[1]["body"])["data"]["to_status"] == "dispatched"
    assert case.number


def test_another_estates_events_are_not_sent(app, people, elsewhere, subscription, receiver):
    factories.case(elsewhere["resident"])
    db.session.commit()
    assert receiver.received == []


def test_failures_and_timeouts_are_retried_until_every_event_arrives(app, people, subscription, receiver):
    receiver.script = ["fail", "slow"]
    factories.case(people["resident"])
    db.session.commit()
    (row,) = _rows()
    assert row.status == "pending" and row.errors == 1  # 500: a failure, waits its back-off
    now = utcnow()
    for step in range(1, 4):
        deliver(row.id, at=now + timedelta(hours=step))
        row = _rows()[0]
        if row.status == "sent":
            break
    assert row.status == "sent"
    attempts = db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.notification_id == row.id)
                                  .order_by(WebhookAttempt.id)).all()
    assert [a.status_code for a in attempts][0] == 500 and attempts[1].error == "timeout"
    assert attempts[-1].status_code == 204
    ids = {json.loads(r["body"])["id"] for r in receiver.received}
    assert len(ids) == 1 and len(receiver.received) == 3  # repeats, always with the same event id


def test_a_failed_delivery_is_resent_by_a_manager(app, client, people, subscription, receiver):
    from portal.notify.jobs import retry_failed
    app.config["NOTIFY_RETRY_DELAYS"] = (1,)
    receiver.script = ["fail", "fail"]
    factories.case(people["resident"])
    db.session.commit()
    (row,) = _rows()
    deliver(row.id, at=utcnow() + timedelta(minutes=5))
    assert _rows()[0].status == "failed"
    assert retry_failed(row.id)
    db.session.commit()
    assert _rows()[0].status == "sent"


def test_a_manager_resends_a_delivery_and_pauses_the_subscription(app, people, subscription, receiver, as_):
    factories.case(people["resident"])
    db.session.commit()
    (row,) = _rows()
    deliver(row.id)
    assert len(receiver.received) == 1
    manager = as_("manager")
    page = manager.get(f"/admin/integrations/webhooks/{subscription.id}").get_data(as_text=True)
    assert f"/deliveries/{row.id}/resend" in page  # the button is offered beside the delivery
    assert post(manager, f"/admin/integrations/webhooks/{subscription.id}/deliveries/{row.id}/resend").status_code == 302
    assert len(receiver.received) == 2  # in-process jobs run at commit
    first, again = (json.loads(r["body"])["id"] for r in receiver.received)
    assert first == again  # the same event id: the receiver can drop the repeat
    assert post(manager, f"/admin/integrations/webhooks/{subscription.id}/toggle").status_code == 302
    db.session.refresh(subscription)
    assert subscription.active is False
    factories.case(people["resident"])
    db.session.commit()
    assert len(_rows()) == 1  # a paused subscription gets no new events
    assert sweep() == 0


def test_a_callback_with_no_case_behind_it_is_a_callback_recorded_event(app, people, subscription, receiver):
    from datetime import timedelta as _td
    from portal.callbacks.service import record_callback
    from portal.models import CallbackKind, CallbackTask, Role, TaskStatus
    resident = people["resident"]
    task = CallbackTask(kind=CallbackKind.ROUTINE, status=TaskStatus.PENDING, unit_id=resident.unit_id,
                        resident_id=resident.id, assignee_role=Role.CLERK, due_at=utcnow() + _td(days=2),
                        reason="routine")
    db.session.add(task)
    db.session.commit()
    record_callback(task, people["clerk"], {"method": "phone", "reached": True, "satisfaction": "satisfied"})
    db.session.commit()
    [got] = [json.loads(r["body"]) for r in receiver.received]
    assert got["type"] == "callback.recorded" and got["id"].startswith("evt_")
    assert got["data"]["callback"] == {"id": task.id, "kind": "routine", "estate": people["ref"]["estate"].name}
    assert got["data"]["outcome"] == "done"
    raw = receiver.received[0]["body"].decode()
    assert resident.phone not in raw and resident.unit.label not in raw  # public facts only


def test_scan_escalations_go_out_once_per_case_of_a_subscribed_estate(app, people, elsewhere, subscription,
                                                                       receiver):
    from portal.cases.lifecycle import record_escalations
    ours, theirs = factories.case(people["resident"]), factories.case(elsewhere["resident"])
    db.session.commit()
    receiver.received.clear()
    # Two notes for our case (two clocks missed in one scan) and one for another estate's case.
    record_escalations([(ours.id, "逾期"), (ours.id, "二级逾期"), (theirs.id, "逾期")], utcnow())
    db.session.commit()
    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert [(b["type"], b["data"]["case"]["number"], b["data"]["reason"]) for b in bodies] == [
        ("case.escalated", ours.number, "scan")]
