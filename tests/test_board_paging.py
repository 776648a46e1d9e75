"""The board's pages, its htmx fragment and what the response varies on."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import Kind
from tests.board_helpers import cases, row_ids, thirty  # noqa: F401  (fixtures)
from tests.conftest import htmx_get
from tests.helpers import html


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


def test_one_page_of_cases_shows_no_pager(as_, thirty):
    r = as_("clerk").get("/board", query_string={"q": thirty[0].number})
    assert row_ids(r) == [thirty[0].id] and html(r).all("nav", cls="pager") == []


def test_pager_links_swap_the_table_they_sit_in(as_, thirty):
    page = html(as_("clerk").get("/board", query_string={"sort": "oldest"}))
    table = page.by_id("case-table")
    assert (table.attrs["hx-target"], table.attrs["hx-swap"]) == ("this", "outerHTML")
    link = table.one("nav", cls="pager").one("a", rel="next")
    assert link.attrs["hx-get"] == link.attrs["href"] and link.attrs["hx-push-url"] == "true"
    assert "hx-target" not in link.attrs  # inherited from the table: the fragment owns its swap
    current = table.one("nav", cls="pager").one("span", cls="page-no")
    assert current.attrs["aria-current"] == "page" and current.text.strip() == "1"
