"""Two-step sign-in for managers."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from portal.extensions import db
from tests import factories
from tests.conftest import csrf_token, login_as, post
from tests.signin_helpers import error_of, signed_in


# --- two-step sign-in for managers ---------------------------------------------------------------

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
