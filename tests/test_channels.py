"""SMS through Aliyun's and Tencent's HTTP APIs and WeChat template messages, behind the outbox.

Every request goes to a loopback server that speaks the provider's protocol and checks its
signature (tests/gateway_stub.py); nothing leaves the machine.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.auth.codes import send_code
from portal.extensions import db
from portal.models import Notification
from portal.notify import gateways, jobs, wechat
from portal.notify.outbox import notify
from portal.timeutil import utcnow
from tests import gateway_stub
from tests.conftest import post
from tests.gateway_stub import GatewayStub

TEMPLATES = {"resident_sign_in_code": "SMS_100001", "default": "SMS_100002"}


@pytest.fixture
def stub():
    with GatewayStub(hang_seconds=2) as running:
        yield running


def _sms(app, stub, gateway: str, **extra) -> None:
    app.config.update({"SMS_BACKEND": gateway, "SMS_ENDPOINT": f"{stub.url}/{gateway}/",
                       "SMS_ACCESS_KEY_ID": gateway_stub.KEY_ID, "SMS_ACCESS_KEY_SECRET": gateway_stub.SECRET,
                       "SMS_SIGN_NAME": "物业服务中心", "SMS_APP_ID": "1400000001", "SMS_TEMPLATES": TEMPLATES,
                       "SMS_TIMEOUT": 5, **extra})


def _notice(people, key="notice:1", kind="resident_received") -> Notification:
    ids = notify([people["resident"]], kind, "您的报修已受理", "工程部将在两小时内上门", key)
    db.session.commit()
    return db.session.scalars(select(Notification).where(Notification.id.in_(ids),
                                                         Notification.channel != "inapp")).one()


def test_the_signatures_match_the_providers_published_examples():
    aliyun_doc = {"AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
                  "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
                  "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
                  "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
                  "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25"}
    assert gateways.aliyun_signature(aliyun_doc, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    header = gateways.tc3_authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", "Gu5t9xGARNpq86cd98joQYCN3*******",
                                        "cvm", "cvm.tencentcloudapi.com", "application/json; charset=utf-8",
                                        payload, 1551113065)
    assert header == ("TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
                      "SignedHeaders=content-type;host, Signature="
                      "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c")


def test_a_residents_notice_goes_out_through_aliyun_with_its_template_and_out_id(app, people, stub):
    _sms(app, stub, "aliyun")
    n = _notice(people)
    db.session.refresh(n)
    assert (n.channel, n.status) == ("sms", "sent"), n.last_error
    assert stub.rejected == [] and len(stub.sms) == 1
    sent = stub.sms[0]
    assert sent["phone"] == people["resident"].phone and sent["template"] == "SMS_100002"
    assert sent["params"] == {"title": "您的报修已受理", "content": "工程部将在两小时内上门"}
    assert sent["out_id"] == f"portal-notification-{n.id}" and sent["sign"] == "物业服务中心"


def test_a_sign_in_code_goes_out_through_tencent_as_the_code_template(app, people, stub):
    _sms(app, stub, "tencent")
    resident = people["resident"]
    send_code(resident, resident.phone, "127.0.0.1")
    db.session.commit()
    n = db.session.scalars(select(Notification).where(Notification.kind == "resident_sign_in_code")).one()
    assert n.status == "sent", n.last_error
    assert stub.rejected == [] and len(stub.sms) == 1
    sent = stub.sms[0]
    assert sent["phone"] == f"+86{resident.phone}" and sent["template"] == "SMS_100001"
    assert len(sent["params"]) == 1 and sent["params"][0] in n.body and sent["params"][0].isdigit()
    assert sent["out_id"] == f"portal-notification-{n.id}" and sent["app"] == "1400000001"


@pytest.mark.parametrize("gateway", ["aliyun", "tencent"])
def test_a_wrong_secret_is_refused_by_the_gateway_and_retried_later(app, people, stub, gateway):
    _sms(app, stub, gateway, SMS_ACCESS_KEY_SECRET="not-the-secret")
    n = _notice(people)
    db.session.refresh(n)
    assert stub.sms == [] and stub.rejected == ["SignatureDoesNotMatch" if gateway == "aliyun"
                                                else "AuthFailure.SignatureFailure"]
    assert (n.status, n.errors) == ("pending", 1) and n.last_error.startswith(f"{gateway}-sms: ")
    assert jobs.reason_of(n.last_error) == f"{gateway}-sms"      # one group for the bulk retry


@pytest.mark.parametrize("gateway", ["aliyun", "tencent"])
def test_a_gateway_refusal_is_a_failure_and_the_next_attempt_goes_out(app, people, stub, gateway):
    _sms(app, stub, gateway, NOTIFY_RETRY_DELAYS=(1, 1))
    stub.mode = "refuse"
    n = _notice(people)
    db.session.refresh(n)
    assert (n.status, n.errors) == ("pending", 1) and "LIMIT" in n.last_error.upper()
    stub.mode = "ok"
    assert jobs.deliver(n.id, at=utcnow() + timedelta(seconds=5)) == "sent"
    assert [s["out_id"] for s in stub.sms] == [f"portal-notification-{n.id}"]


def test_no_answer_from_the_gateway_is_unknown_and_retried_with_the_same_out_id(app, people, stub):
    _sms(app, stub, "aliyun", SMS_TIMEOUT=0.5, NOTIFY_RETRY_DELAYS=(1, 1))
    stub.mode = "hang"
    n = _notice(people)
    db.session.refresh(n)
    assert n.status == "pending" and n.errors == 0 and n.last_error.startswith("unknown: aliyun-sms")
    stub.mode = "ok"
    assert jobs.deliver(n.id, at=utcnow() + timedelta(seconds=5)) == "sent"
    stub.server.shutdown()  # let the hung request finish before counting
    assert {s["out_id"] for s in stub.sms} == {f"portal-notification-{n.id}"}


def _wechat(app, stub, **extra) -> None:
    app.config.update(WECHAT_APP_ID=gateway_stub.APP_ID, WECHAT_APP_SECRET=gateway_stub.APP_SECRET,
                      WECHAT_API=stub.url, PORTAL_URL="https://portal.example.com", WECHAT_TEMPLATES={
                          "default": {"template_id": "TPL-default",
                                      "data": {"thing1": "title", "thing2": "content", "time3": "time"}}},
                      **extra)
    wechat.forget_token()   # a token another test's server handed out


def test_a_linked_resident_gets_a_wechat_template_message_instead_of_an_sms(app, people, stub):
    _wechat(app, stub)
    _sms(app, stub, "aliyun")
    people["resident"].wechat_openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    first, second = _notice(people, "notice:1"), _notice(people, "notice:2")
    for n in (first, second):
        db.session.refresh(n)
        assert (n.channel, n.status, n.address) == ("wechat", "sent", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"), n.last_error
    assert stub.sms == [] and stub.token_fetches == 1          # the token is cached between messages
    message = stub.wechat[0]
    assert message["touser"] == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" and message["template_id"] == "TPL-default"
    assert message["client_msg_id"] == f"portal-notification-{first.id}"
    assert message["data"]["thing1"] == {"value": "您的报修已受理"}
    assert message["data"]["thing2"] == {"value": "工程部将在两小时内上门"}
    assert "time3" in message["data"]
    unlinked = notify([people["other_resident"]], "resident_received", "已受理", "", "notice:3")
    db.session.commit()
    assert {n.channel for n in db.session.scalars(select(Notification).where(Notification.id.in_(unlinked)))} \
        == {"inapp", "sms"}


def test_an_expired_token_is_fetched_again_and_a_resend_is_dropped_by_its_client_msg_id(app, people, stub):
    _wechat(app, stub)
    people["resident"].wechat_openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    n = _notice(people)
    stub.expire_tokens()                       # WeChat ended the token early (another fetch, a reset)
    n.status, n.claimed_at = "sending", utcnow() - timedelta(hours=1)   # a worker died after sending
    db.session.commit()
    assert jobs.deliver(n.id) == "sent"
    assert stub.token_fetches == 2 and stub.rejected == ["40001"]
    assert len(stub.wechat) == 1               # the repeat carried the same client_msg_id


def test_a_resident_who_unfollowed_the_account_fails_at_once(app, people, stub):
    _wechat(app, stub)
    people["resident"].wechat_openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    stub.mode = "unfollowed"
    n = _notice(people)
    db.session.refresh(n)
    assert (n.status, n.attempts) == ("failed", 1) and n.last_error.startswith("wechat: 43004")


def test_a_wechat_token_is_shared_through_redis_when_there_is_one(app, people, stub):
    import fakeredis
    app.extensions["portal_redis"] = fakeredis.FakeRedis()
    _wechat(app, stub, REDIS_URL="redis://fake")
    try:
        assert wechat.access_token() == wechat.access_token() == "token-1"
        assert app.extensions["portal_redis"].ttl(f"{wechat.REDIS_KEY}:{gateway_stub.APP_ID}") > 6000
        wechat._local.clear()                  # another process: no token of its own
        assert wechat.access_token() == "token-1" and stub.token_fetches == 1
    finally:
        app.config["REDIS_URL"] = None
        app.extensions.pop("portal_redis")


def test_a_manager_links_a_residents_wechat_account_on_the_resident_page(app, people, as_):
    client = as_("manager")
    resident = people["resident"]
    url = f"/admin/residents/{resident.id}"
    bad = post(client, url, {"name": resident.display_name, "mobile": resident.phone, "wechat_openid": "不是 openid"})
    assert bad.status_code == 200 and "openid" in bad.get_data(as_text=True)
    db.session.refresh(resident)
    assert resident.wechat_openid is None
    ok = post(client, url, {"name": resident.display_name, "mobile": resident.phone,
                            "wechat_openid": " oUpF8uMuAJO_M2pxb1Q9zNjWeS6o "})
    assert ok.status_code == 302
    db.session.refresh(resident)
    assert resident.wechat_openid == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    other = people["other_resident"]
    taken = post(client, f"/admin/residents/{other.id}", {"name": other.display_name, "mobile": other.phone,
                                                          "wechat_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"})
    assert taken.status_code == 200 and "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" in taken.get_data(as_text=True)
    db.session.refresh(other)
    assert other.wechat_openid is None
    cleared = post(client, url, {"name": resident.display_name, "mobile": resident.phone, "wechat_openid": ""})
    assert cleared.status_code == 302
    db.session.refresh(resident)
    assert resident.wechat_openid is None
