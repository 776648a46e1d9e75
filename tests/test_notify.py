"""The outbox: a row first, delivered once, failures visible to managers and retryable; the bell."""
from __future__ import annotations

import os

from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification
from portal.notify import jobs as notify_jobs
from portal.notify.outbox import notify
from tests.conftest import htmx_get, post
from tests.helpers import html


def _email_to(people, app, **config):
    app.config.update(config)
    people["manager"].email = "boss@example.com"
    ids = notify([people["manager"]], "escalation", "[TS1] 首次回复超时", "请处理", "test:1")
    db.session.commit()
    return db.session.scalars(select(Notification).where(Notification.id.in_(ids))).all()


def test_email_is_written_once_and_marked_sent(app, people):
    rows = _email_to(people, app)
    email = next(n for n in rows if n.channel == "email")
    db.session.refresh(email)
    assert email.status == "sent" and email.attempts == 1
    path = os.path.join(app.config["OUTBOX_DIR"], f"email-{email.id}.eml")
    with open(path, encoding="utf-8") as fh:
        assert "boss@example.com" in fh.read()
    assert notify_jobs.deliver(email.id) == "sent"      # a repeated job sends nothing
    db.session.refresh(email)
    assert email.attempts == 1


def test_a_failed_delivery_stays_visible_and_can_be_retried(app, people, as_):
    rows = _email_to(people, app, MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=1, NOTIFY_RETRY_DELAYS=())
    email = next(n for n in rows if n.channel == "email")
    db.session.refresh(email)
    assert email.status == "failed" and "SMTP" in email.last_error
    manager = as_("manager")
    page = html(manager.get("/admin/outbox"))
    assert "boss@example.com" not in page.text  # addresses stay inside; the person's name is shown
    assert page.all("form", action=f"/admin/outbox/{email.id}/retry")
    app.config["MAIL_BACKEND"] = "file"
    response = post(manager, f"/admin/outbox/{email.id}/retry")
    assert response.status_code == 302
    db.session.refresh(email)
    assert email.status == "sent"
    assert os.path.exists(os.path.join(app.config["OUTBOX_DIR"], f"email-{email.id}.eml"))


def test_a_claim_older_than_the_lease_is_taken_over(app, people):
    """What a worker killed mid-delivery leaves behind: 'sending' with a stale claim."""
    from datetime import timedelta

    from portal.timeutil import utcnow
    rows = _email_to(people, app, MAIL_BACKEND="console")
    sms = next(n for n in rows if n.channel == "sms")
    sms.status, sms.claimed_at, sms.sent_at = "sending", utcnow() - timedelta(hours=1), None
    db.session.commit()
    assert notify_jobs.sweep() == 1                       # JOBS_SYNC: delivered during the sweep
    db.session.refresh(sms)
    assert sms.status == "sent" and sms.attempts == 2  # the dead worker's attempt, then this one


def test_a_fresh_claim_is_left_alone(app, people):
    from portal.timeutil import utcnow
    rows = _email_to(people, app, MAIL_BACKEND="console")
    sms = next(n for n in rows if n.channel == "sms")
    sms.status, sms.claimed_at = "sending", utcnow()
    db.session.commit()
    assert notify_jobs.deliver(sms.id) == "sending"


def test_bell_shows_the_unread_count_and_reading_clears_it(as_, people):
    notify([people["clerk"]], "reminder", "[TS1] 期限将至", "", "test:bell")
    db.session.commit()
    clerk = as_("clerk")
    bell = html(htmx_get(clerk, "/notifications/bell", "bell"))
    assert bell.one(cls="bell-count").text.strip() == "1"
    inbox = html(clerk.get("/notifications"))
    assert "期限将至" in inbox.text
    response = post(clerk, "/notifications/read-all")
    assert response.status_code == 302
    assert not html(htmx_get(clerk, "/notifications/bell", "bell")).all(cls="bell-count")


def test_nobody_opens_someone_elses_notification(as_, people):
    ids = notify([people["clerk"]], "reminder", "[TS1] 期限将至", "", "test:mine")
    db.session.commit()
    assert post(as_("eng"), f"/notifications/{ids[0]}/open").status_code == 404
