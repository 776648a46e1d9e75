"""Delivery jobs: claim a row, send it, mark it sent — exactly once per row.

A worker that dies mid-delivery leaves the row 'sending' with a claim older than
the lease; the sweep hands it to a new job. A row already sent is never sent again.
"""
from __future__ import annotations

from datetime import timedelta

from blinker import Namespace
from flask import current_app
from sqlalchemy import and_, or_, update

from portal.extensions import db
from portal.jobs import enqueue_now
from portal.models import Notification
from portal.notify import backends
from portal.timeutil import utcnow

# Sent after a notification is delivered, with its kind as sender and `notification`;
# areas connect their subscribers when the app is built.
delivered = Namespace().signal("notification-delivered")


def _claim(notification_id: int) -> bool:
    now = utcnow()
    lease = timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id,
               or_(Notification.status == "pending",
                   and_(Notification.status == "sending", Notification.claimed_at < now - lease)))
        .values(status="sending", claimed_at=now, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver(notification_id: int) -> str:
    """Deliver one notification if nobody has; returns its final status."""
    if not _claim(notification_id):
        n = db.session.get(Notification, notification_id)
        return n.status if n else "missing"
    n = db.session.get(Notification, notification_id)
    try:
        backends.deliver(n)
    except Exception as exc:
        n.last_error = str(exc)[:500]
        n.status = "failed" if n.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"] else "pending"
        n.claimed_at = None
        db.session.commit()
        raise
    n.status, n.sent_at, n.last_error = "sent", utcnow(), ""
    after_delivery(n)
    db.session.commit()
    return "sent"


def after_delivery(n: Notification) -> None:
    """Tell the subscribers (e.g. the invalid-notice deadline) that a notice went out; the caller commits."""
    delivered.send(n.kind, notification=n)


def deliver_many(ids: list[int]) -> dict[str, int]:
    """Deliver a batch; if any failed, raise after trying all so RQ retries the batch."""
    counts: dict[str, int] = {}
    failed = None
    for notification_id in ids:
        try:
            status = deliver(notification_id)
        except Exception as exc:
            failed, status = exc, "error"
        counts[status] = counts.get(status, 0) + 1
    if failed is not None:
        raise failed
    return counts


def sweep(limit: int = 500) -> int:
    """Re-enqueue rows left pending (enqueue lost) or stuck 'sending' past the lease."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["NOTIFY_LEASE_SECONDS"])
    ids = list(db.session.scalars(
        db.select(Notification.id).where(
            or_(and_(Notification.status == "pending", Notification.created_at < now - lease),
                and_(Notification.status == "sending", Notification.claimed_at < now - lease)))
        .order_by(Notification.id).limit(limit)
    ))
    for start in range(0, len(ids), 100):
        enqueue_now("portal.notify.jobs.deliver_many", ids[start:start + 100], queue="portal-notify")
    return len(ids)


def retry_failed(notification_id: int) -> bool:
    """A manager's retry of a failed delivery (the caller commits)."""
    n = db.session.get(Notification, notification_id)
    if n is None or n.status != "failed":
        return False
    n.status, n.attempts, n.claimed_at = "pending", 0, None
    from portal.jobs import after_commit
    after_commit("portal.notify.jobs.deliver_many", [n.id], queue="portal-notify")
    return True
