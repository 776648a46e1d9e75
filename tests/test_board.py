"""The board: filters, search, sort, paging, htmx fragments, row actions, query count, locking."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from portal import stamp
from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import Building, Case, Category, Channel, Department, Kind, Role, Status, Unit
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import htmx_get, post
from tests.helpers import fresh, html, textarea_value

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROW_ID = re.compile(r'<tr id="row-(\d+)"')


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def row_ids(response) -> list[int]:
    return [int(i) for i in ROW_ID.findall(response.get_data(as_text=True))]


@pytest.fixture
def cases(people):
    """Four cases that differ in every filterable way."""
    ref, clerk = people["ref"], people["clerk"]
    zhang, li = people["resident"], people["other_resident"]

    a = factories.case(zhang, kind=Kind.COMPLAINT, description="水管爆裂，楼道积水", received_at=local(2025, 3, 1, 10))
    perform(a, clerk, "classify", {"category_id": ref["water"].id, "severity": "minor"})
    perform(a, clerk, "dispatch", {"department_id": ref["eng"].id})

    b = factories.case(li, kind=Kind.REPAIR, description="车位被占用", received_at=local(2025, 3, 5, 12))
    b.channel = Channel.PHONE
    perform(b, clerk, "classify", {"category_id": ref["parking"].id, "severity": "major"})

    # 07:00 on 6 March in Shanghai is still 5 March in UTC
    c = factories.case(zhang, kind=Kind.ENQUIRY, description="请问停水到几点", received_at=local(2025, 3, 6, 7))
    c.channel = Channel.WALK_IN
    perform(c, clerk, "classify", {"category_id": ref["water"].id, "severity": "important"})
    perform(c, clerk, "dispatch", {"department_id": ref["eng"].id})
    perform(c, people["eng"], "accept", {})
    c.promised_at = utcnow() - timedelta(hours=2)  # promised and missed: overdue

    d = factories.case(li, kind=Kind.SUGGESTION, description="建议增加绿化", received_at=local(2025, 3, 10, 12))
    d.channel = Channel.WECHAT
    perform(d, clerk, "classify", {"category_id": ref["parking"].id, "severity": "minor"})
    perform(d, clerk, "dispatch", {"department_id": ref["sec"].id})
    perform(d, people["sec"], "accept", {})
    perform(d, people["sec"], "complete", {"note": "已采纳"})
    d.promised_at = utcnow() - timedelta(hours=2)  # missed, but resolved: not overdue
    db.session.commit()
    return {"a": a, "b": b, "c": c, "d": d}


FILTERS = [
    ({"status": "dispatched"}, "a"),
    ({"status": "resolved"}, "d"),
    ({"kind": "repair"}, "b"),
    ({"kind": "suggestion"}, "d"),
    ({"severity": "major"}, "b"),
    ({"severity": "minor"}, "ad"),
    ({"category": "water"}, "ac"),
    ({"category": "parking"}, "bd"),
    ({"department": "eng"}, "ac"),
    ({"department": "sec"}, "d"),
    ({"channel": "online"}, "a"),
    ({"channel": "walk_in"}, "c"),
    ({"overdue": "y"}, "abc"),  # open since March 2025: every resolution deadline has passed
    ({"date_to": "2025-03-05"}, "ab"),
    ({"date_from": "2025-03-06"}, "cd"),
    ({"date_from": "2025-03-02", "date_to": "2025-03-06"}, "bc"),
    ({"q": "李四"}, "bd"),
    ({"q": "张三"}, "ac"),
    ({"q": "1栋-0202"}, "bd"),
    ({"q": "爆裂"}, "a"),
    ({"q": "number:c"}, "c"),
    ({"kind": "complaint", "status": "resolved"}, ""),
    ({"category": "water", "department": "eng", "severity": "important"}, "c"),
]


@pytest.mark.parametrize("query, expected", FILTERS, ids=[str(q) for q, _ in FILTERS])
def test_board_filter_shows_exactly_the_matching_cases(as_, people, cases, query, expected):
    ref = people["ref"]
    args = {}
    for key, value in query.items():
        if key in ("category", "department"):
            value = ref[value].id
        elif value.startswith("number:"):
            value = cases[value[7:]].number
        args[key] = value
    r = as_("clerk").get("/board", query_string=args)
    assert r.status_code == 200
    assert sorted(row_ids(r)) == sorted(cases[k].id for k in expected)


def test_invalid_filter_values_are_ignored_not_fatal(as_, cases):
    r = as_("clerk").get("/board", query_string={"status": "nonsense", "date_from": "yesterday", "page": "x"})
    assert r.status_code == 200
    assert len(row_ids(r)) == 4


@pytest.mark.parametrize("sort, order", [("newest", "dcba"), ("oldest", "abcd"), ("number", "bdac")])
def test_board_sorts(as_, cases, sort, order):
    r = as_("clerk").get("/board", query_string={"sort": sort})
    assert row_ids(r) == [cases[k].id for k in order]


def test_board_sorts_by_promised_time_with_unpromised_last(as_, cases):
    ids = row_ids(as_("clerk").get("/board", query_string={"sort": "promised"}))
    assert set(ids[:2]) == {cases["c"].id, cases["d"].id}
    assert set(ids[2:]) == {cases["a"].id, cases["b"].id}


def test_board_sorts_by_last_update(as_, people, cases):
    perform(cases["a"], people["clerk"], "comment", {"note": "催办"})
    db.session.commit()
    assert row_ids(as_("clerk").get("/board", query_string={"sort": "updated"}))[0] == cases["a"].id


@pytest.fixture
def thirty(people):
    made = [factories.case(people["resident"], received_at=local(2025, 4, 1, 8) + timedelta(minutes=i))
            for i in range(30)]
    db.session.commit()
    return made


def test_board_pages_by_25(as_, thirty):
    client = as_("clerk")
    first = client.get("/board", query_string={"sort": "oldest"})
    second = client.get("/board", query_string={"sort": "oldest", "page": 2})
    assert row_ids(first) == [c.id for c in thirty[:25]]
    assert row_ids(second) == [c.id for c in thirty[25:]]
    next_link = html(first).one("a", rel="next").attrs["href"]
    assert "page=2" in next_link and "sort=oldest" in next_link
    assert html(second).all("a", rel="next") == []
    assert "page=1" in html(second).one("a", rel="prev").attrs["href"]


def test_page_past_the_end_shows_the_last_page(as_, thirty):
    r = as_("clerk").get("/board", query_string={"sort": "oldest", "page": 99})
    assert row_ids(r) == [c.id for c in thirty[25:]]


def test_pager_keeps_the_filters(as_, people, thirty):
    for c in thirty[:27]:
        c.kind = Kind.REPAIR
    db.session.commit()
    client = as_("clerk")
    first = client.get("/board", query_string={"kind": "repair", "sort": "oldest"})
    href = html(first).one("a", rel="next").attrs["href"]
    assert "kind=repair" in href
    assert row_ids(client.get(href)) == [c.id for c in thirty[25:27]]


# --- page or fragment -------------------------------------------------------------------------

def test_htmx_request_for_the_table_gets_only_the_fragment(as_, cases):
    r = htmx_get(as_("clerk"), "/board?kind=repair", "case-table")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<section id="case-table"')
    assert row_ids(r) == [cases["b"].id]


def test_plain_request_gets_the_full_page(as_, cases):
    body = as_("clerk").get("/board").get_data(as_text=True)
    assert "<html" in body and 'id="case-table"' in body and 'id="filters"' in body


def test_boosted_navigation_gets_the_full_page(as_, cases):
    """hx-boost sends HX-Request on every link; only a request aimed at the table gets the fragment."""
    r = htmx_get(as_("clerk"), "/board", "main")
    assert "<html" in r.get_data(as_text=True)


@pytest.mark.parametrize("target", [None, "case-table"])
def test_board_response_varies_on_hx_request(as_, cases, target):
    client = as_("clerk")
    r = htmx_get(client, "/board", target) if target else client.get("/board")
    vary = {v.strip() for v in ",".join(r.headers.get_all("Vary")).split(",")}
    assert "HX-Request" in vary


def test_board_is_staff_only(as_, cases):
    assert as_("resident").get("/board").status_code == 403
    assert as_("eng").get("/board").status_code == 403


# --- row actions ------------------------------------------------------------------------------

def row_post(client, case, name, **fields):
    version = db.session.scalar(select(Case.version_id).where(Case.id == case.id))
    data = {f"{name}-version": str(version), **{f"{name}-{k}": v for k, v in fields.items()}}
    return post(client, f"/cases/{case.id}/act/{name}", data, htmx_target=f"row-{case.id}")


def only_row(response, case) -> str:
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert body.strip().startswith(f'<tr id="row-{case.id}"')
    assert body.count("<tr") == 1
    return body


def test_row_classify_returns_the_updated_row(as_, people):
    case = factories.case(people["resident"])
    db.session.commit()
    r = row_post(as_("clerk"), case, "classify", category_id=people["ref"]["parking"].id, severity="major")
    assert r.status_code == 200
    body = only_row(r, case)
    assert people["ref"]["parking"].name in body and "sev-major" in body and "row-major" in body
    case = fresh(case)
    assert (case.category_id, case.severity) == (people["ref"]["parking"].id, "major")


def test_row_dispatch_returns_the_updated_row(as_, people):
    case = factories.case(people["resident"], category=people["ref"]["water"], severity="minor")
    db.session.commit()
    r = row_post(as_("clerk"), case, "dispatch", department_id=people["ref"]["eng"].id)
    body = only_row(r, case)
    assert people["ref"]["eng"].name in body and "st-dispatched" in body
    offered = html(as_("clerk").get(f"/board/rows/{case.id}/actions")).all("form", cls="row-form")
    assert [f.attrs["data-action"] for f in offered] == ["classify"]  # dispatch no longer offered
    case = fresh(case)
    assert (case.status, case.department_id) == (Status.DISPATCHED, people["ref"]["eng"].id)


def test_row_close_returns_the_closed_row(as_, people):
    case = factories.case(people["resident"])
    factories.advance(case, ["classify", "dispatch", "accept", "complete"], people)
    db.session.commit()
    r = row_post(as_("manager"), case, "close")
    body = only_row(r, case)
    assert "st-closed" in body
    assert fresh(case).status == Status.CLOSED


def test_failed_row_action_returns_the_row_with_the_error(as_, people):
    case = factories.case(people["resident"])
    db.session.commit()
    r = row_post(as_("clerk"), case, "dispatch", department_id=people["ref"]["eng"].id)  # not classified
    assert r.status_code == 200
    only_row(r, case)
    form = html(r).one("form", data_action="dispatch")
    assert form.all("p", cls="error")
    assert fresh(case).status == Status.REGISTERED


def test_failed_row_action_keeps_the_choice_and_shows_the_field_error(as_, people):
    case = factories.case(people["resident"])
    db.session.commit()
    r = row_post(as_("clerk"), case, "classify", category_id=people["ref"]["parking"].id, severity="")
    only_row(r, case)
    form = html(r).one("form", data_action="classify")
    assert form.all("p", cls="error")
    chosen = [o.attrs["value"] for o in form.by_id(f"classify-category_id-{case.id}").all("option") if "selected" in o.attrs]
    assert chosen == [str(people["ref"]["parking"].id)]
    assert fresh(case).category_id is None


# --- a fixed number of SQL statements ---------------------------------------------------------

def count_statements(client, url) -> int:
    statements = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        r = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    assert r.status_code == 200
    return len(statements)


def varied_cases(people, n: int, start: int) -> None:
    """Cases spread over many residents, units, buildings, categories and departments."""
    ref = people["ref"]
    deps = [ref["eng"], ref["sec"]] + [Department(code=f"d{start}-{i}", name=f"部门{start}-{i}") for i in range(4)]
    cats = [ref["water"], ref["parking"]] + [Category(code=f"c{start}-{i}", name=f"类别{start}-{i}",
                                                      default_department=deps[i]) for i in range(4)]
    buildings = [Building(estate_id=ref["units"][0].building.estate_id, name=f"{start}-{i}栋") for i in range(3)]
    db.session.add_all(deps + cats + buildings)
    db.session.flush()
    for i in range(n):
        unit = Unit(building=buildings[i % 3], number=f"{i:04d}")
        db.session.add(unit)
        db.session.flush()
        resident = factories.user(Role.RESIDENT, unit=unit)
        c = factories.case(resident, kind=list(Kind)[i % 4], received_at=utcnow() - timedelta(minutes=i))
        perform(c, people["clerk"], "classify", {"category_id": cats[i % len(cats)].id,
                                                 "severity": ["minor", "important", "major"][i % 3]})
        if i % 3:
            perform(c, people["clerk"], "dispatch", {"department_id": deps[i % len(deps)].id})
        if i % 3 == 2:
            c.promised_at = utcnow() + timedelta(hours=i)
    db.session.commit()


def test_board_issues_a_fixed_number_of_statements_however_many_cases(app, as_, people, monkeypatch):
    now = utcnow()
    monkeypatch.setattr("portal.stamp.utcnow", lambda: now)  # cache keys hold the minute: keep one
    client = as_("manager")
    varied_cases(people, 5, start=0)
    small = count_statements(client, "/board")  # the first view of this data: rendered
    varied_cases(people, 55, start=1)
    assert len(row_ids(client.get("/board"))) == 25
    with app.app_context():
        stamp.cache().clear()
    large = count_statements(client, "/board")
    assert small == large
    assert small <= 10
    cached = count_statements(client, "/board")  # nothing changed since: served from the list cache
    assert cached < large


# --- optimistic locking -----------------------------------------------------------------------

def version_on_page(client, case, action) -> str:
    return html(client.get(f"/cases/{case.id}")).by_id(f"{action}-version").attrs["value"]


def test_second_of_two_concurrent_edits_gets_a_conflict_and_keeps_its_text(as_, people):
    people["eng2"] = factories.user(Role.DEPARTMENT, department=people["ref"]["eng"])
    case = factories.case(people["resident"])
    factories.advance(case, ["classify", "dispatch", "accept"], people)
    db.session.commit()
    first, second = as_("eng"), as_("eng2")
    seen_first, seen_second = version_on_page(first, case, "plan"), version_on_page(second, case, "plan")
    assert seen_first == seen_second

    promised = (datetime.now(SHANGHAI) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r1 = post(first, f"/cases/{case.id}/act/plan", {"plan-version": seen_first, "plan-finding": "阀门老化",
                                                    "plan-plan": "更换阀门", "plan-promised_at": promised})
    assert r1.status_code == 302
    r2 = post(second, f"/cases/{case.id}/act/plan", {"plan-version": seen_second, "plan-finding": "水压过高",
                                                     "plan-plan": "加装减压阀", "plan-promised_at": promised},
              htmx_target="case-body")
    assert r2.status_code == 200
    page = html(r2)
    form = page.by_id("plan-finding")
    while form.tag != "form":
        form = form.parent
    assert form.all("div", cls="form-errors"), "a conflict message is shown on the submitted form"
    assert textarea_value(page.by_id("plan-finding")) == "水压过高"
    assert textarea_value(page.by_id("plan-plan")) == "加装减压阀"
    assert [e.action for e in fresh(case).events].count("plan") == 1
    assert (fresh(case).finding, fresh(case).plan) == ("阀门老化", "更换阀门")

    # the re-rendered form carries the current version: submitting again applies the second change
    new_version = page.by_id("plan-version").attrs["value"]
    assert new_version == str(fresh(case).version_id) != seen_second
    r3 = post(second, f"/cases/{case.id}/act/plan", {"plan-version": new_version, "plan-finding": "水压过高",
                                                     "plan-plan": "加装减压阀", "plan-promised_at": promised})
    assert r3.status_code == 302
    assert fresh(case).finding == "水压过高"


def test_conflicting_first_reply_keeps_the_message_and_typed_text(as_, people):
    people["clerk2"] = factories.user(Role.CLERK)
    case = factories.case(people["resident"])
    db.session.commit()
    first, second = as_("clerk"), as_("clerk2")
    seen = version_on_page(first, case, "acknowledge")
    assert version_on_page(second, case, "acknowledge") == seen
    post(first, f"/cases/{case.id}/act/acknowledge", {"acknowledge-version": seen, "acknowledge-note": "第一条回复"})
    r = post(second, f"/cases/{case.id}/act/acknowledge",
             {"acknowledge-version": seen, "acknowledge-note": "第二条回复，打了很久"}, htmx_target="case-body")
    assert fresh(case).first_reply == "第一条回复"
    page = html(r)
    assert page.all("div", cls="form-errors")
    assert "第二条回复，打了很久" in r.get_data(as_text=True)


def test_conflicting_row_dispatch_shows_the_conflict_in_the_row(as_, people):
    people["clerk2"] = factories.user(Role.CLERK)
    case = factories.case(people["resident"], category=people["ref"]["water"], severity="minor")
    db.session.commit()
    first, second = as_("clerk"), as_("clerk2")
    seen = str(case.version_id)
    post(first, f"/cases/{case.id}/act/dispatch", {"dispatch-version": seen,
                                                   "dispatch-department_id": people["ref"]["eng"].id},
         htmx_target=f"row-{case.id}")
    r = post(second, f"/cases/{case.id}/act/dispatch", {"dispatch-version": seen,
                                                        "dispatch-department_id": people["ref"]["sec"].id},
             htmx_target=f"row-{case.id}")
    assert fresh(case).department_id == people["ref"]["eng"].id
    only_row(r, case)
    assert html(r).all("p", cls="error"), "the clerk is told the case changed under them"


def test_two_open_row_menus_share_no_element_id(as_, people):
    first, second = factories.case(people["resident"]), factories.case(people["other_resident"])
    db.session.commit()
    clerk = as_("clerk")
    ids = []
    for case in (first, second):
        menu = html(clerk.get(f"/board/rows/{case.id}/actions"))
        ids += [n.attrs["id"] for n in menu.iter() if n.attrs.get("id")]
    assert ids and len(ids) == len(set(ids))


def test_case_page_loads_in_a_fixed_number_of_statements(app, as_, people):
    app.config["LIST_CACHE_SIZE"] = 0  # the choice lists are read every time: the same count each request
    case = factories.case(people["resident"])
    db.session.commit()
    client = as_("manager")
    few = count_statements(client, f"/cases/{case.id}")
    for i in range(6):  # more events, by several people
        perform(case, people["clerk" if i % 2 else "manager"], "comment", {"note": f"备注 {i}"})
    db.session.commit()
    # user, case with its relations, events with their actors, attachments, deadlines; then the
    # page's lookups (choice lists, phrases, settings, calendar): none per event or relation.
    assert count_statements(client, f"/cases/{case.id}") == few <= 12


def test_one_page_of_cases_shows_no_pager(as_, thirty):
    r = as_("clerk").get("/board", query_string={"q": thirty[0].number})
    assert row_ids(r) == [thirty[0].id] and html(r).all("nav", cls="pager") == []


def test_row_forms_swap_the_row_they_sit_in(as_, people):
    case = factories.case(people["resident"])
    db.session.commit()
    client = as_("clerk")
    row = html(client.get("/board")).by_id(f"row-{case.id}")
    assert (row.attrs["hx-target"], row.attrs["hx-swap"]) == ("this", "outerHTML")
    forms = html(client.get(f"/board/rows/{case.id}/actions")).all("form", cls="row-form")
    assert forms and all("hx-target" not in f.attrs and f.attrs["hx-post"] == f.attrs["action"] for f in forms)


def test_pager_links_swap_the_table_they_sit_in(as_, thirty):
    page = html(as_("clerk").get("/board", query_string={"sort": "oldest"}))
    table = page.by_id("case-table")
    assert (table.attrs["hx-target"], table.attrs["hx-swap"]) == ("this", "outerHTML")
    link = table.one("nav", cls="pager").one("a", rel="next")
    assert link.attrs["hx-get"] == link.attrs["href"] and link.attrs["hx-push-url"] == "true"
    assert "hx-target" not in link.attrs  # inherited from the table: the fragment owns its swap
    current = table.one("nav", cls="pager").one("span", cls="page-no")
    assert current.attrs["aria-current"] == "page" and current.text.strip() == "1"
