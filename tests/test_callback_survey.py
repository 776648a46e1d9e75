"""The resident's own survey, in the portal and by signed link."""
from __future__ import annotations

import time
from unittest import mock

from sqlalchemy import func, select

from portal.callbacks.links import make_token
from portal.extensions import db
from portal.models import CallbackRecord, Method, Satisfaction, Status, TaskStatus
from tests.conftest import login_as, post
from tests.helpers import fresh, html, make_case
from tests.callback_helpers import RESOLVE, resolved, set_setting, tasks_of  # noqa: F401


# --- the resident's survey -----------------------------------------------------------------

def test_resident_answers_own_survey_online(as_, people, resolved):
    case, task = resolved
    client = as_("resident")
    page = html(client.get(f"/cases/{case.id}"))
    assert page.by_id("survey-prompt")
    response = post(client, f"/cases/{case.id}/survey", {"satisfaction": "satisfied", "quality_rating": "4"})
    assert response.status_code == 302
    rec = db.session.scalar(select(CallbackRecord))
    assert (rec.method, rec.caller_id, rec.satisfaction) == (Method.ONLINE, people["resident"].id, Satisfaction.SATISFIED)
    assert fresh(case).status == Status.CALLBACK_DONE
    assert not html(client.get(f"/cases/{case.id}")).all(id="survey-prompt")
    assert client.get(f"/cases/{case.id}/survey").status_code == 404  # answered: nothing pending


def test_resident_cannot_open_another_residents_survey(client, people, resolved):
    case, task = resolved
    login_as(client, people["other_resident"])
    assert client.get(f"/cases/{case.id}/survey").status_code == 404
    assert post(client, f"/cases/{case.id}/survey", {"satisfaction": "dissatisfied"}).status_code == 404
    assert tasks_of(case)[0].status == TaskStatus.PENDING


def _token(app, task):
    with app.test_request_context():
        return make_token(task)


def test_signed_link_opens_one_survey_without_login(app, client, people, resolved):
    case, task = resolved
    token = _token(app, task)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert case.number in body and "更换管道" not in body  # the survey, not the case file
    assert client.get(f"/cases/{case.id}").status_code == 302  # the link logs nobody in
    response = post(client, f"/s/{token}", {"satisfaction": "neutral", "shortcomings": "等了太久"})
    assert response.status_code == 200
    rec = db.session.scalar(select(CallbackRecord))
    assert (rec.method, rec.satisfaction, rec.shortcomings) == (Method.ONLINE, Satisfaction.NEUTRAL, "等了太久")
    assert fresh(case).status == Status.CALLBACK_DONE
    again = post(client, f"/s/{token}", {"satisfaction": "dissatisfied"})
    assert again.status_code == 200 and db.session.scalar(select(func.count(CallbackRecord.id))) == 1


def test_signed_link_is_bound_to_its_case_and_cannot_be_altered(app, client, people, resolved):
    case, task = resolved
    other = make_case(people, RESOLVE)
    other_task = tasks_of(other)[0]
    token = _token(app, task)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get(f"/s/{forged}").status_code == 404
    from itsdangerous import URLSafeTimedSerializer
    wrong_key = URLSafeTimedSerializer("not-the-key", salt="callback-survey").dumps({"t": other_task.id, "c": other.id})
    assert client.get(f"/s/{wrong_key}").status_code == 404
    assert other.number not in client.get(f"/s/{token}").get_data(as_text=True)


def test_signed_link_expires(app, client, resolved):
    case, task = resolved
    set_setting("callback_survey_link_days", 2)
    token = _token(app, task)
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() + 3 * 86400):
        expired = client.get(f"/s/{token}")
        assert expired.status_code == 410
        assert post(client, f"/s/{token}", {"satisfaction": "satisfied"}).status_code == 410
    assert tasks_of(case)[0].status == TaskStatus.PENDING
    assert client.get(f"/s/{token}").status_code == 200


def test_staff_never_see_a_survey_link_in_the_task_panel(as_, resolved):
    case, task = resolved
    body = as_("clerk").get(f"/callbacks/{task.id}", headers={"HX-Request": "true", "HX-Target": "task-panel"})
    assert "/s/" not in body.get_data(as_text=True)  # tests/test_survey_integrity.py: the server texts it
