"""Logging in and out, safe `next` URLs, expired htmx sessions and the language switch."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.extensions import db
from portal.models import Role, User
from tests import factories
from tests.conftest import csrf_token, login_as, post

CJK = re.compile(r"[\u4e00-\u9fff]")


def _login(client, username, password, **extra):
    data = {"username": username, "password": password, "csrf_token": csrf_token(client), **extra}
    return client.post("/login", data=data)


def _logged_in(client) -> bool:
    """Whether the client's session belongs to someone (a resident list or board opens)."""
    response = client.get("/", follow_redirects=False)
    return urlsplit(response.location).path != "/login"


def _page(client, url: str = "/login") -> str:
    """GET a page's HTML (each test request runs in its own app context, see conftest)."""
    return client.get(url).get_data(as_text=True)


def _password_error(html: str) -> str | None:
    match = re.search(r'<p class="error" id="password-error">([^<]*)</p>', html)
    return match.group(1) if match else None


def test_login_with_username_and_password_opens_the_role_home(client, people):
    response = _login(client, people["resident"].username, factories.PASSWORD)
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/my/cases"
    assert client.get("/my/cases").status_code == 200


def test_clerk_login_lands_on_the_board(client, people):
    response = _login(client, people["clerk"].username, factories.PASSWORD)
    assert urlsplit(response.location).path == "/board"


def test_wrong_password_shows_error_beside_password_field_and_keeps_username(client, people):
    username = people["resident"].username
    response = _login(client, username, "not-the-password")
    html = response.get_data(as_text=True)
    assert response.status_code in (200, 422)
    assert _password_error(html)
    assert re.search(rf'<input[^>]*name="username"[^>]*value="{re.escape(username)}"', html)
    assert "not-the-password" not in html  # the password is never echoed back
    assert not _logged_in(client)


def test_unknown_username_gets_the_same_message_as_a_wrong_password(client, people):
    wrong_password = _password_error(_login(client, people["resident"].username, "nope").get_data(as_text=True))
    unknown_user = _password_error(_login(client, "nobody-here", "nope").get_data(as_text=True))
    assert wrong_password and wrong_password == unknown_user


def test_wrong_password_error_is_in_chinese_by_default(client, people):
    html = _login(client, people["resident"].username, "not-the-password").get_data(as_text=True)
    assert CJK.search(_password_error(html) or "")


def test_logout_is_a_post_and_ends_the_session(client, people):
    login_as(client, people["resident"])
    assert client.get("/logout").status_code == 405
    assert _logged_in(client)
    response = post(client, "/logout")
    assert response.status_code == 302 and urlsplit(response.location).path == "/login"
    assert not _logged_in(client)


def test_login_follows_a_relative_next(client, people):
    response = _login(client, people["resident"].username, factories.PASSWORD, next="/cases/new")
    assert response.location == "/cases/new"


def test_login_page_carries_next_into_the_form(client):
    html = client.get("/login", query_string={"next": "/cases/new"}).get_data(as_text=True)
    assert re.search(r'<input[^>]*name="next"[^>]*value="/cases/new"', html)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "http:/evil.example/",
                                    "javascript:alert(1)", "evil.example",
                                    "/\t/evil.example/"])
def test_login_ignores_next_pointing_off_site(client, people, target):
    response = _login(client, people["resident"].username, factories.PASSWORD, next=target)
    assert response.status_code == 302
    assert response.location == "/my/cases"


def test_login_next_with_a_backslash_never_sends_the_browser_to_another_host(client, people):
    """Browsers read a raw `/\\host` like `//host`; the Location header must not carry one."""
    response = _login(client, people["resident"].username, factories.PASSWORD, next="/\\evil.example/")
    location = response.headers["Location"]
    assert not location.startswith(("//", "/\\", "\\"))
    assert urlsplit(location.replace("\\", "/")).netloc == ""


def test_htmx_request_without_session_gets_401_and_hx_redirect_to_login(client, people):
    response = client.get("/my/cases", headers={"HX-Request": "true", "HX-Target": "case-table"})
    assert response.status_code == 401
    assert urlsplit(response.headers["HX-Redirect"]).path == "/login"
    body = response.get_data(as_text=True)
    assert "<form" not in body and "<html" not in body


def test_plain_request_without_session_redirects_to_login_with_next(client, people):
    response = client.get("/my/cases")
    assert response.status_code == 302
    parts = urlsplit(response.location)
    assert parts.path == "/login"
    assert parse_qs(parts.query)["next"][0].startswith("/my/cases")


def test_passwords_are_stored_hashed(app, people):
    user = User(username="wangwu", display_name="王五", role=Role.RESIDENT)
    user.set_password("plain-text-pw-42")
    db.session.add(user)
    db.session.commit()
    assert user.password_hash != "plain-text-pw-42"
    assert "plain-text-pw-42" not in user.password_hash
    assert user.check_password("plain-text-pw-42")
    assert not user.check_password("plain-text-pw-43")


def test_create_user_command_stores_a_hash_that_logs_in(app, client, runner, people):
    result = runner.invoke(args=["create-user", "zhaoliu", "--role", "clerk", "--name", "赵六",
                                 "--password", "cli-pass-123"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).filter_by(username="zhaoliu"))
    assert user.password_hash != "cli-pass-123"
    assert _login(client, "zhaoliu", "cli-pass-123").status_code == 302


def test_inactive_user_cannot_log_in(client, people):
    user = people["resident"]
    user.active = False
    db.session.commit()
    response = _login(client, user.username, factories.PASSWORD)
    assert response.status_code != 302
    assert _password_error(response.get_data(as_text=True))
    assert not _logged_in(client)


def test_user_deactivated_during_a_session_is_logged_out(client, people):
    user = people["resident"]
    login_as(client, user)
    user.active = False
    db.session.commit()
    response = client.get("/my/cases")
    assert response.status_code == 302 and urlsplit(response.location).path == "/login"


def test_interface_defaults_to_simplified_chinese(client):
    html = _page(client)
    assert '<html lang="zh-CN">' in html
    assert "English" in html  # the switch offers the other language


def test_login_page_says_denglu_by_default(client):
    html = _page(client)
    assert "登录" in html and "Log in" not in html


def test_language_switch_to_english_turns_the_ui_english(client):
    response = post(client, "/lang/en", {"next": "/login"})
    assert response.status_code == 302 and response.location == "/login"
    html = _page(client)
    assert '<html lang="en">' in html
    assert "Log in" in html
    assert "中文" in html  # and offers the way back


def test_language_switch_ignores_unknown_language(client):
    assert post(client, "/lang/xx").status_code == 302
    assert '<html lang="zh-CN">' in _page(client)


def test_language_switch_ignores_off_site_next(client):
    response = post(client, "/lang/en", {"next": "https://evil.example/"})
    assert urlsplit(response.location).netloc in ("", "localhost")
    assert "evil" not in response.location
