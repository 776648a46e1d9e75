"""Sending one webhook delivery: POST the stored payload, signed, and log the attempt.

Headers (docs/api.md): X-Portal-Event (type), X-Portal-Event-Id (the same on every attempt: the
receiver drops a repeat), X-Portal-Timestamp (Unix seconds of this attempt) and
X-Portal-Signature: `sha256=` + hex HMAC-SHA256(secret, timestamp + "." + body).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.request

from flask import current_app

from portal.extensions import db
from portal.models import WebhookAttempt, WebhookSubscription
from portal.notify import backends
from portal.timeutil import utcnow
from portal.webhooks.events import subscription_of


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def send(n) -> None:
    """Deliver one outbox row of the `webhook` channel; a non-2xx answer or a refused connection fails it,
    a timeout after the request went out is an unknown outcome (resent with the same event id)."""
    sub = db.session.get(WebhookSubscription, subscription_of(n.dedup_key) or 0)
    if sub is None:
        raise backends.DeliveryError("webhook: subscription gone")
    body = n.body.encode()
    timestamp = str(int(time.time()))
    event = json.loads(n.body)
    request = urllib.request.Request(sub.url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "portal-webhooks/1",
        "X-Portal-Event": event["type"], "X-Portal-Event-Id": event["id"], "X-Portal-Timestamp": timestamp,
        "X-Portal-Signature": signature(sub.secret, timestamp, body)})
    started = time.monotonic()
    attempt = WebhookAttempt(notification_id=n.id, at=utcnow())
    db.session.add(attempt)
    try:
        with urllib.request.urlopen(request, timeout=current_app.config["WEBHOOK_TIMEOUT"]) as answer:
            attempt.status_code = answer.status
    except urllib.error.HTTPError as exc:
        attempt.status_code, attempt.error = exc.code, f"HTTP {exc.code}"
        raise backends.DeliveryError(f"webhook: HTTP {exc.code}") from exc
    except (TimeoutError, socket.timeout) as exc:
        attempt.error = "timeout"
        raise backends.DeliveryUnknown("webhook: timeout") from exc
    except (urllib.error.URLError, OSError) as exc:
        attempt.error = str(getattr(exc, "reason", exc))[:500]
        raise backends.DeliveryError(f"webhook: {attempt.error}") from exc
    finally:
        attempt.duration_ms = int((time.monotonic() - started) * 1000)


def register() -> None:
    backends.CHANNELS["webhook"] = send
