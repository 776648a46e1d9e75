"""SMS through the common Chinese gateways' HTTP APIs: Aliyun dysmsapi and Tencent Cloud SMS.

Both gateways send only approved templates: a template id per kind of notification
(`SMS_TEMPLATES`, JSON `{"resident_sign_in_code": "SMS_1234", "default": "SMS_5678"}`) and
its parameters (`template_params`): a sign-in code's template has one variable, `code`;
every other template has two, `title` and `content` (Tencent: {1} and {2}, in that order).

Every attempt at one notification sends the same out-id (Aliyun `OutId`, Tencent
`SessionContext`: `portal-notification-ID`), so delivery receipts and the gateway's own
logs match a repeat to its notification. A request that fails to connect, or that the
gateway refuses, is a plain failure (retried on the back-off); a timeout once the request
was sent is unknown (`DeliveryUnknown`: retried with the same out-id). See docs/channels.md.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

from flask import current_app

from portal.notify.backends import SMS_PROVIDERS, DeliveryError, DeliveryUnknown, SmsProvider

CODE = re.compile(r"\d{4,8}")


def out_id(notification_id: int) -> str:
    return f"portal-notification-{notification_id}"


def template_id(kind: str) -> str:
    """The gateway's template for this kind of notification (SMS_TEMPLATES), else its default."""
    templates = current_app.config["SMS_TEMPLATES"]
    found = templates.get(kind) or templates.get("default")
    if not found:
        raise DeliveryError(f"SMS template: none configured for {kind!r} (SMS_TEMPLATES)")
    return found


def template_params(kind: str, subject: str, body: str) -> dict[str, str]:
    """The template's variables, in order: a sign-in code's `code`; otherwise `title` and `content`."""
    if kind == "resident_sign_in_code":
        found = CODE.search(body)
        return {"code": found.group(0) if found else ""}
    return {"title": subject[:20], "content": (body or subject)[:35]}


def post(url: str, data: bytes | None, headers: dict[str, str], what: str) -> dict:
    """One HTTP request; the JSON answer. Not sent: DeliveryError; sent, no answer: DeliveryUnknown."""
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=current_app.config["SMS_TIMEOUT"]) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            return json.loads(exc.read().decode("utf-8"))
        except ValueError:
            raise DeliveryError(f"{what}: HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:  # while connecting or sending: the request did not get through
        raise DeliveryError(f"{what}: {exc.reason}") from exc
    except (TimeoutError, ConnectionResetError, http.client.HTTPException) as exc:  # sent, no answer
        raise DeliveryUnknown(f"{what}: no answer ({type(exc).__name__})") from exc
    except ValueError as exc:
        raise DeliveryError(f"{what}: the answer is not JSON") from exc


def _mainland(phone: str) -> str:
    return phone.removeprefix("+86")


class TemplateSms(SmsProvider):
    """A gateway that sends approved templates: the row's kind picks the template, its text the parameters."""

    def send(self, notification_id: int, phone: str, text: str) -> None:
        self.send_template(notification_id, phone, "", text, text)

    def send_notification(self, n) -> None:
        self.send_template(n.id, n.address, n.kind, n.subject, n.body)

    def send_template(self, notification_id: int, phone: str, kind: str, subject: str, body: str) -> None:
        raise NotImplementedError


class AliyunSms(TemplateSms):
    """Aliyun dysmsapi SendSms (RPC style, signature version 1.0: HMAC-SHA1 over the sorted query)."""

    name = "aliyun"

    def send_template(self, notification_id: int, phone: str, kind: str, subject: str, body: str) -> None:
        cfg = current_app.config
        params = {
            "AccessKeyId": cfg["SMS_ACCESS_KEY_ID"], "Action": "SendSms", "Format": "JSON",
            "OutId": out_id(notification_id), "PhoneNumbers": _mainland(phone), "RegionId": cfg["SMS_REGION"] or
            "cn-hangzhou", "SignName": cfg["SMS_SIGN_NAME"], "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": secrets.token_hex(16), "SignatureVersion": "1.0",
            "TemplateCode": template_id(kind), "TemplateParam": json.dumps(template_params(kind, subject, body),
                                                                           ensure_ascii=False),
            "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(params, cfg["SMS_ACCESS_KEY_SECRET"], "POST")
        body_bytes = urllib.parse.urlencode(params).encode()
        answer = post(cfg["SMS_ENDPOINT"] or "https://dysmsapi.aliyuncs.com/", body_bytes,
                      {"Content-Type": "application/x-www-form-urlencoded"}, "aliyun-sms")
        if answer.get("Code") != "OK":
            raise DeliveryError(f"aliyun-sms: {answer.get('Code', '?')}: {answer.get('Message', '')}")


def _percent(value: str) -> str:
    """Aliyun's POP encoding: RFC 3986 with space as %20, '*' as %2A and '~' kept."""
    return urllib.parse.quote(value, safe="~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Signature version 1.0: HMAC-SHA1(secret + "&", METHOD&%2F&encode(sorted, encoded query)), base64."""
    canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()) if k != "Signature")
    to_sign = f"{method}&{_percent('/')}&{_percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class TencentSms(TemplateSms):
    """Tencent Cloud SMS SendSms (API 3.0, 2021-01-11), signed with TC3-HMAC-SHA256."""

    name = "tencent"

    def send_template(self, notification_id: int, phone: str, kind: str, subject: str, body: str) -> None:
        cfg = current_app.config
        endpoint = cfg["SMS_ENDPOINT"] or "https://sms.tencentcloudapi.com/"
        host = urllib.parse.urlsplit(endpoint).netloc
        payload = json.dumps({
            "PhoneNumberSet": [phone if phone.startswith("+") else f"+86{phone}"],
            "SmsSdkAppId": cfg["SMS_APP_ID"], "SignName": cfg["SMS_SIGN_NAME"], "TemplateId": template_id(kind),
            "TemplateParamSet": list(template_params(kind, subject, body).values()),
            "SessionContext": out_id(notification_id),
        }, ensure_ascii=False, separators=(",", ":"))
        timestamp = int(datetime.now(timezone.utc).timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8", "Host": host, "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11", "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": cfg["SMS_REGION"] or "ap-guangzhou",
        }
        headers["Authorization"] = tc3_authorization(cfg["SMS_ACCESS_KEY_ID"], cfg["SMS_ACCESS_KEY_SECRET"],
                                                     "sms", host, headers["Content-Type"], payload, timestamp)
        answer = post(endpoint, payload.encode("utf-8"), headers, "tencent-sms").get("Response", {})
        if "Error" in answer:
            raise DeliveryError(f"tencent-sms: {answer['Error'].get('Code', '?')}: {answer['Error'].get('Message', '')}")
        status = (answer.get("SendStatusSet") or [{}])[0]
        if status.get("Code") != "Ok":
            raise DeliveryError(f"tencent-sms: {status.get('Code', '?')}: {status.get('Message', '')}")


def _hmac256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def tc3_authorization(secret_id: str, secret_key: str, service: str, host: str, content_type: str,
                      payload: str, timestamp: int) -> str:
    """The Authorization header of Tencent Cloud API 3.0 (TC3-HMAC-SHA256) for a POST of `payload`."""
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    canonical_request = "\n".join([
        "POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
        hashlib.sha256(payload.encode("utf-8")).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                         hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    key = _hmac256(_hmac256(_hmac256(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, "
            f"Signature={signature}")


SMS_PROVIDERS.update({AliyunSms.name: AliyunSms, TencentSms.name: TencentSms})
