"""The data stamp and the case-list cache: a change shows at once, and no viewer sees another's rows."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal import create_app
from portal import config as portal_config
from portal import stamp
from portal.board import listing
from portal.extensions import db
from portal.models import Case, Category, DataStamp, Notification, Phrase, Role, Severity, Status
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import RequestScopedClient, htmx_get, login_as, post
from tests.helpers import fresh


def stamp_value() -> int:
    db.session.expire_all()
    return db.session.scalar(select(DataStamp.n).where(DataStamp.id == stamp.LISTS))


def dispatched(resident, department) -> Case:
    case = factories.case(resident)
    case.status, case.department_id = Status.DISPATCHED, department.id
    return case


def row_html(client, url: str, case_id: int) -> str:
    body = client.get(url).get_data(as_text=True)
    start = body.index(f'id="row-{case_id}"')
    return body[start:body.index("</tr>", start)]


# --- the stamp ----------------------------------------------------------------------------------

def test_a_commit_that_changes_a_listed_table_moves_the_stamp_once(people):
    before = stamp_value()
    case = factories.case(people["resident"])
    db.session.commit()
    assert stamp_value() == before + 1
    case.location = "东门岗亭"
    people["clerk"].display_name = "王前台"
    db.session.commit()
    assert stamp_value() == before + 2


def test_unlisted_tables_and_rollbacks_leave_the_stamp_alone(people):
    before = stamp_value()
    db.session.add(Phrase(text="您好，我们已收到。", position=9))
    db.session.add(Notification(user_id=people["resident"].id, dedup_key="test-1", channel="inapp", kind="test",
                                subject="s", body="b"))
    db.session.commit()
    assert stamp_value() == before
    factories.case(people["resident"])
    db.session.flush()
    db.session.rollback()
    assert stamp_value() == before


def test_bulk_statements_move_the_stamp(people):
    case = factories.case(people["resident"])
    db.session.commit()
    before = stamp_value()
    db.session.execute(update(Case).where(Case.id == case.id).values(location="北门"))
    db.session.commit()
    assert stamp_value() == before + 1


# --- what viewers see -------------------------------------------------------------------------------

def test_a_change_by_another_user_shows_on_the_next_view(as_, people):
    case = factories.case(people["resident"])
    db.session.commit()
    manager, clerk = as_("manager"), as_("clerk")
    assert "sev-major" not in row_html(manager, "/board", case.id)
    assert "sev-major" not in row_html(manager, "/board", case.id)  # served from the cache
    r = post(clerk, f"/cases/{case.id}/act/classify",
             {"classify-version": fresh(case).version_id, "classify-category_id": people["ref"]["water"].id,
              "classify-severity": "major"})
    assert r.status_code == 302
    assert "sev-major" in row_html(manager, "/board", case.id)
    poll = htmx_get(manager, "/board", "case-table").get_data(as_text=True)
    assert "sev-major" in poll and "<html" not in poll


def test_residents_never_share_a_cached_list(as_, people):
    mine = factories.case(people["resident"], description="我家厨房漏水")
    theirs = factories.case(people["other_resident"], description="隔壁楼道灯坏了")
    db.session.commit()
    for _ in range(2):  # the second round is served from the cache
        a = as_("resident").get("/my/cases").get_data(as_text=True)
        b = as_("other_resident").get("/my/cases").get_data(as_text=True)
        assert mine.number in a and theirs.number not in a
        assert theirs.number in b and mine.number not in b


def test_departments_see_only_their_queue_from_the_cache(as_, people):
    eng_case = dispatched(people["resident"], people["ref"]["eng"])
    sec_case = dispatched(people["resident"], people["ref"]["sec"])
    db.session.commit()
    for _ in range(2):
        eng = as_("eng").get("/dept").get_data(as_text=True)
        sec = as_("sec").get("/dept").get_data(as_text=True)
        assert eng_case.number in eng and sec_case.number not in eng
        assert sec_case.number in sec and eng_case.number not in sec


def test_each_language_gets_its_own_copy(as_, people):
    factories.case(people["resident"])
    db.session.commit()
    manager = as_("manager")
    assert "共 1 件" in manager.get("/board").get_data(as_text=True)
    post(manager, "/lang/en")
    english = manager.get("/board").get_data(as_text=True)
    assert "1 cases" in english and "Deadline" in english
    post(manager, "/lang/zh_Hans_CN")
    chinese = manager.get("/board").get_data(as_text=True)
    assert "共 1 件" in chinese and "Deadline" not in chinese


def test_the_clock_moves_cached_rows_on(as_, people, monkeypatch):
    case = dispatched(people["resident"], people["ref"]["eng"])
    case.due_at = utcnow() + timedelta(minutes=90)
    case.due_clock = "respond"
    db.session.commit()
    manager = as_("manager")
    assert "sla-ok" in row_html(manager, "/board", case.id)
    later = utcnow() + timedelta(hours=2)
    for module in ("portal.board.listing", "portal.templating", "portal.stamp"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: later)
    row = row_html(manager, "/board", case.id)
    assert "sla-overdue" in row and "sla-ok" not in row


def test_a_change_the_stamp_cannot_see_shows_within_a_minute(as_, people, monkeypatch):
    case = factories.case(people["resident"], description="原来的描述")
    db.session.commit()
    now = utcnow()
    monkeypatch.setattr("portal.stamp.utcnow", lambda: now)  # no real minute boundary mid-test
    manager = as_("manager")
    assert "原来的描述" in row_html(manager, "/board", case.id)
    with db.engine.begin() as conn:  # SQL outside the session, as someone at a psql prompt
        conn.execute(update(Case.__table__).where(Case.__table__.c.id == case.id).values(description="后来改的"))
    assert "原来的描述" in row_html(manager, "/board", case.id)  # still this minute's copy
    later = now + timedelta(seconds=61)
    monkeypatch.setattr("portal.stamp.utcnow", lambda: later)
    assert "后来改的" in row_html(manager, "/board", case.id)


def test_updated_time_is_filled_in_on_every_response(as_, people):
    factories.case(people["resident"])
    db.session.commit()
    manager = as_("manager")
    for _ in range(2):
        body = manager.get("/board").get_data(as_text=True)
        assert listing.NOW_MARK not in body
        assert re.search(r"更新于 \d\d:\d\d:\d\d", body)


def test_the_list_works_with_the_cache_off(app, as_, people):
    app.config["LIST_CACHE_SIZE"] = 0
    app.extensions.pop("portal_render_cache", None)
    case = factories.case(people["resident"])
    db.session.commit()
    manager = as_("manager")
    assert case.number in manager.get("/board").get_data(as_text=True)
    assert stamp.cache().hits == 0 and not stamp.cache()._items


def test_the_cache_is_bounded(app):
    small = stamp.RenderCache(3)
    for i in range(10):
        small.put(i, str(i))
    assert [small.get(i) for i in range(10)] == [None] * 7 + ["7", "8", "9"]


# --- two processes, one database ------------------------------------------------------------------

@pytest.fixture
def two_apps(tmp_path, database_url):
    """Two app instances (two processes' worth of caches) on one database."""
    url = database_url if database_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'shared.db'}"
    apps = []
    for name in ("a", "b"):
        config = portal_config.TestConfig()
        config.SQLALCHEMY_DATABASE_URI = url
        config.UPLOAD_DIR = str(tmp_path / name / "uploads")
        config.OUTBOX_DIR = str(tmp_path / name / "outbox")
        app = create_app(config)
        app.test_client_class = RequestScopedClient
        apps.append(app)
    with apps[0].app_context():
        db.create_all()
        yield apps
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    with apps[1].app_context():
        db.engine.dispose()


