"""Secure defaults: CSP and security headers, cookies, proxies and login rate limiting."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from portal import config as config_module
from portal import create_app
from portal.extensions import db
from tests import factories
from tests.conftest import csrf_token, login_as

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _login(client, username: str, password: str, **kwargs):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)}, **kwargs)


def test_every_page_carries_a_csp_whose_nonce_matches_the_inline_script(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    html = response.get_data(as_text=True)
    assert f'<script nonce="{nonce}">' in html
    assert "script-src 'self' 'nonce-" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    for directive in ("default-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
                      "form-action 'self'", "base-uri 'self'"):
        assert directive in csp
    assert client.get("/login").headers["Content-Security-Policy"] != csp, "a nonce must never repeat"


def test_security_headers_are_on_pages_partials_and_errors(as_):
    client = as_("clerk")
    for url, headers in (("/board", {}), ("/board", {"HX-Request": "true"}), ("/no-such-page", {})):
        h = client.get(url, headers=headers).headers
        assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "same-origin"
        assert "Content-Security-Policy" in h
        assert h["Cache-Control"] == "no-store", "signed-in pages must not be cached on shared PCs"
    assert "Strict-Transport-Security" not in client.get("/board").headers  # HTTP in development


def test_csp_allows_the_htmx_cdn_file_only_when_pages_use_it(app, client):
    assert "cdn.jsdelivr.net" not in client.get("/login").headers["Content-Security-Policy"]
    app.config["HTMX_CDN"] = True
    from portal.templating import HTMX_CDN
    response = client.get("/login")
    assert f"script-src 'self' {HTMX_CDN} 'nonce-" in response.headers["Content-Security-Policy"]
    assert f'src="{HTMX_CDN}"' in response.get_data(as_text=True)


def test_templates_have_no_inline_handlers_styles_or_unnonced_scripts():
    """What the CSP would block in the browser, caught before it ships."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (r"\son[a-z]+\s*=", r"\sstyle\s*=", r"<style", r"<script(?![^>]*\b(src|nonce)=)",
                        r"hx-on", r"hx-vals=[\"']js:"):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(TEMPLATES)}: {pattern}")
        for trigger in re.findall(r'hx-trigger="([^"]*)"', text):
            # An event filter `[expr]` is evaluated as code; `from:` selectors may hold brackets.
            if "[" in re.sub(r"from:[^,]*", "", trigger):
                offenders.append(f"{path.relative_to(TEMPLATES)}: trigger filter {trigger}")
    assert offenders == []


def test_htmx_is_configured_to_need_neither_eval_nor_inline_styles(client):
    html = client.get("/login").get_data(as_text=True)
    config = re.search(r'name="htmx-config" content=\'([^\']+)\'', html).group(1)
    assert '"allowEval": false' in config and '"includeIndicatorStyles": false' in config


def test_production_cookies_are_secure_httponly_samesite_with_host_prefix(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "f3c1a9e07b5d42c8961e0d7a4b2f8c35e6d09a17")
    monkeypatch.delenv("REDIS_URL", raising=False)
    try:
        cfg = importlib.reload(config_module).Config()
    finally:
        monkeypatch.undo()
        importlib.reload(config_module)
    cfg.SQLALCHEMY_DATABASE_URI = database_url
    cfg.JOBS_TICKER = False
    app = create_app(cfg)
    with app.app_context():
        db.create_all()
        try:
            user = factories.user(factories.Role.CLERK)
            db.session.commit()
            client = app.test_client()
            client.get("/login", base_url="https://portal.example")
            # Over HTTPS, Flask-WTF also checks that the Referer is this site.
            response = _login(client, user.username, factories.PASSWORD, base_url="https://portal.example",
                              headers={"Referer": "https://portal.example/login"})
            assert response.status_code == 302
            cookie = response.headers["Set-Cookie"]
            assert cookie.startswith("__Host-portal=")
            for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
                assert flag in cookie
            assert "Domain" not in cookie
            assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


# Login rate limiting ---------------------------------------------------------


@pytest.fixture
def limits(app):
    app.config.update(LOGIN_LIMIT_ACCOUNT="3 per 5 minutes", LOGIN_LIMIT_ADDRESS="6 per 10 minutes")
    return app


def test_failed_logins_lock_the_account_even_for_the_right_password(limits, client, people):
    name = people["clerk"].username
    for _ in range(3):
        assert _login(client, name, "wrong-password").status_code == 200
    refused = _login(client, name, factories.PASSWORD)
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "登录失败次数过多" in html, "the reason is shown in Chinese beside the form"
    assert f'value="{name}"' in html, "the username stays in the form"
    assert "Retry-After" in refused.headers
    # Another account from the same address is not locked.
    other = limits.test_client()
    login_as(other, people["manager"])


def test_successful_logins_do_not_count(limits, client, people):
    for _ in range(5):
        fresh = limits.test_client()
        login_as(fresh, people["clerk"])


def test_one_address_trying_many_accounts_is_limited_but_another_address_is_not(limits, people):
    attacker = limits.test_client()
    for i in range(6):
        assert _login(attacker, f"guess{i}", "x", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200
    assert _login(attacker, "guess-next", "x", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429
    honest = limits.test_client()
    ok = _login(honest, people["clerk"].username, factories.PASSWORD, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert ok.status_code == 302


def test_behind_a_proxy_the_forwarded_address_is_the_one_limited(tmp_path, database_url):
    from portal.config import TestConfig
    cfg = TestConfig()
    cfg.SQLALCHEMY_DATABASE_URI = database_url
    cfg.PROXY_COUNT = 1
    cfg.LOGIN_LIMIT_ADDRESS = "2 per 10 minutes"
    app = create_app(cfg)
    with app.app_context():
        db.create_all()
        try:
            client = app.test_client()
            via = {"REMOTE_ADDR": "127.0.0.1"}  # nginx on the same host
            for name in ("a", "b"):
                _login(client, name, "x", environ_base=via, headers={"X-Forwarded-For": "203.0.113.9"})
            assert _login(client, "c", "x", environ_base=via,
                          headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429
            assert _login(client, "d", "x", environ_base=via,
                          headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 200
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
