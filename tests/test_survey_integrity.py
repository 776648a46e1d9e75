"""Survey integrity (issue 14): the server texts the signed link, staff never hold it, staff sessions
cannot answer, each online answer keeps its address and browser, racing answers count once, and the
repair draw can be recomputed from the month's published seed."""
from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from datetime import datetime
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import func, select

from portal import settings
from portal.callbacks.links import make_token
from portal.extensions import db
from portal.models import CallbackRecord, CallbackTask, Kind, Method, Notification, Role, TaskStatus
from portal.timeutil import local_zone
from tests import factories
from tests.conftest import csrf_token, login_as, post
from tests.helpers import fresh, make_case
from tests.test_concurrency import shared_app  # noqa: F401 - the fixture: a database shared by threads

RESOLVE = ["classify", "dispatch", "accept", "plan", "complete"]


def _task(case) -> CallbackTask:
    db.session.expire_all()
    return db.session.scalar(select(CallbackTask).where(CallbackTask.case_id == case.id))


def _token(app, task) -> str:
    with app.test_request_context():
        return make_token(task)


def _panel(client, task) -> str:
    return client.get(f"/callbacks/{task.id}", headers={"HX-Request": "true", "HX-Target": "task-panel"}
                      ).get_data(as_text=True)


@pytest.fixture
def resolved(people):
    case = make_case(people, RESOLVE)
    return case, _task(case)


def test_the_server_texts_the_survey_link_once_and_staff_see_only_the_masked_number(app, as_, people, resolved):
    case, task = resolved
    clerk = as_("clerk")
    panel = _panel(clerk, task)
    phone = people["resident"].phone
    masked = f"{phone[:3]}****{phone[-4:]}"
    assert "/s/" not in panel  # no link to open
    assert masked in panel and f"/callbacks/{task.id}/send-survey" in panel
    for _ in range(2):  # a double click sends one SMS: the outbox's dedup key
        response = post(clerk, f"/callbacks/{task.id}/send-survey", {}, htmx_target="task-panel")
        assert response.status_code == 200
    sms = db.session.scalars(select(Notification).where(Notification.channel == "sms",
                                                        Notification.kind == "resident_survey_link")).all()
    assert len(sms) == 1 and sms[0].address == phone and sms[0].user_id == people["resident"].id
    link = re.search(r"https?://[^\s（]+/s/[A-Za-z0-9._-]+", sms[0].body).group(0)
    answered = _panel(clerk, task)
    assert masked in answered and "/s/" not in answered and "send-survey" not in answered
    outbox = as_("manager").get("/admin/outbox?state=pending").get_data(as_text=True)
    assert "/s/" not in outbox  # the managers' delivery list shows the subject, not the link
    # The resident's link works (from a client without a session).
    anonymous = app.test_client()
    page = anonymous.get("/s/" + link.rsplit("/s/", 1)[1])
    assert page.status_code == 200 and case.number in page.get_data(as_text=True)


def test_a_clerk_cannot_text_a_managers_callback(as_, people):
    case = make_case(people, RESOLVE)
    task = _task(case)
    task.assignee_role = Role.MANAGER
    db.session.commit()
    assert post(as_("clerk"), f"/callbacks/{task.id}/send-survey", {}).status_code == 403
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "resident_survey_link")) == 0


@pytest.mark.parametrize("who", ["clerk", "manager", "eng"])
def test_a_signed_in_staff_session_cannot_open_or_answer_the_survey(app, as_, resolved, who):
    case, task = resolved
    token = _token(app, task)
    client = as_(who)
    page = client.get(f"/s/{token}")
    assert page.status_code == 403 and "工作人员" in page.get_data(as_text=True)
    answer = post(client, f"/s/{token}", {"satisfaction": "very_satisfied"})
    assert answer.status_code == 403 and "工作人员" in answer.get_data(as_text=True)
    assert _task(case).status == TaskStatus.PENDING
    assert db.session.scalar(select(func.count(CallbackRecord.id))) == 0


def test_each_online_answer_records_its_address_and_browser(app, client, as_, resolved, people):
    case, task = resolved
    token = _token(app, task)
    response = client.post(f"/s/{token}", data={"satisfaction": "satisfied"}, environ_base={"REMOTE_ADDR": "203.0.113.7"},
                           headers={"X-CSRFToken": csrf_token(client), "User-Agent": "Mozilla/5.0 (iPhone) 测试"})
    assert response.status_code == 200
    rec = db.session.scalar(select(CallbackRecord))
    assert (rec.method, rec.client_address, rec.user_agent) == (Method.ONLINE, "203.0.113.7", "Mozilla/5.0 (iPhone) 测试")
    assert "203.0.113.7" in _panel(as_("manager"), task)
    # The in-portal survey of a signed-in resident too.
    other = make_case(people, RESOLVE)
    resident = as_("resident")
    resident.post(f"/cases/{other.id}/survey", data={"satisfaction": "satisfied"}, environ_base={
        "REMOTE_ADDR": "198.51.100.2"}, headers={"X-CSRFToken": csrf_token(resident), "User-Agent": "WeChat/8.0"})
    rec = db.session.scalar(select(CallbackRecord).where(CallbackRecord.case_id == other.id))
    assert (rec.client_address, rec.user_agent) == ("198.51.100.2", "WeChat/8.0")


def test_an_answer_arriving_after_another_says_already_answered(app, client, resolved):
    case, task = resolved
    token = _token(app, task)
    assert post(client, f"/s/{token}", {"satisfaction": "satisfied"}).status_code == 200
    again = post(client, f"/s/{token}", {"satisfaction": "dissatisfied"})
    assert again.status_code == 200 and "已经回答" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CallbackRecord.id))) == 1


