"""Putting notifications in the outbox: rows first, delivery jobs after commit."""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import force_locale

from portal.extensions import db, insert_new
from portal.jobs import after_commit
from portal.messages import is_message, locale_of, render
from portal.models import Notification, User
from portal.timeutil import utcnow

BATCH = 100


def channels_for(user: User, kind: str, sms: bool = False) -> list[tuple[str, str]]:
    """(channel, address) pairs: in-app always, e-mail where the person has one; for residents' notices,
    escalations and where the sender asks for it (`sms`: urgent work), WeChat where they linked the
    service account, else SMS to their mobile."""
    pairs = [("inapp", "")]
    if user.email:
        pairs.append(("email", user.email))
    if sms or kind.startswith("resident_") or kind == "escalation":
        if user.wechat_openid and current_app.config.get("WECHAT_APP_ID"):
            pairs.append(("wechat", user.wechat_openid))  # free, and in the app they already use
        elif user.phone:
            pairs.append(("sms", user.phone))
    return pairs


def _insert_ignoring_duplicates(rows: list[dict]) -> list[tuple[int, str]]:
    """Insert outbox rows; a row whose (dedup_key, user, channel) exists is skipped."""
    return [(r.id, r.channel) for r in insert_new(db.session, Notification.__table__, rows,
                                                  ["dedup_key", "user_id", "channel"], ["id", "channel"])]


def queue_rows(rows: list[dict]) -> list[int]:
    """Insert and schedule delivery of everything that is not in-app; returns new ids."""
    for row in rows:
        if row["channel"] == "inapp":
            row["status"], row["sent_at"] = "sent", row["created_at"]
    created = _insert_ignoring_duplicates(rows)
    pending = [i for i, channel in created if channel != "inapp"]
    for start in range(0, len(pending), BATCH):
        after_commit("portal.notify.jobs.deliver_many", pending[start:start + BATCH], queue="portal-notify")
    return [i for i, _ in created]


def row(user: User, channel: str, address: str, kind: str, subject: str, body: str, dedup_key: str,
        case_id: int | None = None, alert_id: int | None = None, now: datetime | None = None,
        subject_msg=None, body_msg=None) -> dict:
    """One outbox row; `subject` and `body` as sent (the recipient's language), `*_msg` the message items
    (portal.messages) the in-app list renders in its reader's language."""
    return {
        "user_id": user.id, "channel": channel, "address": address, "kind": kind,
        "subject": subject[:200], "body": body, "dedup_key": dedup_key[:80], "case_id": case_id,
        "subject_msg": subject_msg if is_message(subject_msg) else None,
        "body_msg": body_msg if is_message(body_msg) else None,
        "alert_id": alert_id, "status": "pending", "attempts": 0, "errors": 0,
        "attempt_id": "", "next_attempt_at": None, "last_error": "",
        "created_at": now or utcnow(), "claimed_at": None, "sent_at": None, "read_at": None,
    }


def notify(users, kind: str, subject, body, dedup_key: str, case_id: int | None = None,
           alert_id: int | None = None, sms: bool = False) -> list[int]:
    """Notify people on every channel they have (the caller commits); `sms`: by SMS too.

    `subject` and `body`: text, or message items (portal.messages) written in each recipient's language."""
    now = utcnow()
    db.session.flush()
    texts: dict[str, tuple[str, str]] = {}
    rows = []
    for u in users:
        if u is None or not u.active:
            continue
        locale = locale_of(u)
        if locale not in texts:
            with force_locale(locale):
                texts[locale] = (render(subject), render(body))
        for channel, address in channels_for(u, kind, sms):
            rows.append(row(u, channel, address, kind, *texts[locale], dedup_key, case_id, alert_id, now,
                            subject_msg=subject, body_msg=body))
    return queue_rows(rows)


def unread_count(user: User) -> int:
    """Unread in-app notifications addressed to the user, about cases they may see."""
    from portal.scopes import notifications_clause
    return db.session.scalar(
        db.select(db.func.count()).select_from(Notification)
        .where(notifications_clause(user), Notification.channel == "inapp", Notification.read_at.is_(None))
    ) or 0
