"""Odd input the form fuzzer (test_fuzz_forms.py) once turned into a 500, kept as plain regressions."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.callbacks.service import record_callback
from portal.extensions import db
from portal.models import Attachment, CallbackPromise, CallbackTask, Case, CaseEvent, Phrase
from portal.timeutil import utcnow
from tests.conftest import post
from tests.helpers import act, html, make_case, tiny_png

RESOLVE = ("classify", "dispatch", "accept", "complete")


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("who, url", [
    ("clerk", "/board?severity=%20&status=%20&kind=%20&channel=%0A"),
    ("eng", "/dept?severity=%20%20"),
    ("resident", "/my/cases?status=%20"),
    ("manager", "/escalations?level=%20&rule=%20&show=%20"),
    ("clerk", "/callbacks?kind=%20&caller=%20&tab=%20"),
])
def test_a_blank_but_not_empty_filter_choice_is_ignored(as_, people, who, url):
    """Optional() takes "  " for blank and skips the choice check; the value must not reach the query."""
    make_case(people, ("classify",))
    assert as_(who).get(url).status_code == 200


@pytest.mark.parametrize("url", ["/board?date_from=0001-01-01", "/board?date_to=9999-12-31",
                                 "/reports?site=99999999999", "/reports/monthly?site=99999999999",
                                 "/reports?month=9999-12", "/reports/monthly?month=0000-01",
                                 "/reports/trend?month=9999-12", "/disclosure?month=9999-12"])
def test_dates_and_sites_beyond_any_range_are_ignored(as_, people, url):
    assert as_("manager").get(url).status_code == 200


def test_a_nul_character_is_dropped_from_what_is_stored(as_, people):
    """PostgreSQL refuses NUL in text; nobody types one, so it is dropped rather than failing."""
    case = make_case(people)
    r = act(as_("resident"), case, "comment", note="漏\x00水")
    assert r.status_code == 302
    assert db.session.scalar(select(CaseEvent.note).where(CaseEvent.action == "comment")) == "漏水"


def test_a_nul_character_is_dropped_from_an_uploaded_file_name(as_, people):
    case = make_case(people)
    version = db.session.scalar(select(Case.version_id).where(Case.id == case.id))
    r = post(as_("resident"), f"/cases/{case.id}/act/comment", {
        "comment-note": "照片", "comment-version": str(version), "comment-photos": (io.BytesIO(tiny_png()), "a\x00b.png")})
    assert r.status_code == 302
    assert db.session.scalar(select(Attachment.filename)) == "ab.png"


def test_a_phrase_position_beyond_the_column_is_refused(as_, people):
    r = post(as_("manager"), "/admin/phrases", {"new-text": "您好", "new-position": str(10 ** 20)})
    assert r.status_code == 200 and "has-error" in html(r).field_container("new-position").classes
    assert _count(Phrase) == 1


def test_desk_refuses_a_resident_id_beyond_any_id_and_a_blank_severity(as_, people):
    data = {"kind": "complaint", "channel": "phone", "category_id": people["ref"]["water"].id,
            "location_type": "common", "location": "大堂", "description": "门禁坏了", "contact_name": "王先生"}
    clerk = as_("clerk")
    r = post(clerk, "/desk/new", {**data, "resident_id": str(2 ** 40)})
    assert r.status_code == 200 and html(r).all("p", cls="error")
    r = post(clerk, "/desk/new", {**data, "severity": "  "})
    assert r.status_code == 200 and "has-error" in html(r).field_container("severity").classes
    assert _count(Case) == 0


def test_a_date_outside_this_century_is_refused_with_a_message(as_, people):
    case = make_case(people, ("classify", "dispatch", "accept"))
    r = act(as_("eng"), case, "plan", finding="管道老化", plan="更换", promised_at="0001-01-01T00:00")
    assert r.status_code == 200
    assert "has-error" in html(r).field_container("plan-promised_at").classes
    db.session.expire_all()
    assert db.session.get(Case, case.id).promised_at is None


def test_a_callback_with_a_blank_satisfaction_is_refused(as_, people):
    case = make_case(people, RESOLVE)
    task = db.session.scalar(select(CallbackTask).where(CallbackTask.case_id == case.id))
    r = post(as_("clerk"), f"/callbacks/{task.id}/record", {"method": "phone", "reached": "yes", "satisfaction": " "},
             htmx_target="task-panel")
    assert r.status_code == 200 and html(r).all("p", cls="error")
    assert db.session.get(CallbackTask, task.id).attempts == 0


def test_answering_a_promise_id_beyond_any_id_is_refused(as_, people):
    case = make_case(people, RESOLVE)
    task = db.session.scalar(select(CallbackTask).where(CallbackTask.case_id == case.id))
    record_callback(task, people["clerk"], {"method": "phone", "reached": True, "satisfaction": "satisfied",
                                            "question": "谁承担？", "promised_reply_at": utcnow() + timedelta(days=1)})
    db.session.commit()
    r = post(as_("clerk"), f"/callbacks/{task.id}/answer", {"promise_id": str(2 ** 40), "answer": "物业承担"},
             htmx_target="task-panel")
    assert r.status_code == 200
    assert db.session.scalar(select(CallbackPromise.answered_at)) is None


def test_an_id_beyond_the_database_range_in_a_url_is_a_404(as_, people):
    client = as_("clerk")
    for url in ("/cases/99999999999", "/cases/2147483648", "/board/rows/99999999999/actions"):
        assert client.get(url).status_code == 404, url
