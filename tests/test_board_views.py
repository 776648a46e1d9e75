"""The board's views: it opens on the desk's working view; built-in views; each user's saved views."""
from __future__ import annotations

from datetime import timedelta

import time_machine

from portal.extensions import db
from portal.models import Case, SavedView
from portal.timeutil import utcnow
from tests import factories
from tests.board_helpers import row_ids
from tests.conftest import login_as, post
from tests.helpers import html, make_case


def _due(case, delta):
    case.due_at = utcnow() + delta
    return case


def test_board_opens_on_open_cases_nearest_deadline_first(as_, people):
    later = _due(make_case(people, description="下周到期"), timedelta(days=5))
    soon = _due(make_case(people, description="马上到期"), timedelta(hours=1))
    late = _due(make_case(people, description="已经超时"), timedelta(days=-50))
    closed = make_case(people, ["acknowledge", "mark_invalid"], description="已判无效")
    db.session.commit()
    ids = row_ids(as_("clerk").get("/board"))
    assert ids == [late.id, soon.id, later.id]  # nearest deadline first, overdue on top
    assert closed.id not in ids


def test_built_in_views_are_tabs_and_the_shown_one_is_marked(as_, people):
    page = html(as_("clerk").get("/board"))
    tabs = page.one("nav", cls="view-tabs")
    labels = [a.text.strip() for a in tabs.all("a")]
    assert labels[:5] == ["工作视图", "待派单", "今日到期", "已超时", "我登记的"]
    current = [a.text.strip() for a in tabs.all("a") if a.attrs.get("aria-current") == "page"]
    assert current == ["工作视图"]


def test_to_dispatch_shows_only_cases_not_yet_dispatched(as_, people):
    new = make_case(people)
    replied = make_case(people, ["acknowledge"])
    dispatched = make_case(people, ["acknowledge", "classify", "dispatch"])
    ids = row_ids(as_("clerk").get("/board?status=to_dispatch&sort=due"))
    assert set(ids) == {new.id, replied.id} and dispatched.id not in ids


def test_due_today_shows_open_cases_due_before_midnight(as_, people):
    with time_machine.travel("2026-11-30 10:00 +08:00", tick=False):
        today = make_case(people, description="今天到期")
        today.due_at = utcnow() + timedelta(hours=5)  # 15:00 local
        tomorrow = make_case(people, description="明天到期")
        tomorrow.due_at = utcnow() + timedelta(hours=15)  # 01:00 local, the next day
        db.session.commit()
        ids = row_ids(as_("clerk").get("/board?due=today&sort=due"))
    assert ids == [today.id]


def test_overdue_view_lists_only_overdue_open_cases(as_, people):
    late = _due(make_case(people), timedelta(hours=-3))
    fine = _due(make_case(people), timedelta(hours=3))
    db.session.commit()
    ids = row_ids(as_("clerk").get("/board?status=open&overdue=y&sort=due"))
    assert late.id in ids and fine.id not in ids


def test_registered_by_me_is_each_clerks_own(app, as_, people):
    other_clerk = factories.user(people["clerk"].role)
    mine = factories.case(people["resident"], actor=people["clerk"], description="我登记的")
    theirs = factories.case(people["resident"], actor=other_clerk, description="同事登记的")
    db.session.commit()
    assert row_ids(as_("clerk").get("/board?mine=y")) == [mine.id]
    colleague = app.test_client()
    login_as(colleague, other_clerk)
    # Same scope, same query string: the list cache must not hand one clerk the other's list.
    assert row_ids(colleague.get("/board?mine=y")) == [theirs.id]


def test_a_clerk_saves_a_view_and_finds_it_as_a_tab(as_, people):
    client = as_("clerk")
    r = post(client, "/board/views", {"name": "我的停车", "query": "category=2&page=3&status=open"})
    assert r.status_code == 302 and r.location.endswith("/board?category=2&status=open")  # no page kept
    view = db.session.query(SavedView).one()
    assert (view.user_id, view.name, view.query) == (people["clerk"].id, "我的停车", "category=2&status=open")
    page = html(client.get("/board?category=2&status=open"))
    tab = [a for a in page.one("nav", cls="view-tabs").all("a") if a.text.strip() == "我的停车"][0]
    assert tab.attrs["aria-current"] == "page"
    # Saving under the same name replaces the filters, not a second tab.
    post(client, "/board/views", {"name": "我的停车", "query": "status=open"})
    assert db.session.query(SavedView).count() == 1


def test_a_view_needs_a_name(as_):
    client = as_("clerk")
    r = post(client, "/board/views", {"name": "  ", "query": "status=open"}, follow_redirects=True)
    assert "请给视图起个名字" in r.get_data(as_text=True)
    assert db.session.query(SavedView).count() == 0


def test_saved_views_are_private_and_only_the_owner_removes_one(as_, people):
    view = SavedView(user_id=people["clerk"].id, name="私人", query="status=open")
    db.session.add(view)
    db.session.commit()
    view_id = view.id
    assert "私人" not in as_("manager").get("/board").get_data(as_text=True)
    assert post(as_("manager"), f"/board/views/{view_id}/delete").status_code == 404
    db.session.expire_all()
    assert db.session.get(SavedView, view_id) is not None
    assert post(as_("clerk"), f"/board/views/{view_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(SavedView, view_id) is None


def test_pager_has_page_numbers(as_, people):
    for i in range(60):
        factories.case(people["resident"], description=f"第{i}件")
    db.session.commit()
    pager = html(as_("clerk").get("/board?status=open&sort=due&page=2")).one("nav", cls="pager")
    numbers = [n.text.strip() for n in pager.all(cls="page-no")]
    assert numbers == ["1", "2", "3"]
    current = [n for n in pager.all(cls="page-no") if n.attrs.get("aria-current") == "page"][0]
    assert current.text.strip() == "2"
    link = [a for a in pager.all("a", cls="page-no") if a.text.strip() == "3"][0]
    assert "page=3" in link.attrs["href"] and "status=open" in link.attrs["href"]
