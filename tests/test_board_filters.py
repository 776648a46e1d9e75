"""The board's filters, search and sorting, and who may open it."""
from __future__ import annotations

import pytest

from portal.cases.lifecycle import perform
from portal.extensions import db
from tests.board_helpers import cases, row_ids  # noqa: F401  (fixtures)


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


def test_board_is_staff_only(as_, cases):
    assert as_("resident").get("/board").status_code == 403
    assert as_("eng").get("/board").status_code == 403
