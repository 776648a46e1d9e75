"""Small findings of the issue-14 review: safe pagers, literal search wildcards, capped queries,
no caching of public pages and the assignment check on a callback's promised reply."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import textquery
from portal.extensions import db
from portal.models import CallbackPromise, CallbackTask, Notification, Role
from portal.notify.outbox import notify
from portal.pagination import MAX_PAGE, page_number
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import post
from tests.helpers import make_case

RESOLVE = ["classify", "dispatch", "accept", "plan", "complete"]
HOSTILE_PAGES = ["99999999999999999999", "-1", "-99999999999999999999", "0", "abc", "1e9", "2.5", "", "%00", "１"]


def test_page_numbers_are_read_safely():
    assert [page_number(v) for v in ("3", " 7 ", None, "", "abc", "-4", "0", "1e9", "99999999999999999999")] == \
        [3, 7, 1, 1, 1, 1, 1, 1, MAX_PAGE]


def _lists(people) -> list[tuple[str, str]]:
    estate = people["ref"]["estate"].id
    return [("resident", "/notifications"), ("resident", "/my/cases"), ("clerk", "/board"), ("eng", "/dept"),
            ("clerk", "/callbacks"), ("manager", "/escalations"), ("manager", "/admin/outbox"),
            ("manager", "/admin/outbox?state=pending"), ("manager", "/admin/audit"), ("manager", "/admin/departments"),
            ("manager", "/admin/categories"), ("manager", "/admin/estates"), ("manager", "/admin/residents"),
            ("manager", "/admin/staff"), ("manager", f"/admin/estates/{estate}")]


@pytest.mark.parametrize("page", HOSTILE_PAGES)
def test_every_paginated_list_answers_a_hostile_page_number(as_, people, page):
    """Huge, negative or non-numeric pages show a page of the list, never a 500."""
    for n in range(3):
        case = factories.case(people["resident"])
        notify([people["resident"], people["manager"]], "resident_test", f"通知 {n}", "", f"page-test:{n}", case.id)
    db.session.commit()
    for who, url in _lists(people):
        sep = "&" if "?" in url else "?"
        response = as_(who).get(f"{url}{sep}page={page}")
        assert response.status_code == 200, (who, url, page, response.status_code)


def test_a_page_past_the_end_shows_the_last_page(as_, people):
    for n in range(25):  # two pages of 20
        notify([people["resident"]], "resident_test", f"第{n:02d}条", "", f"last-page:{n}")
    db.session.commit()
    body = as_("resident").get("/notifications?page=99999999999999999999").get_data(as_text=True)
    assert "第00条" in body and "第24条" not in body  # newest first: the last page holds the oldest


def test_like_patterns_take_wildcards_literally_and_are_capped():
    assert textquery.contains("50%_a\\b") == "%50\\%\\_a\\\\b%"
    assert len(textquery.clean("漏" * 5000)) == textquery.MAX_QUERY
    assert textquery.clean("  \x00 ab ") == "ab"


def test_callback_queue_search_for_a_per_cent_sign_matches_nothing_but_a_per_cent_sign(as_, people):
    case = make_case(people, RESOLVE)
    assert db.session.scalar(select(CallbackTask).where(CallbackTask.case_id == case.id)) is not None
    clerk = as_("clerk")
    assert case.number in clerk.get(f"/callbacks?q={case.number}").get_data(as_text=True)
    for q in ("%25", "_", "%25%25", "\\"):
        assert case.number not in clerk.get(f"/callbacks?q={q}").get_data(as_text=True), q
    assert clerk.get("/callbacks?q=" + "漏" * 5000).status_code == 200


def test_desk_resident_search_takes_wildcards_literally(as_, people):
    clerk = as_("clerk")
    found = clerk.get("/desk/residents?q=张三").get_data(as_text=True)
    assert "张三" in found
    for q in ("%25", "_", "%25_"):
        assert "张三" not in clerk.get(f"/desk/residents?q={q}").get_data(as_text=True), q
    assert clerk.get("/desk/residents?q=" + "%25" * 3000).status_code == 200


def test_admin_list_search_takes_wildcards_literally(as_, people):
    manager = as_("manager")
    assert people["clerk"].display_name in manager.get("/admin/staff").get_data(as_text=True)
    assert people["clerk"].display_name not in manager.get("/admin/staff?q=%25").get_data(as_text=True)


def test_a_bulk_retry_reason_with_wildcards_matches_only_itself(as_, people):
    for n, error in enumerate(("timeout: gateway", "refused: quota")):
        db.session.add(Notification(user_id=people["resident"].id, channel="sms", kind="resident_x", subject="s",
                                    body="", address="13800000000", dedup_key=f"retry-{n}", status="failed",
                                    attempts=5, last_error=error))
    db.session.commit()
    post(as_("manager"), "/admin/outbox/retry", {"channel": "", "reason": "%"})
    db.session.expire_all()
    assert {n.status for n in db.session.scalars(select(Notification).where(Notification.kind == "resident_x"))} == {"failed"}


@pytest.mark.parametrize("url", ["/", "/login", "/login/code", "/register", "/public/disclosure", "/s/not-a-token"])
def test_public_pages_are_never_cached(client, people, url):
    assert client.get(url).headers.get("Cache-Control") == "no-store"


def test_static_files_may_be_cached(client):
    response = client.get("/static/portal.js")
    response.close()
    assert response.headers.get("Cache-Control") != "no-store"


def test_a_clerk_cannot_answer_the_promise_of_a_managers_callback(as_, people):
    case = make_case(people, RESOLVE)
    task = db.session.scalar(select(CallbackTask).where(CallbackTask.case_id == case.id))
    task.assignee_role = Role.MANAGER
    db.session.commit()
    when = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    manager = as_("manager")
    post(manager, f"/callbacks/{task.id}/record", {"method": "phone", "reached": "yes", "satisfaction": "satisfied",
                                                   "question": "费用谁承担？", "promised_reply_at": when},
         htmx_target="task-panel")
    promise = db.session.scalar(select(CallbackPromise))
    assert promise is not None
    clerk = as_("clerk")
    panel = clerk.get(f"/callbacks/{task.id}", headers={"HX-Request": "true", "HX-Target": "task-panel"})
    assert f"/callbacks/{task.id}/answer" not in panel.get_data(as_text=True)  # no form offered
    refused = post(clerk, f"/callbacks/{task.id}/answer", {"promise_id": promise.id, "answer": "物业承担"},
                   htmx_target="task-panel")
    assert "该回访由经理负责" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CallbackPromise, promise.id).answered_at is None
    ok = post(manager, f"/callbacks/{task.id}/answer", {"promise_id": promise.id, "answer": "物业承担"},
              htmx_target="task-panel")
    assert ok.status_code == 200
    db.session.expire_all()
    assert db.session.get(CallbackPromise, promise.id).answered_at is not None