def test_a_change_through_one_process_shows_in_the_others_cached_board(two_apps):
    a, b = two_apps
    ref = factories.reference()
    resident = factories.user(Role.RESIDENT, unit=ref["units"][0])
    manager = factories.user(Role.MANAGER)
    case = factories.case(resident)
    db.session.commit()
    case_id = case.id
    viewer = a.test_client()
    login_as(viewer, manager)
    assert "sev-major" not in row_html(viewer, "/board", case_id)
    assert a.extensions["portal_render_cache"]._items  # a's board is cached now
    with b.app_context():  # b changes the case (as a worker or the other web process would)
        c = db.session.get(Case, case_id)
        c.severity = Severity.MAJOR
        db.session.commit()
    assert "sev-major" in row_html(viewer, "/board", case_id)


def test_uncommitted_changes_are_never_cached(app, people):
    from portal.cases.service import category_choices
    eng_id = people["ref"]["eng"].id
    with app.app_context(), app.test_request_context():
        db.session.add(Category(code="temp", name="临时类别", default_department_id=eng_id))
        db.session.flush()
        assert "临时类别" in dict(category_choices()).values()  # this transaction sees its own change
        db.session.rollback()
    with app.app_context(), app.test_request_context():
        assert "临时类别" not in dict(category_choices()).values()


def test_counting_stops_at_the_limit_and_paging_goes_up_to_it(app, as_, people):
    app.config.update(LIST_COUNT_LIMIT=3, BOARD_PAGE_SIZE=2)
    cases = [factories.case(people["resident"], received_at=utcnow() - timedelta(minutes=i)) for i in range(5)]
    db.session.commit()
    manager = as_("manager")
    first = manager.get("/board").get_data(as_text=True)
    assert "超过 3 件" in first and "第 1 页" in first and "请用筛选缩小范围" in first
    assert 'rel="next"' in first
    second = manager.get("/board?page=2").get_data(as_text=True)
    assert f'id="row-{cases[2].id}"' in second and 'rel="next"' not in second
    beyond = manager.get("/board?page=3").get_data(as_text=True)  # clamped to the last counted page
    assert f'id="row-{cases[2].id}"' in beyond
    narrowed = manager.get(f"/board?q={cases[4].number}").get_data(as_text=True)
    assert "共 1 件" in narrowed and "超过" not in narrowed
