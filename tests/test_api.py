"""The integration API: keys, scopes, case creation with idempotency, reads, changes, callers, callbacks."""
from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from portal.api import keys
from portal.extensions import db
from portal.models import ApiKey, AuditEntry, Case, CaseEvent, CallbackTask, Status
from portal.timeutil import utcnow
from tests import factories
from tests.api_helpers import auth, make_key
from tests.conftest import post

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def key(people):
    return make_key([people["ref"]["estate"]])


def _create(client, secret, idem=None, lang="zh-CN", **fields):
    data = {"kind": "repair", "description": "厨房水管漏水", **fields}
    headers = auth(secret, lang)
    if idem:
        headers["Idempotency-Key"] = idem
    return client.post("/api/v1/cases", data=data, headers=headers, content_type="multipart/form-data")


def test_no_key_or_a_wrong_one_is_refused_in_json(client, people, key):
    assert client.get("/api/v1/cases/changes").status_code == 401
    response = client.get("/api/v1/cases/changes", headers=auth("pk_deadbeef_nope", "en"))
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized" and "integration key" in response.json["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_cookie_is_no_key(client, people, key):
    from tests.conftest import login_as
    login_as(client, people["manager"])
    assert client.get("/api/v1/cases/changes").status_code == 401


def test_key_is_stored_hashed_and_shown_once(app, people, key):
    row, secret = key
    assert secret not in (row.key_hash, row.prefix) and row.key_hash == keys.digest(secret)
    assert keys.find(secret).id == row.id and keys.find(secret + "x") is None


def test_create_case_by_mobile_finds_the_resident_and_goes_through_the_lifecycle(client, people, key):
    _, secret = key
    resident = people["resident"]
    response = _create(client, secret, mobile=f"+86 {resident.phone}", location="厨房",
                       category="utilities")
    assert response.status_code == 201, response.json
    body = response.json
    case = db.session.scalar(select(Case).where(Case.number == body["number"]))
    assert case.resident_id == resident.id and case.unit_id == resident.unit_id
    assert case.channel.value == "phone" and case.category.code == "utilities"
    assert db.session.scalar(select(CaseEvent.action).where(CaseEvent.case_id == case.id)) == "register"
    assert body["status"] == "registered" and body["timeline"][0]["action"] == "register"
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "api_call")).all()
    assert any(case.number in a.summary and a.action == "api.create_case" for a in audit)


