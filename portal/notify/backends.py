"""Delivery backends: e-mail (file, console or SMTP) and SMS (log, file or a provider).

A backend's `send` must be safe to repeat for the same notification id: the file
backends write one file per id, SMTP sends a fixed Message-ID so mail clients
drop a duplicate if a worker died between sending and recording it, and an SMS
provider gets the notification id as its out-id.
"""
from __future__ import annotations

import json
import logging
import os
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

from flask import current_app

log = logging.getLogger("portal.notify")


class DeliveryError(Exception):
    """The message did not go out; try again later."""


class DeliveryUnknown(DeliveryError):
    """The message may have gone out (e.g. a timeout after it was handed over): resend with the same id."""


def _pause_for_tests() -> None:
    # Lets the crash test kill a worker in the middle of a delivery.
    delay = float(os.environ.get("PORTAL_DELIVERY_DELAY", "0") or 0)
    if delay:
        time.sleep(delay)


def _write_once(directory: str, name: str, payload: str) -> None:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    try:
        tmp.write_text(payload, encoding="utf-8")
        os.replace(tmp, folder / name)  # atomic: a repeat replaces, never duplicates
    except OSError as exc:  # e.g. a full disk: leave no half-written temporary file behind
        tmp.unlink(missing_ok=True)
        raise DeliveryError(f"outbox: {exc}") from exc


def message_id(n) -> str:
    """The same Message-ID on every attempt, so a mail client drops a copy sent twice."""
    created = int(n.created_at.timestamp()) if n.created_at else 0
    domain = (current_app.config["MAIL_FROM"].rpartition("@")[2].strip("> ") or "portal.local")
    return f"<portal-notification-{n.id}-{created}@{domain}>"


def send_email(n) -> None:
    backend = current_app.config["MAIL_BACKEND"]
    msg = EmailMessage()
    msg["Subject"] = n.subject
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = n.address
    msg["Message-ID"] = message_id(n)
    msg.set_content(n.body or n.subject)
    _pause_for_tests()
    if backend == "console":
        log.info("e-mail to %s: %s", n.address, n.subject)
    elif backend == "file":
        _write_once(current_app.config["OUTBOX_DIR"], f"email-{n.id}.eml", msg.as_string())
    elif backend == "smtp":
        _send_smtp(msg)
    else:
        raise DeliveryError(f"unknown MAIL_BACKEND {backend!r}")


def _send_smtp(msg: EmailMessage) -> None:
    """Connection and refusals are failures; a timeout or a hang-up once the message is handed over is unknown."""
    cfg = current_app.config
    try:
        smtp = smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT"])
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP: {exc}") from exc
    with smtp:
        try:
            if cfg["SMTP_STARTTLS"]:
                smtp.starttls()
            if cfg["SMTP_USER"]:
                smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP: {exc}") from exc
        try:
            smtp.send_message(msg)
        except (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionResetError) as exc:
            raise DeliveryUnknown(f"SMTP: {exc or type(exc).__name__}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP: {exc}") from exc


class SmsProvider:
    """The interface an SMS gateway adapter implements.

    `notification_id` is the gateway's out-id (idempotency field): every attempt at one
    notification sends the same one, so the gateway can drop a repeat.
    """

    def send(self, notification_id: int, phone: str, text: str) -> None:
        raise NotImplementedError

    def already_sent(self, notification_id: int) -> bool:
        """Whether an earlier attempt is known to have gone out (False when the gateway cannot tell)."""
        return False


class LogSms(SmsProvider):
    def send(self, notification_id: int, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", phone, text)


class FileSms(SmsProvider):
    def send(self, notification_id: int, phone: str, text: str) -> None:
        payload = json.dumps({"id": notification_id, "phone": phone, "text": text}, ensure_ascii=False)
        _write_once(current_app.config["OUTBOX_DIR"], f"sms-{notification_id}.json", payload)

    def already_sent(self, notification_id: int) -> bool:
        return (Path(current_app.config["OUTBOX_DIR"]) / f"sms-{notification_id}.json").exists()


SMS_PROVIDERS: dict[str, type[SmsProvider]] = {"log": LogSms, "file": FileSms}


def send_sms(n) -> None:
    name = current_app.config["SMS_BACKEND"]
    provider = SMS_PROVIDERS.get(name)
    if provider is None:
        raise DeliveryError(f"unknown SMS_BACKEND {name!r}")
    _pause_for_tests()
    provider().send(n.id, n.address, f"{n.subject} {n.body}".strip()[:300])


def already_delivered(n) -> bool:
    """After an attempt that may have gone out: whether the backend can tell that it did."""
    if n.channel == "email" and current_app.config["MAIL_BACKEND"] == "file":
        return (Path(current_app.config["OUTBOX_DIR"]) / f"email-{n.id}.eml").exists()
    if n.channel == "sms":
        provider = SMS_PROVIDERS.get(current_app.config["SMS_BACKEND"])
        return provider is not None and provider().already_sent(n.id)
    return False


# Channels that areas above add when the app is built (webhooks: portal.webhooks.sender).
CHANNELS: dict[str, Callable] = {}


def deliver(n) -> None:
    """Send one outbox row on its channel (in-app rows need no sending)."""
    if n.channel == "email":
        send_email(n)
    elif n.channel == "sms":
        send_sms(n)
    elif n.channel in CHANNELS:
        CHANNELS[n.channel](n)
