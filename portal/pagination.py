"""One way to page a SELECT: count (optionally capped), clamp the page, fetch its rows.

Every paged list (case lists, callback queue, escalations, notifications,
deliveries) goes through `paginate` and renders its `Page` with the `pager`
macro in `templates/_macros.html`. A list may cap its count: counting stops at
`limit` + 1 rows, the page then says "more than N" and pages up to there
(the case lists use LIST_COUNT_LIMIT, 10,000), because an exact count of a big
table costs more than anyone gains from paging that far.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from portal.extensions import db

MAX_PAGE = 100_000  # past any real list; a bigger number in a URL is read as the last page


def page_number(raw) -> int:
    """The page a query-string value asks for: 1 for anything that is not a plain number, at most MAX_PAGE.

    `?page=99999999999999999999`, `-3`, `abc` or `1e9` never reach the database as an OFFSET.
    """
    text = str(raw if raw is not None else "").strip()
    if not re.fullmatch(r"[0-9]{1,12}", text):
        return MAX_PAGE if re.fullmatch(r"[0-9]+", text) else 1
    return max(1, min(int(text), MAX_PAGE))


@dataclass
class Page:
    """One page of a list and what its pager needs."""

    items: list
    total: int
    page: int
    size: int
    capped: bool = False  # more than `total` match: counting stopped there

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def count(stmt, limit: int = 0) -> tuple[int, bool]:
    """How many rows stmt selects, counting at most limit + 1 (0: all); (total, capped)."""
    rows = stmt.order_by(None)
    if limit:
        rows = rows.limit(limit + 1)
    total = db.session.scalar(select(func.count()).select_from(rows.subquery())) or 0
    return (limit, True) if limit and total > limit else (total, False)


def paginate(stmt, page: int, size: int, *, limit: int = 0, counted: tuple[int, bool] | None = None,
             fetch: Callable | None = None) -> Page:
    """The page of an ordered SELECT, clamped to the pages there are.

    `counted` is a count already known (a cached one); `fetch` turns the
    statement limited to the page into items (default: the ORM objects).
    """
    total, capped = counted if counted is not None else count(stmt, limit)
    page = min(max(1, page_number(page)), max(1, -(-total // size)))
    window = stmt.limit(size).offset((page - 1) * size)
    items = fetch(window) if fetch is not None else db.session.scalars(window).unique().all()
    return Page(list(items), total, page, size, capped)
