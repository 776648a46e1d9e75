"""WeChat service-account (公众号) template messages to residents who linked their account.

- The access token comes from `/cgi-bin/token` (app id and secret) and is cached until five
  minutes before it expires: in Redis when there is one (every worker and work horse shares
  it: fetching a new token replaces the old one), else in this process. A token the server
  calls invalid or expired (40001, 40014, 42001) is dropped and fetched again once.
- `/cgi-bin/message/template/send` carries `client_msg_id` = `portal-notification-ID`, the
  same on every attempt, so WeChat drops a repeat of one notification.
- The template per kind comes from `WECHAT_TEMPLATES` (JSON: `{"default": {"template_id": "…",
  "data": {"thing1": "title", "thing2": "content", "time3": "time"}}}`): each data key takes
  the notification's title, content, time or case number.
- A resident who unfollowed the account (43004) or blocked messages (43101) is a failure
  that no retry mends: the row fails at once with that reason.
See docs/channels.md.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.parse

from flask import current_app

from portal.notify.backends import CHANNELS, DeliveryError, DeliveryRefused
from portal.notify.gateways import out_id, post
from portal.timeutil import local_now

STALE_TOKEN = {40001, 40014, 42001}
UNREACHABLE = {43004, 43101}
_local: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()
REDIS_KEY = "portal:wechat:access_token"


class Unreachable(DeliveryRefused):
    """The resident cannot receive messages from the account (unfollowed, or refused them)."""


def _api(path: str, **query) -> str:
    base = current_app.config["WECHAT_API"].rstrip("/")
    return f"{base}{path}?{urllib.parse.urlencode(query)}" if query else f"{base}{path}"


def _redis():
    if not current_app.config.get("REDIS_URL"):
        return None
    from portal.jobs import redis_connection
    return redis_connection(current_app._get_current_object())


def access_token(fresh: bool = False) -> str:
    """The account's access token, fetched when there is none cached (or `fresh`)."""
    cfg = current_app.config
    key = f"{REDIS_KEY}:{cfg['WECHAT_APP_ID']}"
    redis = _redis()
    if not fresh:
        cached = _cached(redis, key)
        if cached:
            return cached
    answer = post(_api("/cgi-bin/token", grant_type="client_credential", appid=cfg["WECHAT_APP_ID"],
                       secret=cfg["WECHAT_APP_SECRET"]), None, {}, "wechat-token")
    token = answer.get("access_token")
    if not token:
        raise DeliveryError(f"wechat-token: {answer.get('errcode', '?')}: {answer.get('errmsg', '')}")
    ttl = max(int(answer.get("expires_in", 7200)) - 300, 60)
    if redis is not None:
        redis.set(key, token, ex=ttl)
    with _lock:
        _local[key] = (token, time.monotonic() + ttl)
    return token


def _cached(redis, key: str) -> str | None:
    if redis is not None:
        value = redis.get(key)
        return value.decode() if value else None
    with _lock:
        token, until = _local.get(key, ("", 0.0))
    return token if token and time.monotonic() < until else None


def forget_token() -> None:
    """Drop the cached token (tests; after the app secret changed)."""
    key = f"{REDIS_KEY}:{current_app.config['WECHAT_APP_ID']}"
    redis = _redis()
    if redis is not None:
        redis.delete(key)
    with _lock:
        _local.pop(key, None)


def template_for(kind: str) -> dict:
    templates = current_app.config["WECHAT_TEMPLATES"]
    found = templates.get(kind) or templates.get("default")
    if not found or not found.get("template_id"):
        raise DeliveryError(f"wechat: no template configured for {kind!r} (WECHAT_TEMPLATES)")
    return found


def message(n) -> dict:
    """The template message for one outbox row."""
    template = template_for(n.kind)
    values = {
        "title": n.subject[:20], "content": (n.body or n.subject)[:20],
        "time": local_now().strftime("%Y-%m-%d %H:%M"),
        "case": n.case.number if n.case_id and n.case is not None else "",
    }
    body = {"touser": n.address, "template_id": template["template_id"], "client_msg_id": out_id(n.id),
            "data": {key: {"value": values.get(source, source)} for key, source in template.get("data", {
                "thing1": "title", "thing2": "content", "time3": "time"}).items()}}
    if n.case_id and current_app.config.get("PORTAL_URL"):
        body["url"] = f"{current_app.config['PORTAL_URL'].rstrip('/')}/cases/{n.case_id}"
    return body


def send(n) -> None:
    """Send one outbox row as a template message; a stale token is fetched again once."""
    payload = json.dumps(message(n), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    for fresh in (False, True):
        url = _api("/cgi-bin/message/template/send", access_token=access_token(fresh=fresh))
        answer = post(url, payload, headers, "wechat")
        code = int(answer.get("errcode", -1))
        if code == 0:
            return
        if code not in STALE_TOKEN:
            break
    error = f"wechat: {code}: {answer.get('errmsg', '')}"
    raise Unreachable(error) if code in UNREACHABLE else DeliveryError(error)


CHANNELS["wechat"] = send
