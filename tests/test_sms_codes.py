"""SMS sign-in codes: mainland numbers, codes through the outbox, tries, expiry and limits."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.auth.phone import normalize_phone
from portal.extensions import db
from portal.models import Notification, Role, SignInCode, User
from portal.timeutil import utcnow
from tests.conftest import post
from tests.signin_helpers import NEW_NUMBER, sms_codes, send, enter, error_of, value_of, signed_in, code_sign_in, back_date_codes


# --- numbers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("0086 13800138000", "13800138000"),
    ("138 0013 8000", "13800138000"), ("23800138000", None), ("1380013800", None), ("1380013800x", None),
    ("", None), ("１３８００１３８０００", None),
])
def test_mainland_mobiles_are_normalised(raw, expected):
    assert normalize_phone(raw) == expected


# --- SMS codes -----------------------------------------------------------------------------------

def test_a_code_goes_out_through_the_outbox_and_is_stored_hashed(app, client, people):
    response = send(client, "+86 139-1234-5678")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="code-sent"' in html
    assert "139****5678" in html
    assert app.config["OUTBOX_DIR"] in html, "development says where the SMS lands"
    codes = sms_codes(app, NEW_NUMBER)
    assert len(codes) == 1
    row = db.session.scalar(select(SignInCode))
    assert codes[0] not in row.code_hash and len(row.code_hash) == 64
    note = db.session.scalar(select(Notification).where(Notification.channel == "sms"))
    assert note.kind.startswith("resident_") and note.address == NEW_NUMBER


def test_a_new_number_signs_in_and_is_asked_for_its_unit(app, client, people):
    response = code_sign_in(app, client, NEW_NUMBER)
    assert response.status_code == 302 and urlsplit(response.location).path == "/account/units"
    user = db.session.scalar(select(User).where(User.phone == NEW_NUMBER))
    assert user.role == Role.RESIDENT and user.unit_id is None and user.password_hash == ""
    assert signed_in(client)


def test_an_imported_resident_signs_in_with_a_code_the_first_time(app, client, people):
    resident = people["resident"]
    resident.phone = "138-0000-" + resident.phone[-4:]  # as the register wrote it
    resident.password_hash = ""
    db.session.commit()
    phone = normalize_phone(resident.phone)
    response = code_sign_in(app, client, phone)
    assert response.status_code == 302 and urlsplit(response.location).path == "/my/cases"
    assert db.session.scalar(select(db.func.count()).select_from(User).where(User.role == Role.RESIDENT)) == 2


def test_a_wrong_code_is_refused_beside_the_field_and_keeps_the_number(app, client, people):
    send(client, NEW_NUMBER)
    response = enter(client, NEW_NUMBER, "000000" if sms_codes(app, NEW_NUMBER)[0] != "000000" else "111111")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and error_of(html, "code")
    assert value_of(html, "phone") == NEW_NUMBER
    assert not signed_in(client)


@pytest.mark.parametrize("typed", ["12345", "abcdef", ""])
def test_a_malformed_code_gets_a_message(client, people, typed):
    html = enter(client, NEW_NUMBER, typed).get_data(as_text=True)
    assert error_of(html, "code") and value_of(html, "phone") == NEW_NUMBER


def test_five_wrong_tries_spend_the_code(app, client, people):
    send(client, NEW_NUMBER)
    right = sms_codes(app, NEW_NUMBER)[0]
    wrong = "%06d" % ((int(right) + 1) % 10**6)
    for _ in range(5):
        enter(client, NEW_NUMBER, wrong)
    html = enter(client, NEW_NUMBER, right).get_data(as_text=True)
    assert error_of(html, "code") and not signed_in(client)


def test_a_code_works_once_and_expires_after_five_minutes(app, client, people):
    code_sign_in(app, client, NEW_NUMBER)
    post(client, "/logout")
    fresh = app.test_client()
    assert error_of(enter(fresh, NEW_NUMBER, sms_codes(app, NEW_NUMBER)[-1]).get_data(as_text=True), "code")
    back_date_codes(NEW_NUMBER)
    send(fresh, NEW_NUMBER)
    for c in db.session.scalars(select(SignInCode).where(SignInCode.spent_at.is_(None))):
        c.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    html = enter(fresh, NEW_NUMBER, sms_codes(app, NEW_NUMBER)[-1]).get_data(as_text=True)
    assert "5" in error_of(html, "code") and not signed_in(fresh)


def test_a_new_code_waits_sixty_seconds(app, client, people):
    send(client, NEW_NUMBER)
    html = send(client, NEW_NUMBER).get_data(as_text=True)
    assert error_of(html, "phone") and value_of(html, "phone") == NEW_NUMBER
    assert len(sms_codes(app, NEW_NUMBER)) == 1
    back_date_codes(NEW_NUMBER)
    send(client, NEW_NUMBER)
    assert len(sms_codes(app, NEW_NUMBER)) == 2


@pytest.mark.parametrize("typed", ["1391234567", "23912345678", "电话号码", "+1 415 555 0100"])
def test_a_malformed_number_is_refused_beside_the_field_and_kept(app, client, people, typed):
    html = send(client, typed).get_data(as_text=True)
    assert error_of(html, "phone")
    assert value_of(html, "phone") == typed
    assert not list(Path(app.config["OUTBOX_DIR"]).glob("sms-*.json"))


def test_sending_is_limited_per_number_and_per_address(app, people):
    app.config.update(SMS_LIMIT_NUMBER="2 per hour", SMS_LIMIT_ADDRESS="3 per hour")
    a = app.test_client()
    for _ in range(2):
        assert send(a, NEW_NUMBER, environ_base={"REMOTE_ADDR": "203.0.113.1"}).status_code == 200
        back_date_codes(NEW_NUMBER)
    refused = send(app.test_client(), NEW_NUMBER, environ_base={"REMOTE_ADDR": "198.51.100.2"})
    assert refused.status_code == 429 and error_of(refused.get_data(as_text=True), "phone")
    assert send(a, "13700000001", environ_base={"REMOTE_ADDR": "203.0.113.1"}).status_code == 200
    assert send(a, "13700000002", environ_base={"REMOTE_ADDR": "203.0.113.1"}).status_code == 429
