"""Signed survey links for SMS/WeChat: one task, no login, limited lifetime."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal import settings

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
