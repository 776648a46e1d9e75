"""Secure defaults for every response: CSP with a per-response nonce, security headers,
no caching of any page, the reverse-proxy fix and rate limiting of public POSTs."""
from __future__ import annotations

import secrets

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from portal.templating import HTMX_CDN

# Storage comes from RATELIMIT_STORAGE_URI (Redis in production, so every web process
# shares the counts); limits are read from the config so deployments can tune them.
limiter = Limiter(key_func=get_remote_address)


def csp_nonce() -> str:
    """One nonce per response, for the few inline scripts (the htmx fallback loader)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(nonce: str | None) -> str:
    scripts = ["'self'"]
    if current_app.config.get("HTMX_CDN"):
        scripts.append(HTMX_CDN)  # the one file, not the whole CDN
    if nonce:
        scripts.append(f"'nonce-{nonce}'")
    return "; ".join([
        "default-src 'self'",
        "script-src " + " ".join(scripts),
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(g.get("csp_nonce")))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Signed survey links carry their token in the path: never leak it to other sites.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "geolocation=(), microphone=(), camera=(), payment=()")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":
        # A shared front-desk PC must not show a resident's case from the cache after logout, and a
        # signed survey link (/s/...) shows a case without any login: no page but the static files
        # is ever kept by a browser or a proxy.
        headers["Cache-Control"] = "no-store"
    return response


def login_failed(response) -> bool:
    """Only failed logins count against the limits (a success redirects)."""
    return response.status_code != 302


def login_account_key() -> str:
    """Account and address together: an attacker elsewhere cannot lock the owner out."""
    name = (request.form.get("username") or "").strip().casefold()
    return f"account:{name}|{get_remote_address()}"


# SMS codes: sending is limited per number and per address, wrong codes per address.
def sending() -> bool:
    return "send" in request.form


def not_sending() -> bool:
    return not sending()


def sms_number_key() -> str:
    from portal.auth.phone import normalize_phone
    return "sms:" + (normalize_phone(request.form.get("phone")) or "invalid")


def sms_number_limit() -> str:
    return current_app.config["SMS_LIMIT_NUMBER"]


def sms_address_limit() -> str:
    return current_app.config["SMS_LIMIT_ADDRESS"]


def code_address_limit() -> str:
    return current_app.config["CODE_LIMIT_ADDRESS"]


def code_failed(response) -> bool:
    return response.status_code != 302


def init_security(app: Flask) -> None:
    proxies = app.config.get("PROXY_COUNT", 0)
    if proxies:
        # Behind nginx: the client address and scheme come from X-Forwarded-* (one hop each).
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    limiter.init_app(app)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_security_headers)
