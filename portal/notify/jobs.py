"""Delivery jobs: claim a row, record the attempt, send, mark it sent — once as far as the recipient can tell.

- Every attempt at one notification carries the same id (the e-mail Message-ID, the SMS
  gateway's out-id), so a copy sent twice is recognisable as one message.
- The attempt is committed *before* the send (`attempt_id`, `claimed_at`): a worker that
  dies between sending and recording leaves the row 'sending' with a claim older than the
  lease; the next attempt knows one was under way and resends with the same id (a file
  backend sees its file and just records the delivery).
- A failure waits out a back-off on the attempt count (`NOTIFY_RETRY_DELAYS`: minutes to
  hours) before the sweep offers it again; an unknown outcome (a timeout after the message
  was handed over) is retried the same way and never counts towards giving up. After the
  last delay a row is 'failed' and waits for a manager (one row, or in bulk).
- Jobs never raise for a delivery error: the back-off, not the job queue, decides retries.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from blinker import Namespace
from flask import current_app
from sqlalchemy import and_, or_, update

from portal.extensions import db
from portal.jobs import after_commit, enqueue_now
from portal.models import Notification
from portal.notify import backends
from portal.timeutil import utcnow

log = logging.getLogger("portal.notify")

# Sent after a notification is delivered, with its kind as sender and `notification`;
# areas connect their subscribers when the app is built.
delivered = Namespace().signal("notification-delivered")


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])


def max_errors() -> int:
    """A row fails for good after one attempt per back-off delay, plus the first."""
    return len(current_app.config["NOTIFY_RETRY_DELAYS"]) + 1


def next_attempt(errors: int, at: datetime) -> datetime:
    """When to try again after `errors` failed (or unknown) attempts."""
    delays = current_app.config["NOTIFY_RETRY_DELAYS"]
    return at + timedelta(seconds=delays[min(max(errors, 1), len(delays)) - 1])


def _due(now: datetime):
    """Rows an attempt may take now: pending and past their back-off, or a dead worker's claim."""
    return or_(
        and_(Notification.status == "pending",
             or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now)),
        and_(Notification.status == "sending", Notification.claimed_at < now - _lease()),
    )


def _claim(notification_id: int, now: datetime) -> str | None:
    """Take the row for one attempt and commit that before sending; the attempt's id, or None."""
    attempt = secrets.token_hex(8)
    result = db.session.execute(
        update(Notification).where(Notification.id == notification_id, _due(now))
        .values(status="sending", claimed_at=now, attempts=Notification.attempts + 1, attempt_id=attempt)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return attempt if result.rowcount == 1 else None


def deliver(notification_id: int, at: datetime | None = None) -> str:
    """One attempt at one notification if it is due; returns its status afterwards."""
    now = at or utcnow()
    attempt = _claim(notification_id, now)
    n = db.session.get(Notification, notification_id)
    if attempt is None:
        return n.status if n else "missing"
    try:
        if n.attempts > 1 and backends.already_delivered(n):
            log.info("notification %s: an earlier attempt had delivered it", n.id)
        else:
            backends.deliver(n)
    except backends.DeliveryUnknown as exc:
        return _retry_later(n, attempt, f"unknown: {exc}", counts=False, now=now)
    except Exception as exc:  # noqa: BLE001 - any backend failure is recorded on the row
        return _retry_later(n, attempt, str(exc), counts=True, now=now)
    n.status, n.sent_at, n.last_error, n.next_attempt_at = "sent", utcnow(), "", None
    after_delivery(n)
    db.session.commit()
    return "sent"


def _retry_later(n: Notification, attempt: str, error: str, counts: bool, now: datetime) -> str:
    log.warning("notification %s attempt %s: %s", n.id, attempt, error)
    n.last_error = error[:500]
    n.errors = (n.errors or 0) + (1 if counts else 0)
    done = n.errors >= max_errors() or n.attempts >= 2 * max_errors()
    n.status = "failed" if done else "pending"
    n.claimed_at = None
    n.next_attempt_at = None if done else next_attempt(n.attempts, now)
    db.session.commit()
    return n.status


def after_delivery(n: Notification) -> None:
    """Tell the subscribers (e.g. the invalid-notice deadline) that a notice went out; the caller commits."""
    delivered.send(n.kind, notification=n)


def deliver_many(ids: list[int]) -> dict[str, int]:
    """Deliver a batch; a failed row waits for its back-off (the job itself succeeds)."""
    counts: dict[str, int] = {}
    for notification_id in ids:
        try:
            status = deliver(notification_id)
        except Exception:  # the database went away mid-batch: the sweep offers the rest again
            db.session.rollback()
            log.exception("delivery of notification %s did not complete", notification_id)
            status = "error"
        counts[status] = counts.get(status, 0) + 1
    return counts


def sweep(limit: int = 500, at: datetime | None = None) -> int:
    """Offer again rows whose back-off has passed, whose enqueue was lost, or whose worker died."""
    now = at or utcnow()
    fresh = and_(Notification.status == "pending", Notification.next_attempt_at.is_(None),
                 Notification.created_at >= now - _lease())  # just queued: its own job is on the way
    ids = list(db.session.scalars(
        db.select(Notification.id).where(_due(now), ~fresh).order_by(Notification.id).limit(limit)))
    for start in range(0, len(ids), 100):
        enqueue_now("portal.notify.jobs.deliver_many", ids[start:start + 100], queue="portal-notify")
    return len(ids)


def _reset(stmt) -> list[int]:
    ids = list(db.session.scalars(stmt))
    if ids:
        db.session.execute(update(Notification).where(Notification.id.in_(ids))
                           .values(status="pending", attempts=0, errors=0, claimed_at=None, next_attempt_at=None)
                           .execution_options(synchronize_session="fetch"))
        for start in range(0, len(ids), 100):
            after_commit("portal.notify.jobs.deliver_many", ids[start:start + 100], queue="portal-notify")
    return ids


def retry_failed(notification_id: int) -> bool:
    """A manager's retry of one failed delivery (the caller commits)."""
    return bool(_reset(db.select(Notification.id).where(Notification.id == notification_id,
                                                        Notification.status == "failed")))


def reason_of(error: str) -> str:
    """The group a failure belongs to for bulk retries: the text before the first colon."""
    return (error or "").split(":", 1)[0].strip()[:40]


def retry_failed_bulk(channel: str = "", reason: str = "", scope=None) -> int:
    """A manager's retry of every failed delivery, or those of one channel and/or reason, within `scope`
    (a SQL condition: the manager's estates, portal.access.notifications_clause); the caller commits."""
    stmt = db.select(Notification.id).where(Notification.status == "failed")
    if scope is not None:
        stmt = stmt.where(scope)
    if channel:
        stmt = stmt.where(Notification.channel == channel)
    if reason:
        stmt = stmt.where(or_(Notification.last_error == reason,
                              Notification.last_error.startswith(reason + ":", autoescape=True)))
    return len(_reset(stmt))
