"""Deliveries back off on failure, treat an unknown outcome as unknown, and are retried in bulk."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification
from portal.notify import jobs
from portal.notify.outbox import notify
from portal.timeutil import utcnow
from tests.conftest import post
from tests.helpers import html
from tests.smtp_sink import SmtpSink


def _queue(app, people, key="retry:1", **config) -> Notification:
    app.config.update(config)
    people["manager"].email = "boss@example.com"
    ids = notify([people["manager"]], "escalation", "[TS1] 首次回复超时", "请处理", key)
    db.session.commit()
    return db.session.scalars(select(Notification).where(Notification.id.in_(ids),
                                                         Notification.channel == "email")).one()


def test_a_failure_waits_out_its_back_off(app, people):
    n = _queue(app, people, MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=1,
               NOTIFY_RETRY_DELAYS=(60, 600))
    db.session.refresh(n)
    assert (n.status, n.attempts, n.errors) == ("pending", 1, 1)
    assert n.claimed_at is None and n.next_attempt_at > utcnow() + timedelta(seconds=50)
    assert jobs.deliver(n.id) == "pending"          # too early: no attempt is spent
    assert jobs.sweep() == 0                          # and the sweep does not add one
    db.session.refresh(n)
    assert n.attempts == 1
    n.next_attempt_at = utcnow() - timedelta(seconds=1)   # the minute has passed
    db.session.commit()
    assert jobs.sweep() == 1                          # JOBS_SYNC: the attempt runs during the sweep
    db.session.refresh(n)
    assert (n.status, n.attempts, n.errors) == ("pending", 2, 2)
    assert n.next_attempt_at > utcnow() + timedelta(seconds=500)   # the second, longer delay


def test_after_the_last_delay_the_row_fails_for_good(app, people):
    n = _queue(app, people, MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=1, NOTIFY_RETRY_DELAYS=(1,))
    later = utcnow() + timedelta(seconds=5)
    assert jobs.deliver(n.id, at=later) == "failed"
    db.session.refresh(n)
    assert (n.status, n.attempts, n.errors, n.next_attempt_at) == ("failed", 2, 2, None)


def test_the_back_off_grows_to_hours():
    from portal.config import Config
    delays = Config.NOTIFY_RETRY_DELAYS
    assert list(delays) == sorted(delays) and sum(delays) >= 4 * 3600


def test_a_timeout_after_the_message_was_handed_over_is_unknown_and_resent_with_the_same_id(app, people):
    with SmtpSink("slow", hang_seconds=3) as sink:
        n = _queue(app, people, MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port,
                   SMTP_TIMEOUT=0.5, NOTIFY_RETRY_DELAYS=(1, 1))
        db.session.refresh(n)
        assert n.status == "pending" and n.last_error.startswith("unknown:")
        assert n.errors == 0                      # not a plain failure
        sink.mode = "ok"
        assert jobs.deliver(n.id, at=utcnow() + timedelta(seconds=5)) == "sent"
        ids = sink.message_ids()
    assert len(ids) == 2 and ids[0] == ids[1]     # a duplicate the mail client can drop


def test_a_refusing_server_is_a_plain_failure(app, people):
    with SmtpSink("refuse") as sink:
        n = _queue(app, people, MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port)
        db.session.refresh(n)
    assert n.status == "pending" and n.errors == 1 and not n.last_error.startswith("unknown")


def test_a_crash_between_sending_and_recording_is_recognised(app, people):
    """The file was written, the worker died before its commit: the next attempt only records it."""
    n = _queue(app, people)
    db.session.refresh(n)
    path = Path(app.config["OUTBOX_DIR"]) / f"email-{n.id}.eml"
    stamp = path.stat().st_mtime_ns
    n.status, n.sent_at, n.claimed_at = "sending", None, utcnow() - timedelta(hours=1)
    db.session.commit()
    assert jobs.deliver(n.id) == "sent"
    assert path.stat().st_mtime_ns == stamp       # not written again
    db.session.refresh(n)
    assert n.attempts == 2


def test_a_batch_job_does_not_raise_for_a_failed_row(app, people):
    n = _queue(app, people, MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=1)
    db.session.refresh(n)
    n.next_attempt_at = None
    db.session.commit()
    assert jobs.deliver_many([n.id]) == {"pending": 1}


def _fail(n: Notification, error: str) -> None:
    n.status, n.last_error, n.errors = "failed", error, 9


def test_managers_retry_failed_rows_in_bulk_by_channel_and_reason(app, people, as_):
    people["manager"].email = "boss@example.com"
    people["clerk"].email = "clerk@example.com"
    app.config["MAIL_BACKEND"] = "console"
    notify([people["manager"], people["clerk"]], "escalation", "超时", "", "bulk:1")
    db.session.commit()
    rows = db.session.scalars(select(Notification).where(Notification.channel != "inapp")).all()
    for n in rows:
        _fail(n, "SMTP: refused" if n.channel == "email" else "outbox: disk full")
    db.session.commit()
    manager = as_("manager")
    page = html(manager.get("/admin/outbox"))
    assert page.all("form", action="/admin/outbox/retry")
    r = post(manager, "/admin/outbox/retry", {"channel": "sms", "reason": ""})
    assert r.status_code == 302
    statuses = {n.id: n.status for n in db.session.scalars(select(Notification).where(Notification.channel != "inapp"))}
    sms_ids = {n.id for n in rows if n.channel == "sms"}
    assert all(statuses[i] == "sent" for i in sms_ids)
    assert all(statuses[n.id] == "failed" for n in rows if n.channel == "email")
    post(manager, "/admin/outbox/retry", {"channel": "", "reason": "SMTP"})
    assert db.session.scalar(select(db.func.count()).select_from(Notification)
                             .where(Notification.status == "failed")) == 0
