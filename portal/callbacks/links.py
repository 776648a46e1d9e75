"""Signed survey links: one task, no login, limited lifetime, sent by the server to the resident's mobile.

Staff never see the link: they ask the server to text it (through the outbox, once per task) and then
see that it was sent and to which number, masked. A link a clerk could open would let them answer
"very satisfied" for the resident, and the satisfaction rate is a reported figure.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app, url_for
from flask_babel import force_locale
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from portal import settings
from portal.extensions import db
from portal.messages import locale_of, msg, render
from portal.models import CallbackTask, Notification, User
from portal.notify import outbox

SALT = "callback-survey"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(task) -> str:
    """A token naming one task and its case; it grants nothing else."""
    return _serializer().dumps({"t": task.id, "c": task.case_id})


def read_token(token: str) -> tuple[dict | None, bool]:
    """(payload, expired): payload is None for a forged, altered or expired token."""
    max_age = settings.get("callback_survey_link_days") * 86400
    try:
        return _serializer().loads(token, max_age=max_age), False
    except SignatureExpired:
        return None, True
    except BadSignature:
        return None, False


KIND = "resident_survey_link"


def mask(phone: str) -> str:
    """138****0000: what staff see of the number the link went to."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone or "") >= 8 else "****"


def recipient(task: CallbackTask) -> User | None:
    """The resident the survey is for, when the portal has a mobile number for them."""
    resident = task.resident or (task.case.resident if task.case is not None else None)
    return resident if resident is not None and resident.active and resident.phone else None


def _dedup_key(task: CallbackTask) -> str:
    return f"survey-link:{task.id}"


def sent(task: CallbackTask) -> Notification | None:
    """The SMS that carried this task's survey link, if it was sent."""
    return db.session.scalar(select(Notification).where(
        Notification.dedup_key == _dedup_key(task), Notification.channel == "sms").order_by(Notification.id).limit(1))


def send(task: CallbackTask, at: datetime | None = None) -> Notification | None:
    """Text the signed link to the resident's mobile through the outbox; a repeat sends nothing. The caller commits.

    None when there is nobody to send it to (no resident or no mobile) or the task is finished.
    """
    resident = recipient(task)
    if resident is None or not task.is_open or task.case is None:
        return None
    link = url_for("callbacks.signed_survey", token=make_token(task), _external=True)
    subject = msg("callback.survey_subject", number=task.case.number)
    body = msg("callback.survey_body", number=task.case.number, link=link, days=settings.get("callback_survey_link_days"))
    with force_locale(locale_of(resident)):  # the resident's language, whoever pressed the button
        texts = render(subject), render(body)
    outbox.queue_rows([outbox.row(resident, "sms", resident.phone, KIND, *texts, _dedup_key(task),
                                  case_id=task.case_id, now=at, subject_msg=subject, body_msg=body)])
    return sent(task)
