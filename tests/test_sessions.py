"""Sessions that end, and the findings of the security review of sign-in."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Role, User
from tests import factories
from tests.conftest import csrf_token, login_as, post
from tests.signin_helpers import signed_in


# --- sessions ------------------------------------------------------------------------------------

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


# --- security review findings --------------------------------------------------------------------

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
