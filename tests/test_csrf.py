"""A state change needs the CSRF token; htmx sends it in a header read from the page."""
from __future__ import annotations

import re

import flask_babel
import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Case, CaseEvent
from tests import factories
from tests.conftest import csrf_token, login_as


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _new_case_form(people) -> dict:
    return {"kind": "complaint", "category_id": people["ref"]["water"].id,
            "location_type": "unit", "description": "卫生间漏水"}


@pytest.fixture
def own_case(people):
    case = factories.case(people["resident"])
    db.session.commit()
    return case


def _comment(case, note="请尽快处理") -> dict:
    return {"comment-note": note, "comment-version": str(case.version_id)}


def test_form_post_without_csrf_token_is_refused_and_nothing_is_stored(client, people):
    login_as(client, people["resident"])
    response = client.post("/cases/new", data=_new_case_form(people))
    assert response.status_code == 400
    assert _count(Case) == 0


def test_form_post_with_a_wrong_csrf_token_is_refused(client, people):
    login_as(client, people["resident"])
    response = client.post("/cases/new", data={**_new_case_form(people), "csrf_token": "forged"})
    assert response.status_code == 400
    assert _count(Case) == 0


def test_form_post_with_csrf_token_in_header_is_stored(client, people):
    login_as(client, people["resident"])
    response = client.post("/cases/new", data=_new_case_form(people),
                           headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 302
    assert _count(Case) == 1


def test_htmx_post_without_csrf_header_is_refused_and_nothing_is_stored(client, people, own_case):
    login_as(client, people["resident"])
    events = _count(CaseEvent, CaseEvent.case_id == own_case.id)
    response = client.post(f"/cases/{own_case.id}/act/comment", data=_comment(own_case),
                           headers={"HX-Request": "true", "HX-Target": "case-body"})
    assert response.status_code == 400
    assert _count(CaseEvent, CaseEvent.case_id == own_case.id) == events
    # the refusal is a fragment for htmx, not a whole page swapped into the target
    assert "<html" not in response.get_data(as_text=True)


def test_htmx_post_with_csrf_header_is_stored(client, people, own_case):
    login_as(client, people["resident"])
    events = _count(CaseEvent, CaseEvent.case_id == own_case.id)
    response = client.post(f"/cases/{own_case.id}/act/comment", data=_comment(own_case),
                           headers={"HX-Request": "true", "HX-Target": "case-body",
                                    "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 200
    assert _count(CaseEvent, CaseEvent.case_id == own_case.id) == events + 1


def test_language_switch_without_csrf_token_is_refused(client):
    response = client.post("/lang/en")
    assert response.status_code == 400
    flask_babel.refresh()  # the fixture's app context would otherwise keep the cached locale
    assert 'lang="zh-CN"' in client.get("/login").get_data(as_text=True)


def test_csrf_token_has_no_time_limit_so_boards_stay_open_all_day(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_page_carries_csrf_token_in_meta_and_body_hx_headers(client):
    html = client.get("/login").get_data(as_text=True)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert meta
    body = re.search(r"<body[^>]*hx-headers='([^']*)'", html)
    assert body
    header = re.search(r'"X-CSRFToken":\s*"([^"]+)"', body.group(1))
    assert header and header.group(1) == meta.group(1)


def test_htmx_post_after_the_session_expired_is_sent_to_login(app, people):
    from portal.extensions import db
    from tests import factories
    from tests.conftest import csrf_token, login_as
    case = factories.case(people["resident"])
    db.session.commit()
    client = app.test_client()
    login_as(client, people["clerk"])
    token = csrf_token(client)
    client.delete_cookie("session")  # the session expired while the page stayed open
    r = client.post(f"/cases/{case.id}/act/comment", data={"comment-note": "x"},
                    headers={"HX-Request": "true", "HX-Target": "case-body", "X-CSRFToken": token})
    assert r.status_code == 401
    assert r.headers["HX-Redirect"].endswith("/login")
    assert "<form" not in r.get_data(as_text=True)


def test_every_post_route_refuses_a_request_without_the_token(app, client, people):
    """Generated from the URL map, so a new form cannot forget CSRF."""
    import re as _re
    login_as(client, people["manager"])
    checked = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        url = _re.sub(r"<any\(([^,)]+)[^>]*>", lambda m: m.group(1).strip(), rule.rule)
        url = _re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "1" if "id" in m.group(1) else "x", url)
        response = client.post(url, data={"note": "x"})
        if rule.rule.startswith("/api/"):
            # The API takes no CSRF token: it accepts an integration key only, never the session
            # cookie, so a forged cross-site request carrying the cookie is refused all the same.
            assert response.status_code == 401, f"{rule.rule} answered {response.status_code} to a session cookie"
        else:
            assert response.status_code == 400, f"{rule.rule} answered {response.status_code} without a CSRF token"
        checked += 1
    assert checked > 20