def test_four_racing_answers_to_one_survey_give_one_answer_and_three_already_answered(shared_app):  # noqa: F811
    """Real threads against one database (a SQLite file, or PostgreSQL when the suite runs there)."""
    ref = factories.reference()
    people = {"resident": factories.user(Role.RESIDENT, unit=ref["units"][0]), "clerk": factories.user(Role.CLERK),
              "manager": factories.user(Role.MANAGER), "eng": factories.user(Role.DEPARTMENT, department=ref["eng"]),
              "ref": ref}
    db.session.commit()
    case = make_case(people, RESOLVE)
    task = _task(case)
    token = _token(shared_app, task)
    task_id = task.id
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def answer(n: int) -> None:
        client = shared_app.test_client()
        try:
            token_field = csrf_token(client)
            barrier.wait(timeout=60)
            response = client.post(f"/s/{token}", data={"satisfaction": ("satisfied", "dissatisfied")[n % 2],
                                                          "csrf_token": token_field})
            body = response.get_data(as_text=True)
            if response.status_code == 200 and "已记录" in body:
                outcome = "recorded"
            elif response.status_code == 200 and "已经回答" in body:
                outcome = "already"
            else:
                outcome = f"unexpected {response.status_code}"
            with lock:
                outcomes.append(outcome)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, repr(errors[0])
    assert Counter(outcomes) == {"recorded": 1, "already": 3}, outcomes
    db.session.expire_all()
    assert db.session.scalar(select(func.count(CallbackRecord.id)).where(CallbackRecord.task_id == task_id)) == 1
    assert db.session.get(CallbackTask, task_id).attempts == 1


def test_the_survey_pages_are_never_cached(app, client, resolved):
    case, task = resolved
    token = _token(app, task)
    for url in (f"/s/{token}", "/s/not-a-token"):
        assert client.get(url).headers["Cache-Control"] == "no-store"
    assert post(client, f"/s/{token}", {"satisfaction": "satisfied"}).headers["Cache-Control"] == "no-store"
    assert client.get(f"/s/{token}").headers["Cache-Control"] == "no-store"  # answered


# --- the repair draw, recomputable from the published seed ------------------------------------

def documented_draw(seed: str, key: str, rate: int) -> tuple[float, bool]:
    """The formula as docs/domain.md and /callbacks/draws state it, written out independently."""
    value = int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:13], 16) / 16 ** 13
    return value, value < rate / 100


def _manager(app, people):
    client = app.test_client()
    login_as(client, people["manager"])
    return client


def test_a_manager_recomputes_a_repair_draw_from_the_seed_published_after_the_month(app, as_, people):
    settings.put("callback_repair_sample_percent", 100)
    db.session.commit()
    with time_machine.travel(datetime(2026, 11, 20, 10, 0, tzinfo=local_zone()), tick=False):
        case = make_case(people, RESOLVE, kind=Kind.REPAIR)
        task = _task(case)
        manager = as_("manager")
        during = manager.get("/callbacks/draws").get_data(as_text=True)
        assert "2026-11" in during and 'class="seed"' not in during  # secret while the month runs
        check = manager.get(f"/callbacks/draws?month=2026-11&key={case.number}&rate=100").get_data(as_text=True)
        assert "draw-check" not in check
        panel = _panel(manager, task)
        assert task.reason_detail.replace("<", "&lt;") in panel and "/callbacks/draws?" in panel
    with time_machine.travel(datetime(2026, 11, 30, 23, 59, tzinfo=local_zone()), tick=False):
        assert 'class="seed"' not in _manager(app, people).get("/callbacks/draws").get_data(as_text=True)
    with time_machine.travel(datetime(2026, 12, 1, 0, 0, tzinfo=local_zone()), tick=False):
        manager = _manager(app, people)  # a fresh sign-in: the earlier session has timed out
        page = manager.get("/callbacks/draws").get_data(as_text=True)
        seed = re.search(r'<tr id="seed-2026-11">.*?<code class="seed">([0-9a-f]{32})</code>', page, re.S).group(1)
        assert "SHA-256" in page
        value, drawn = documented_draw(seed, case.number, 100)
        month, shown, sign, rate = re.fullmatch(r"(\d{4}-\d{2}): ([0-9.]+) ([<≥]) (\d+)%", task.reason_detail).groups()
        assert month == "2026-11" and shown == f"{value:.4f}" and drawn and sign == "<"
        # A rate the queue did not use: the value shown decides it the same way.
        assert documented_draw(seed, case.number, 30)[1] == (value < 0.30)
        check = manager.get(f"/callbacks/draws?month=2026-11&key={case.number}&rate=100").get_data(as_text=True)
        assert f"{value:.4f}" in check and "draw-check" in check


def test_works_draw_with_the_seed_of_the_month_they_are_registered_in(app, people):
    """A manager cannot pick an already published seed by typing an old completion date."""
    from portal.callbacks import works
    with time_machine.travel(datetime(2026, 11, 20, 10, 0, tzinfo=local_zone()), tick=False):
        building = people["ref"]["units"][0].building
        work = works.record_works("外墙", datetime(2026, 9, 1).date(), [building.id], people["manager"])
        settings.put("callback_works_sample_percent", 100)
        works.sample(work)
        db.session.commit()
        details = db.session.scalars(select(CallbackTask.reason_detail).where(CallbackTask.work_id == work.id)).all()
    assert details and all(d.startswith("2026-11:") for d in details)


def test_only_managers_see_the_seeds(as_):
    assert as_("clerk").get("/callbacks/draws").status_code == 403
    assert as_("manager").get("/callbacks/draws").status_code == 200
