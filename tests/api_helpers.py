"""Issuing keys and calling the API in tests."""
from __future__ import annotations

from portal.api.keys import issue
from portal.extensions import db
from portal.models.api import PERMISSIONS


def make_key(estates, permissions=PERMISSIONS, name="热线", rate=None) -> tuple[object, str]:
    key, secret = issue(name, list(estates), list(permissions), None, rate)
    db.session.commit()
    return key, secret


def auth(secret: str, lang: str = "zh-CN") -> dict:
    return {"Authorization": f"Bearer {secret}", "Accept-Language": lang}
