"""What the sign-in tests share: reading SMS codes from the file backend, posting the code forms."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.models import SignInCode
from tests.conftest import csrf_token

NEW_NUMBER = "13912345678"


def sms_codes(app, phone: str) -> list[str]:
    """Codes sent to a number, oldest first, read from the file SMS backend."""
    files = sorted(Path(app.config["OUTBOX_DIR"]).glob("sms-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    out = []
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        match = re.search(r"\b(\d{6})\b", data["text"])
        if data["phone"] == phone and match:
            out.append(match.group(1))
    return out


def send(client, phone: str, url: str = "/login/code", environ_base=None, **extra):
    return client.post(url, data={"phone": phone, "send": "1", "csrf_token": csrf_token(client), **extra},
                       environ_base=environ_base or {})


def enter(client, phone: str, code: str, url: str = "/login/code", **extra):
    return client.post(url, data={"phone": phone, "code": code, "csrf_token": csrf_token(client), **extra})


def error_of(html: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    return match.group(1) if match else None


def value_of(html: str, field: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{field}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


def signed_in(client) -> bool:
    response = client.get("/account")
    return response.status_code == 200


def code_sign_in(app, client, phone: str, url: str = "/login/code", **extra):
    assert send(client, phone, url, **extra).status_code == 200
    return enter(client, phone, sms_codes(app, phone)[-1], url, **extra)


def back_date_codes(phone: str, seconds: int = 61) -> None:
    for c in db.session.scalars(select(SignInCode).where(SignInCode.phone == phone)):
        c.created_at -= timedelta(seconds=seconds)
    db.session.commit()
