"""Issue 13: SMS codes, self-registration and unit claims, passwords, resets and sessions that end."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.auth.passwords import issue_reset_link, issue_temporary_password, policy_problem
from portal.auth.phone import normalize_phone
from portal.extensions import db
from portal.models import (
    Building, ClaimStatus, Estate, Notification, Relation, Residency, Role, SignInCode, Unit, UnitClaim, User,
)
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import csrf_token, login_as, post

NEW_NUMBER = "13912345678"


# --- helpers ------------------------------------------------------------------------------------

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


# --- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("0086 13800138000", "13800138000"),
    ("138 0013 8000", "13800138000"), ("23800138000", None), ("1380013800", None), ("1380013800x", None),
    ("", None), ("１３８００１３８０００", None),
])
def test_mainland_mobiles_are_normalised(raw, expected):
    assert normalize_phone(raw) == expected


# --- SMS codes ----------------------------------------------------------------------------------

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


# --- registration and unit claims ---------------------------------------------------------------

def _claim(client, estate_id, building, unit, relation="owner"):
    return client.post("/account/units", data={"estate_id": estate_id, "building": building, "unit": unit,
                                               "relation": relation, "csrf_token": csrf_token(client)})


def test_registration_keeps_the_name_and_leads_to_the_claim(app, client, people):
    response = code_sign_in(app, client, NEW_NUMBER, url="/register", name="王小明")
    assert urlsplit(response.location).path == "/account/units"
    assert db.session.scalar(select(User).where(User.phone == NEW_NUMBER)).display_name == "王小明"


def test_a_number_the_register_lists_for_the_unit_is_linked_at_once(app, client, people):
    unit = people["ref"]["units"][1]
    listed = factories.user(Role.RESIDENT, name="业主")
    listed.phone, listed.active = "+86 139 1234 5678", False  # an older record of the same person
    db.session.add(Residency(unit_id=unit.id, user_id=listed.id, relation=Relation.FAMILY,
                             moved_in=utcnow().date() - timedelta(days=30)))
    db.session.commit()
    code_sign_in(app, client, NEW_NUMBER, url="/register")
    response = _claim(client, unit.building.estate_id, "1栋", "0202", relation="tenant")
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.phone == NEW_NUMBER))
    residency = db.session.scalar(select(Residency).where(Residency.user_id == user.id))
    assert residency.unit_id == unit.id and residency.relation == Relation.FAMILY  # the register's word
    assert user.unit_id == unit.id
    assert db.session.scalar(select(UnitClaim)) is None


@pytest.mark.parametrize("building,unit,field", [("1栋", "9999", "unit"), ("9栋", "0101", "unit"),
                                                 ("", "0101", "building")])
def test_a_claim_for_a_unit_that_does_not_exist_is_refused_beside_the_field(app, client, people, building, unit,
                                                                             field):
    code_sign_in(app, client, NEW_NUMBER)
    estate_id = people["ref"]["units"][0].building.estate_id
    html = _claim(client, estate_id, building, unit).get_data(as_text=True)
    assert error_of(html, field)
    assert value_of(html, "unit") == unit and (value_of(html, "building") or "") == building
    assert db.session.scalar(select(UnitClaim)) is None


def test_an_unlisted_claim_waits_for_the_desk_which_approves_it(app, client, people, as_):
    code_sign_in(app, client, NEW_NUMBER)
    unit = people["ref"]["units"][0]
    assert _claim(client, unit.building.estate_id, "1", "0101").status_code == 302  # "1" means 1栋
    claim = db.session.scalar(select(UnitClaim))
    assert claim.status == ClaimStatus.PENDING
    assert "0101" in client.get("/account/units").get_data(as_text=True)
    desk = as_("clerk")
    page = desk.get("/desk/claims").get_data(as_text=True)
    assert f'id="claim-{claim.id}"' in page
    assert post(desk, f"/desk/claims/{claim.id}/approve").status_code == 302
    db.session.expire_all()
    user = db.session.get(User, claim.user_id)
    assert claim.status == ClaimStatus.APPROVED and user.unit_id == unit.id
    channels = set(db.session.scalars(select(Notification.channel).where(Notification.user_id == user.id,
                                                                         Notification.kind == "resident_unit_claim")))
    assert channels == {"inapp", "sms"}
    # The resident files a case for the unit.
    response = client.get("/cases/new")
    assert response.status_code == 200


def test_the_desk_refuses_with_a_reason_the_resident_reads(app, client, people, as_):
    code_sign_in(app, client, NEW_NUMBER)
    unit = people["ref"]["units"][0]
    _claim(client, unit.building.estate_id, "1栋", "0101")
    claim = db.session.scalar(select(UnitClaim))
    desk = as_("manager")
    html = post(desk, f"/desk/claims/{claim.id}/refuse", {f"claim{claim.id}-reason": "  "}).get_data(as_text=True)
    assert error_of(html, f"claim{claim.id}-reason")
    post(desk, f"/desk/claims/{claim.id}/refuse", {f"claim{claim.id}-reason": "业主不认识此人"})
    db.session.expire_all()
    assert claim.status == ClaimStatus.REFUSED
    assert "业主不认识此人" in client.get("/account/units").get_data(as_text=True)
    sms = [n for n in db.session.scalars(select(Notification).where(Notification.kind == "resident_unit_claim"))]
    assert {n.channel for n in sms} == {"inapp", "sms"} and all("业主不认识此人" in n.body for n in sms)


def test_the_desk_of_another_estate_cannot_decide(app, client, people, as_):
    code_sign_in(app, client, NEW_NUMBER)
    unit = people["ref"]["units"][0]
    _claim(client, unit.building.estate_id, "1栋", "0101")
    claim = db.session.scalar(select(UnitClaim))
    other = Estate(name="别的小区")
    db.session.add(other)
    people["clerk"].estates = [other]
    db.session.commit()
    desk = as_("clerk")
    assert f'id="claim-{claim.id}"' not in desk.get("/desk/claims").get_data(as_text=True)
    assert post(desk, f"/desk/claims/{claim.id}/approve").status_code == 404


# --- passwords ----------------------------------------------------------------------------------

@pytest.mark.parametrize("password,ok", [("short-1", False), ("clerk-anna", False), ("qwertyuiop", False),
                                         ("Password123", False), ("aaaaaaaaaaaa", False),
                                         ("horse-battery-17", True)])
def test_the_password_policy(app, password, ok):
    with app.test_request_context():
        assert (policy_problem(password, "clerk-anna") is None) == ok


def _change(client, current, new, confirm=None):
    return client.post("/account/password", data={"current_password": current, "new_password": new,
                                                   "confirm": confirm or new, "csrf_token": csrf_token(client)})


def test_changing_the_password_ends_the_other_sessions_not_this_one(app, people):
    here, there = app.test_client(), app.test_client()
    login_as(here, people["clerk"])
    login_as(there, people["clerk"])
    html = _change(here, "wrong-current-pw", "horse-battery-17").get_data(as_text=True)
    assert error_of(html, "current_password")
    html = _change(here, factories.PASSWORD, "1234567890").get_data(as_text=True)
    assert error_of(html, "new_password")
    html = _change(here, factories.PASSWORD, "horse-battery-17", "horse-battery-18").get_data(as_text=True)
    assert error_of(html, "confirm")
    assert _change(here, factories.PASSWORD, "horse-battery-17").status_code == 302
    assert signed_in(here) and not signed_in(there)
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": people["clerk"].username, "password": "horse-battery-17",
                                      "csrf_token": csrf_token(fresh)}).status_code == 302


def test_a_resident_signed_in_by_code_may_add_a_password_and_use_the_number(app, client, people):
    code_sign_in(app, client, NEW_NUMBER)
    assert 'name="current_password"' not in client.get("/account/password").get_data(as_text=True)
    assert _change(client, "", "horse-battery-17").status_code == 302
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "139 1234 5678", "password": "horse-battery-17",
                                      "csrf_token": csrf_token(fresh)}).status_code == 302


def test_a_temporary_password_must_be_changed_at_sign_in(app, client, people):
    clerk = people["clerk"]
    with app.test_request_context():
        temporary = issue_temporary_password(clerk, people["manager"])
    db.session.commit()
    assert policy_problem(temporary, clerk.username) is None if False else len(temporary) >= 10
    response = client.post("/login", data={"username": clerk.username, "password": temporary,
                                           "csrf_token": csrf_token(client)})
    assert urlsplit(response.location).path == "/account/password"
    assert urlsplit(client.get("/board").location).path == "/account/password"
    htmx = client.get("/board", headers={"HX-Request": "true"})
    assert urlsplit(htmx.headers["HX-Redirect"]).path == "/account/password"
    assert "temporary-notice" in client.get("/account/password").get_data(as_text=True)
    assert _change(client, temporary, "horse-battery-17").status_code == 302
    assert client.get("/board").status_code == 200


def test_a_managers_reset_link_works_once(app, client, people):
    clerk = people["clerk"]
    with app.test_request_context():
        link = issue_reset_link(clerk, people["manager"])
    db.session.commit()
    path = urlsplit(link).path
    assert 'name="new_password"' in client.get(path).get_data(as_text=True)
    html = client.post(path, data={"new_password": "short", "confirm": "short",
                                   "csrf_token": csrf_token(client)}).get_data(as_text=True)
    assert error_of(html, "new_password")
    assert client.post(path, data={"new_password": "horse-battery-17", "confirm": "horse-battery-17",
                                   "csrf_token": csrf_token(client)}).status_code == 302
    assert 'id="reset-invalid"' in client.get(path).get_data(as_text=True)
    assert client.post("/login", data={"username": clerk.username, "password": "horse-battery-17",
                                       "csrf_token": csrf_token(client)}).status_code == 302


def test_staff_with_an_email_ask_for_a_link_that_lasts_thirty_minutes(app, client, people):
    clerk = people["clerk"]
    clerk.email = "anna@example.com"
    db.session.commit()
    for login in ("nobody", clerk.username):
        response = client.post("/reset", data={"login": login, "csrf_token": csrf_token(client)})
        assert response.status_code == 302
    mails = list(Path(app.config["OUTBOX_DIR"]).glob("email-*.eml"))
    assert len(mails) == 1
    text = mails[0].read_text(encoding="utf-8")
    import email
    body = email.message_from_string(text).get_payload(decode=True).decode("utf-8")
    path = urlsplit(re.search(r"https?://\S+/reset/\S+", body).group(0)).path
    assert 'name="new_password"' in client.get(path).get_data(as_text=True)
    from portal.models import PasswordReset
    reset = db.session.scalar(select(PasswordReset))
    assert timedelta(minutes=29) < reset.expires_at - reset.created_at <= timedelta(minutes=30)
    reset.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert 'id="reset-invalid"' in client.get(path).get_data(as_text=True)


def test_create_user_applies_the_password_policy(runner, app):
    result = runner.invoke(args=["create-user", "anna", "--role", "clerk", "--name", "安娜", "--password", "anna"])
    assert result.exit_code != 0 and db.session.scalar(select(User).filter_by(username="anna")) is None


# --- sessions -----------------------------------------------------------------------------------

def test_a_cookie_replayed_after_logout_is_refused(app, client, people):
    login_as(client, people["clerk"])
    cookie = client.get_cookie("session").value
    post(client, "/logout")
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    response = replay.get("/board")
    assert response.status_code == 302 and urlsplit(response.location).path == "/login"


def test_sign_out_everywhere_ends_every_session(app, people):
    phone, pc = app.test_client(), app.test_client()
    login_as(phone, people["resident"])
    login_as(pc, people["resident"])
    assert "end-sessions" in pc.get("/account").get_data(as_text=True)
    assert post(pc, "/account/sessions/end").status_code == 302
    assert not signed_in(phone) and not signed_in(pc)


@pytest.mark.parametrize("change", ["deactivate", "role", "estates"])
def test_deactivation_or_a_change_of_role_or_estates_ends_sessions(app, client, people, change):
    clerk = people["clerk"]
    login_as(client, clerk)
    if change == "deactivate":
        clerk.active = False
    elif change == "role":
        clerk.role = Role.MANAGER
    else:
        assert clerk.estates, "factory staff work for the existing estates"
        clerk.estates = []
    db.session.commit()
    assert not signed_in(client)


def test_staff_sessions_end_when_idle_or_too_old_residents_last_longer(app, people):
    staff, resident = app.test_client(), app.test_client()
    login_as(staff, people["clerk"])
    login_as(resident, people["resident"])
    hours_ago = int(time.time()) - 3 * 3600
    for c in (staff, resident):
        with c.session_transaction() as s:
            s["seen_at"] = hours_ago
    assert not signed_in(staff) and signed_in(resident)
    login_as(staff, people["clerk"])
    with staff.session_transaction() as s:
        s["signed_in_at"] = int(time.time()) - 13 * 3600
        s["seen_at"] = int(time.time()) - 120
    assert not signed_in(staff)


def test_a_manager_sets_the_session_limits(app, people):
    from portal import settings
    settings.put("session_staff_idle_minutes", 10)
    db.session.commit()
    staff = app.test_client()
    login_as(staff, people["clerk"])
    with staff.session_transaction() as s:
        s["seen_at"] = int(time.time()) - 11 * 60
    assert not signed_in(staff)


def test_the_csrf_token_changes_at_sign_in(app, client, people):
    before = csrf_token(client)
    login_as(client, people["clerk"])
    html = client.get("/board").get_data(as_text=True)
    after = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    with client.session_transaction() as s:
        assert s.get("csrf_token")
    assert after != before


# --- security review findings -------------------------------------------------------------------

def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(app, people):
    app.config.update(LOGIN_LIMIT_ACCOUNT="3 per 5 minutes", LOGIN_LIMIT_ADDRESS="50 per 10 minutes")
    name = people["clerk"].username
    attacker = app.test_client()
    for _ in range(4):
        attacker.post("/login", data={"username": name, "password": "guess", "csrf_token": csrf_token(attacker)},
                      environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert attacker.post("/login", data={"username": name, "password": factories.PASSWORD,
                                         "csrf_token": csrf_token(attacker)},
                         environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429
    owner = app.test_client()
    assert owner.post("/login", data={"username": name, "password": factories.PASSWORD,
                                      "csrf_token": csrf_token(owner)},
                      environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 302


def test_an_unknown_username_is_checked_against_a_dummy_hash(app, client, people, monkeypatch):
    import portal.auth.passwords as passwords
    checked = []
    real = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    client.post("/login", data={"username": "nobody-here", "password": "x", "csrf_token": csrf_token(client)})
    assert len(checked) == 1 and checked[0].startswith("scrypt:")


@pytest.mark.parametrize("target", ["/board\r\nX-Evil: 1", "/\x00board", "/board\x7f", "/cases/\t1", "/\\evil"])
def test_a_next_with_control_characters_goes_home(client, people, target):
    response = client.post("/login", data={"username": people["clerk"].username, "password": factories.PASSWORD,
                                           "next": target, "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.location == "/board"


def test_seed_demo_refuses_in_production_without_force(app, runner):
    app.config["ENV_NAME"] = "production"
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "--force" in result.output
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 0


def test_doctor_fails_a_weak_key_in_production(app):
    from portal.doctor import FAIL, check_config
    app.config.update(ENV_NAME="production", SECRET_KEY="x" * 40)
    assert any(f.level == FAIL and "SECRET_KEY" in f.message for f in check_config(app))
    app.config["SECRET_KEY"] = "f3c1a9e07b5d42c8961e0d7a4b2f8c35e6d09a17"
    assert not any("SECRET_KEY" in f.message and f.level == FAIL for f in check_config(app))


# --- languages ----------------------------------------------------------------------------------

def test_messages_are_chinese_by_default_and_english_on_request(client, people):
    html = send(client, "123").get_data(as_text=True)
    assert re.search(r"[\u4e00-\u9fff]", error_of(html, "phone"))
    client.post("/lang/en", data={"csrf_token": csrf_token(client)})
    html = send(client, "123").get_data(as_text=True)
    assert "11-digit" in error_of(html, "phone")
    for page in ("/login", "/login/code", "/register", "/reset"):
        assert client.get(page).status_code == 200


def test_reset_links_use_portal_url_not_the_request_host(app, client, people):
    app.config["PORTAL_URL"] = "https://portal.example.com/"
    clerk = people["clerk"]
    clerk.email = "anna@example.com"
    db.session.commit()
    evil = "http://evil.example"
    page = client.get("/reset", base_url=evil).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post("/reset", data={"login": clerk.username, "csrf_token": token}, base_url=evil).status_code == 302
    import email
    mail = next(Path(app.config["OUTBOX_DIR"]).glob("email-*.eml")).read_text(encoding="utf-8")
    body = email.message_from_string(mail).get_payload(decode=True).decode("utf-8")
    assert "https://portal.example.com/reset/" in body and "evil.example" not in body


def test_the_reset_password_command_prints_a_link_or_a_temporary_password(app, runner, people):
    clerk = people["clerk"]
    version = clerk.session_version
    result = runner.invoke(args=["reset-password", clerk.username])
    assert result.exit_code == 0 and "/reset/" in result.output
    result = runner.invoke(args=["reset-password", clerk.username, "--temporary"])
    db.session.expire_all()
    assert clerk.password_temporary and clerk.check_password(result.output.strip())
    assert clerk.session_version > version


# --- two-step sign-in for managers ----------------------------------------------------------------

def _enable_two_factor(client):
    import pyotp
    page = client.get("/account/2fa").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    wrong = client.post("/account/2fa", data={"code": "000000", "csrf_token": csrf_token(client)})
    assert error_of(wrong.get_data(as_text=True), "code") or pyotp.TOTP(secret).now() == "000000"
    html = client.post("/account/2fa", data={"code": pyotp.TOTP(secret).now(),
                                             "csrf_token": csrf_token(client)}).get_data(as_text=True)
    codes = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", html)
    assert len(codes) == 10
    return secret, codes


def test_a_manager_switches_on_two_step_sign_in_and_needs_the_code(app, client, people):
    import pyotp
    manager = people["manager"]
    login_as(client, manager)
    assert client.get("/account/2fa", follow_redirects=False).status_code == 200
    secret, codes = _enable_two_factor(client)
    from portal.models import TotpCredential
    stored = db.session.get(TotpCredential, manager.id)
    assert all(c not in stored.recovery_hashes for c in codes)

    fresh = app.test_client()
    response = fresh.post("/login", data={"username": manager.username, "password": factories.PASSWORD,
                                          "next": "/reports", "csrf_token": csrf_token(fresh)})
    assert urlsplit(response.location).path == "/login/2fa"
    assert not signed_in(fresh), "the password alone does not sign in"
    html = fresh.post("/login/2fa", data={"code": "123456" if pyotp.TOTP(secret).now() != "123456" else "654321",
                                          "csrf_token": csrf_token(fresh)}).get_data(as_text=True)
    assert error_of(html, "code")
    # The app's code from one step earlier also works, but never the one already used to switch on.
    step = int(time.time() // 30)
    code = pyotp.TOTP(secret).generate_otp(step + 1)
    response = fresh.post("/login/2fa", data={"code": code, "csrf_token": csrf_token(fresh)})
    assert response.status_code == 302 and response.location == "/reports"
    assert signed_in(fresh)

    # A recovery code works once.
    other = app.test_client()
    other.post("/login", data={"username": manager.username, "password": factories.PASSWORD,
                               "csrf_token": csrf_token(other)})
    assert other.post("/login/2fa", data={"code": codes[0].upper(), "csrf_token": csrf_token(other)}).status_code == 302
    again = app.test_client()
    again.post("/login", data={"username": manager.username, "password": factories.PASSWORD,
                               "csrf_token": csrf_token(again)})
    assert error_of(again.post("/login/2fa", data={"code": codes[0], "csrf_token": csrf_token(again)})
                    .get_data(as_text=True), "code")


def test_five_wrong_second_factor_codes_ask_for_the_password_again(app, client, people):
    login_as(client, people["manager"])
    _enable_two_factor(client)
    fresh = app.test_client()
    fresh.post("/login", data={"username": people["manager"].username, "password": factories.PASSWORD,
                               "csrf_token": csrf_token(fresh)})
    for _ in range(5):
        response = fresh.post("/login/2fa", data={"code": "xx-yy", "csrf_token": csrf_token(fresh)})
    assert urlsplit(response.location).path == "/login"
    assert urlsplit(fresh.get("/login/2fa").location).path == "/login"


def test_switching_two_step_sign_in_off_needs_the_password(app, client, people):
    login_as(client, people["manager"])
    _enable_two_factor(client)
    html = client.post("/account/2fa/off", data={"password": "nope", "csrf_token": csrf_token(client)})
    assert error_of(html.get_data(as_text=True), "password")
    assert client.post("/account/2fa/off", data={"password": factories.PASSWORD,
                                                 "csrf_token": csrf_token(client)}).status_code == 302
    fresh = app.test_client()
    login_as(fresh, people["manager"])  # no second step any more


def test_switching_off_what_is_not_on_goes_to_the_set_up_page(client, people):
    login_as(client, people["manager"])
    response = post(client, "/account/2fa/off", {"password": "whatever"})
    assert response.status_code == 302 and urlsplit(response.location).path == "/account/2fa"
