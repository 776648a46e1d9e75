"""A loopback HTTP server that speaks the SMS gateways' and WeChat's protocols, for tests.

- `POST /aliyun/`: dysmsapi SendSms (form body). Checks the signature version 1.0
  (HMAC-SHA1 of "POST&%2F&" + the encoded, sorted query, key SECRET + "&"), the timestamp
  (15 minutes) and that no SignatureNonce is used twice; answers {"Code": "OK", ...} or an
  error code like the real gateway.
- `POST /tencent/`: SendSms of API 3.0. Checks the TC3-HMAC-SHA256 Authorization header over
  the canonical request, the action, version and timestamp.
- `GET /cgi-bin/token`, `POST /cgi-bin/message/template/send`: WeChat. Hands out access
  tokens for the right app id and secret, refuses expired or unknown ones (40001/42001),
  and drops a repeated client_msg_id for the same openid.
Modes (`stub.mode`): "ok", "refuse" (the gateway says no), "hang" (reads the request, then
answers after `hang_seconds`), "unfollowed" (WeChat 43004).

The checks are written from the providers' documents, separately from portal.notify.gateways.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY_ID, SECRET = "LTAI-test-key", "test-secret-0123456789"
APP_ID, APP_SECRET = "wx-test-app", "wechat-test-secret"


def _pop(value: str) -> str:
    # POP encoding from the Aliyun document: URL-encode UTF-8, then "+"→%20, "*"→%2A, %7E→"~".
    return urllib.parse.quote_plus(value).replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def aliyun_expected(form: dict[str, str], secret: str) -> str:
    query = "&".join(f"{_pop(k)}={_pop(form[k])}" for k in sorted(form) if k != "Signature")
    text = "POST&" + _pop("/") + "&" + _pop(query)
    return base64.b64encode(hmac.new((secret + "&").encode(), text.encode(), hashlib.sha1).digest()).decode()


def tencent_expected(headers, body: bytes, secret_key: str) -> str:
    timestamp = int(headers["X-TC-Timestamp"])
    day = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    canonical = (f"POST\n/\n\ncontent-type:{headers['Content-Type'].lower()}\nhost:{headers['Host'].lower()}\n\n"
                 f"content-type;host\n{hashlib.sha256(body).hexdigest()}")
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{day}/sms/tc3_request\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = ("TC3" + secret_key).encode()
    for part in (day, "sms", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class GatewayStub:
    def __init__(self, hang_seconds: float = 3.0):
        self.mode = "ok"
        self.hang_seconds = hang_seconds
        self.sms: list[dict] = []          # accepted SMS: {"gateway", "phone", "template", "params", "out_id"}
        self.rejected: list[str] = []      # error codes answered
        self.wechat: list[dict] = []       # template messages accepted (duplicates dropped)
        self.token_fetches = 0
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.nonces: set[str] = set()
        self.seen_msg_ids: set[tuple[str, str]] = set()
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stub._dispatch(self, b"")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stub._dispatch(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "GatewayStub":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    # -- protocol ----------------------------------------------------------------------------
    def _dispatch(self, handler, body: bytes) -> None:
        path, _, query = handler.path.partition("?")
        if self.mode == "hang":
            time.sleep(self.hang_seconds)
        routes = {"/aliyun/": self._aliyun, "/tencent/": self._tencent, "/cgi-bin/token": self._token,
                  "/cgi-bin/message/template/send": self._template}
        status, answer = routes[path](handler.headers, body, dict(urllib.parse.parse_qsl(query)))
        data = json.dumps(answer, ensure_ascii=False).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _reject(self, status: int, code: str, answer: dict):
        self.rejected.append(code)
        return status, answer

    def _aliyun(self, headers, body: bytes, query):
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        required = {"AccessKeyId", "Action", "PhoneNumbers", "SignName", "TemplateCode", "Signature",
                    "SignatureNonce", "Timestamp", "SignatureMethod", "SignatureVersion", "Version"}
        if not required <= set(form):
            return self._reject(400, "MissingParameter", {"Code": "MissingParameter", "Message": "missing"})
        if form["AccessKeyId"] != KEY_ID or form["Signature"] != aliyun_expected(form, SECRET):
            return self._reject(400, "SignatureDoesNotMatch", {"Code": "SignatureDoesNotMatch",
                                                               "Message": "Specified signature is not matched"})
        sent = datetime.strptime(form["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        if abs((datetime.now(timezone.utc) - sent).total_seconds()) > 900:
            return self._reject(400, "InvalidTimeStamp.Expired", {"Code": "InvalidTimeStamp.Expired"})
        with self.lock:
            if form["SignatureNonce"] in self.nonces:
                return self._reject(400, "SignatureNonceUsed", {"Code": "SignatureNonceUsed"})
            self.nonces.add(form["SignatureNonce"])
        if self.mode == "refuse":
            return self._reject(200, "isv.BUSINESS_LIMIT_CONTROL", {"Code": "isv.BUSINESS_LIMIT_CONTROL",
                                                                     "Message": "触发分钟级流控Permits:1"})
        self.sms.append({"gateway": "aliyun", "phone": form["PhoneNumbers"], "template": form["TemplateCode"],
                         "params": json.loads(form.get("TemplateParam") or "{}"), "out_id": form.get("OutId"),
                         "sign": form["SignName"]})
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"{len(self.sms)}^0", "RequestId": "stub"}

    def _tencent(self, headers, body: bytes, query):
        auth = headers.get("Authorization", "")
        parts = dict(p.strip().split("=", 1) for p in auth.removeprefix("TC3-HMAC-SHA256 ").split(","))
        error = None
        if not auth.startswith("TC3-HMAC-SHA256 ") or not parts.get("Credential", "").startswith(KEY_ID + "/"):
            error = "AuthFailure.SecretIdNotFound"
        elif parts.get("SignedHeaders") != "content-type;host" or \
                parts.get("Signature") != tencent_expected(headers, body, SECRET):
            error = "AuthFailure.SignatureFailure"
        elif abs(time.time() - int(headers["X-TC-Timestamp"])) > 300:
            error = "AuthFailure.SignatureExpire"
        elif headers.get("X-TC-Action") != "SendSms" or headers.get("X-TC-Version") != "2021-01-11":
            error = "InvalidAction"
        if error:
            return self._reject(200, error, {"Response": {"Error": {"Code": error, "Message": error},
                                                          "RequestId": "stub"}})
        data = json.loads(body)
        if self.mode == "refuse":
            code = "LimitExceeded.PhoneNumberThirtySecondLimit"
            self.rejected.append(code)
            return 200, {"Response": {"SendStatusSet": [{"Code": code, "Message": "30秒内下发短信条数超过上限"}],
                                      "RequestId": "stub"}}
        self.sms.append({"gateway": "tencent", "phone": data["PhoneNumberSet"][0], "template": data["TemplateId"],
                         "params": data["TemplateParamSet"], "out_id": data.get("SessionContext"),
                         "sign": data["SignName"], "app": data["SmsSdkAppId"]})
        return 200, {"Response": {"SendStatusSet": [{"Code": "Ok", "Message": "send success",
                                                     "SerialNo": str(len(self.sms))}], "RequestId": "stub"}}

    def _token(self, headers, body, query):
        if query.get("appid") != APP_ID or query.get("secret") != APP_SECRET:
            return self._reject(200, "40125", {"errcode": 40125, "errmsg": "invalid appsecret"})
        with self.lock:
            self.token_fetches += 1
            token = f"token-{self.token_fetches}"
            self.tokens[token] = time.monotonic() + 7200
        return 200, {"access_token": token, "expires_in": 7200}

    def _template(self, headers, body, query):
        with self.lock:
            valid = query.get("access_token") in self.tokens
        if not valid:
            return self._reject(200, "40001", {"errcode": 40001, "errmsg": "invalid credential"})
        data = json.loads(body)
        if self.mode == "unfollowed":
            return self._reject(200, "43004", {"errcode": 43004, "errmsg": "require subscribe"})
        key = (data["touser"], data.get("client_msg_id", ""))
        with self.lock:
            if key[1] and key in self.seen_msg_ids:
                return 200, {"errcode": 0, "errmsg": "ok", "msgid": 0}  # a repeat: accepted, not sent again
            self.seen_msg_ids.add(key)
            self.wechat.append(data)
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": len(self.wechat)}