def test_create_case_with_photos(client, people, key):
    _, secret = key
    data = {"kind": "repair", "description": "墙面开裂", "unit": "1栋-0202",
            "photos": [(io.BytesIO(PNG), "a.png")]}
    response = client.post("/api/v1/cases", data=data, headers=auth(secret), content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    case = db.session.scalar(select(Case).where(Case.number == response.json["number"]))
    assert len(case.attachments) == 1 and case.unit_id == people["ref"]["units"][1].id


def test_validation_errors_name_the_field_in_the_requests_language(client, people, key):
    _, secret = key
    response = _create(client, secret, lang="en", kind="nonsense", description="")
    assert response.status_code == 422
    assert set(response.json["fields"]) >= {"kind", "description"}
    assert response.json["message"] == "Some fields are missing or not valid."
    zh = _create(client, secret, lang="zh-CN", kind="nonsense")
    assert zh.json["message"] != "Some fields are missing or not valid." and "kind" in zh.json["fields"]


def test_idempotency_key_creates_one_case(client, people, key):
    _, secret = key
    first = _create(client, secret, idem="call-42")
    again = _create(client, secret, idem="call-42")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["number"] == first.json["number"] and again.json["replayed"] is True
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    other = _create(client, secret, idem="call-42", description="别的事情")
    assert other.status_code == 422 and other.json["code"] == "idempotency_conflict"


def test_concurrent_retries_create_one_case(app, people, key):
    """Two threads with the same Idempotency-Key: the unique constraint leaves one case."""
    _, secret = key
    if app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://":
        pytest.skip("an in-memory SQLite database is one connection; PostgreSQL runs this")
    results = []
    barrier = threading.Barrier(2)

    def call():
        client = app.test_client()
        barrier.wait()
        results.append(_create(client, secret, idem="race-1").status_code)

    threads = [threading.Thread(target=call) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    assert sorted(results) in ([200, 201], [201, 409])


def test_a_key_for_one_estate_cannot_read_or_create_in_another(client, people, elsewhere, key):
    _, secret = key
    theirs = factories.case(elsewhere["resident"])
    db.session.commit()
    assert client.get(f"/api/v1/cases/{theirs.number}", headers=auth(secret)).status_code == 404
    refused = _create(client, secret, estate=elsewhere["ref"]["estate"].name)
    assert refused.status_code == 422 and "estate" in refused.json["fields"]
    refused = _create(client, secret, mobile=elsewhere["resident"].phone)
    assert refused.status_code == 201
    made = db.session.scalar(select(Case).where(Case.number == refused.json["number"]))
    assert made.resident_id is None and made.estate_id == people["ref"]["estate"].id
    changed = client.get("/api/v1/cases/changes", headers=auth(secret)).json["items"]
    assert theirs.number not in [c["number"] for c in changed]


def test_a_key_a_manager_revokes_is_refused_at_once(client, people, key, as_):
    row, secret = key
    assert client.get("/api/v1/cases/changes", headers=auth(secret)).status_code == 200
    manager = as_("manager")
    assert post(manager, f"/admin/integrations/keys/{row.id}/revoke").status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiKey, row.id).revoked_at is not None
    assert client.get("/api/v1/cases/changes", headers=auth(secret)).status_code == 401


def test_permissions_are_enforced(client, people):
    _, secret = make_key([people["ref"]["estate"]], ["cases:read"])
    response = _create(client, secret)
    assert response.status_code == 403 and response.json["code"] == "forbidden"
    assert client.get("/api/v1/callers?mobile=13800000000", headers=auth(secret)).status_code == 403


def test_rate_limit_per_key(client, people):
    _, secret = make_key([people["ref"]["estate"]], rate=2)
    other_key, other = make_key([people["ref"]["estate"]], rate=2, name="微信")
    codes = [client.get("/api/v1/cases/changes", headers=auth(secret)).status_code for _ in range(3)]
    assert codes[:2] == [200, 200] and codes[2] == 429
    assert client.get("/api/v1/cases/changes", headers=auth(other)).status_code == 200
    assert db.session.get(ApiKey, other_key.id).last_used_at is not None


def test_read_case_shows_public_events_only(client, people, key):
    _, secret = key
    case = factories.advance(factories.case(people["resident"]), ["classify", "dispatch"], people)
    from portal.cases.lifecycle import perform
    perform(case, people["manager"], "instruct", {"note": "内部指示：先查监控"})
    db.session.commit()
    body = client.get(f"/api/v1/cases/{case.number}", headers=auth(secret)).json
    assert body["status"] == "dispatched"
    assert "内部指示" not in str(body) and people["resident"].phone not in str(body)
    assert [e["action"] for e in body["timeline"]][:1] == ["register"]


def test_changes_since_a_cursor_pages_and_resumes(client, people, key):
    _, secret = key
    start = utcnow() - timedelta(hours=1)
    with time_machine.travel(start, tick=False):
        made = [factories.case(people["resident"], description=f"第{i}件") for i in range(5)]
        db.session.commit()
    seen, cursor = [], ""
    for _ in range(3):
        page = client.get("/api/v1/cases/changes", query_string={"cursor": cursor, "limit": 2},
                          headers=auth(secret)).json
        seen += [c["number"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [c.number for c in made]
    assert client.get("/api/v1/cases/changes", query_string={"cursor": cursor},
                      headers=auth(secret)).json["items"] == []
    from portal.cases.lifecycle import perform
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        perform(db.session.get(Case, made[1].id), people["clerk"], "comment", {"note": "已联系"})
        db.session.commit()
    page = client.get("/api/v1/cases/changes", query_string={"cursor": cursor}, headers=auth(secret)).json
    assert [c["number"] for c in page["items"]] == [made[1].number]
    bad = client.get("/api/v1/cases/changes", query_string={"cursor": "forged"}, headers=auth(secret))
    assert bad.status_code == 422 and "cursor" in bad.json["fields"]


def test_caller_lookup_shows_household_and_cases(client, people, key):
    _, secret = key
    case = factories.case(people["resident"])
    db.session.commit()
    body = client.get("/api/v1/callers", query_string={"mobile": people["resident"].phone}, headers=auth(secret)).json
    assert body["known"] and body["name"] == "张三"
    assert body["households"][0]["unit"] == "1栋-0101"
    assert [c["number"] for c in body["open_cases"]] == [case.number]
    unknown = client.get("/api/v1/callers", query_string={"mobile": "13999999999"}, headers=auth(secret)).json
    assert unknown == {"known": False, "name": None, "households": [], "open_cases": [], "recent_cases": []}


def test_caller_of_another_estate_is_not_shown(client, people, elsewhere, key):
    _, secret = key
    factories.case(elsewhere["resident"])
    db.session.commit()
    body = client.get("/api/v1/callers", query_string={"mobile": elsewhere["resident"].phone},
                      headers=auth(secret)).json
    assert body["known"] is False and body["open_cases"] == [] and body["households"] == []


def test_record_callback_goes_through_the_callback_rules(client, people, key):
    _, secret = key
    case = factories.advance(factories.case(people["resident"]), ["classify", "dispatch", "accept", "complete"], people)
    db.session.commit()
    assert db.session.scalar(select(CallbackTask).where(CallbackTask.case_id == case.id)) is not None
    response = client.post(f"/api/v1/cases/{case.number}/callbacks", headers=auth(secret),
                           json={"reached": True, "satisfaction": "satisfied", "quality_rating": 5})
    assert response.status_code == 201, response.json
    assert response.json["outcome"] == "done"
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == Status.CALLBACK_DONE
    again = client.post(f"/api/v1/cases/{case.number}/callbacks", headers=auth(secret), json={"reached": False})
    assert again.status_code == 409 and again.json["code"] == "no_callback_due"
    missing = client.post(f"/api/v1/cases/{case.number}/callbacks", headers=auth(secret), json={})
    assert missing.status_code == 422 and "reached" in missing.json["fields"]


def test_cli_creates_a_key_and_prints_it_last(app, runner, people):
    result = runner.invoke(args=["api-key", "create", "呼叫中心", "--estate", "测试花园", "--allow",
                                 "cases:create,cases:read"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    key = keys.find(secret)
    assert key is not None and key.allowed == {"cases:create", "cases:read"}
    bad = runner.invoke(args=["api-key", "create", "x", "--estate", "测试花园", "--allow", "cases:delete"])
    assert bad.exit_code != 0
