"""Case lists (board, resident's list, department queue): rows as plain values, and a render cache.

A list page is two pieces of HTML, the filter form and the table (`#case-table`,
also the htmx fragment the filters, pager and 30-second poll fetch). The table
is cached in this process under everything its HTML depends on:

    ("table", minute, query string, data stamp, language, endpoint, viewer's scope, page size)

- the data stamp (`portal.stamp`) moves with every commit that changes a
  listed table, so a change anywhere shows at the next request;
- the minute covers what moves with the clock (time left, overdue colours);
- the scope (`portal.access.scope_key`) is what decides which rows a viewer sees
  and what they are offered: role and estates for clerks and managers (all
  estates for company-level staff), department and estates for department
  staff, the user and their household stays for residents (never shared
  between residents). Two clerks of different estates never share an entry.

The filter form (its HTML, and the values it parses from the query) depends only
on the query string and the category, department and site choices: it is kept in
the reference cache under the reference stamp (portal.stamp), which case changes do
not move, so it survives them, also with the render cache off. The table's
"updated hh:mm:ss" is filled in at serving time. A miss renders from rows
selected as plain columns (one query, names by primary-key subqueries, no ORM
objects; portal.board.rows) and a count that is itself cached under the stamp
and the minute, so paging or re-sorting the same filter does not count again.
Counting stops at LIST_COUNT_LIMIT (10,000): past that the list says "more than
10000 cases" and pages up to there, as no one pages further; filters narrow it (a searched list
stops at SEARCH_COUNT_LIMIT, 1,000: a common word's every hit is a row to check). `LIST_CACHE_SIZE = 0` turns the cache off; a
missing stamp row turns it off too (portal.stamp.cache_key).
"""
from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup
from sqlalchemy import and_
from werkzeug.datastructures import MultiDict

from portal import pagination, stamp
from portal.access import scope_key, visible_cases_clause
from portal.board.filters import filter_form, filter_values
from portal.board.query import SORTS, filtered
from portal.board.rows import ROW_COLUMNS, Labels, actionable_statuses, row_urls, row_view
from portal.extensions import db
from portal.htmx import respond, targets
from portal.models import Case, Role, User
from portal.pagination import Page
from portal.timeutil import local_now, utcnow

NOW_MARK = "\x00updated-at\x00"  # replaced by the serving time on every response


def _count(stmt, key, limit: int) -> tuple[int, bool]:
    """The list's count, capped at limit (portal.pagination.count), kept under the stamp."""
    cached = stamp.cache().get(key) if key else None
    if cached is not None:
        return cached
    result = pagination.count(stmt.with_only_columns(Case.id), limit)
    if key:
        stamp.keep(key, result)
    return result


def rows_page(stmt, sort: str, page: int, size: int, role: Role, count_key, searched: bool = False) -> Page:
    """The count (cached under the stamp, capped at LIST_COUNT_LIMIT, SEARCH_COUNT_LIMIT when `searched`)
    and one page of RowViews."""
    now, actionable, t = utcnow(), actionable_statuses(role), Labels()

    def fetch(window):
        columns = window.with_only_columns(*ROW_COLUMNS, maintain_column_froms=False).select_from(Case)
        return [row_view(c, now, actionable, t, withhold=role == Role.DEPARTMENT)
                for c in db.session.execute(columns)]

    return pagination.paginate(stmt.order_by(*SORTS.get(sort, SORTS["newest"])), page, size, fetch=fetch,
                               counted=_count(stmt, count_key, current_app.config[
                                   "SEARCH_COUNT_LIMIT" if searched else "LIST_COUNT_LIMIT"]))


def case_list(user: User, endpoint: str, page_template: str, *, defaults: dict | None = None,
              board: bool = False, row_menu: bool = True, narrow: tuple | None = None, page_context=None,
              **extra):
    """A case list page, or its `#case-table` fragment when htmx asks for it.

    `narrow`: (SQL clause, cache key) further narrowing the viewer's cases (a department
    queue's view); the key must say everything the clause depends on (the user for "mine").
    `page_context`, a function returning more values for the page template, runs only for the page;
    `extra` values go to the page template as they are.
    """
    source = request.args if request.args or not defaults else MultiDict(defaults)
    size = current_app.config["BOARD_PAGE_SIZE"]
    clause, narrow_key = narrow or (None, ())
    base = stamp.cache_key(str(get_locale()), endpoint, scope_key(user) + tuple(narrow_key), size)
    query_key = tuple(sorted(source.items(multi=True)))
    if source.get("mine"):  # "registered by me" differs between users of the same scope
        query_key += (("\x00user", str(user.id)),)
    store, forms = stamp.cache(), stamp.reference_cache()

    form = values = None

    def form_key(piece: str) -> tuple | None:
        # The filter form reads the query and the category, department and site choices, nothing
        # else: kept under the reference stamp (not the data stamp), its values and HTML survive case
        # changes, also with the render cache off.
        return stamp.reference_key(piece, stamp.minute(), query_key, str(get_locale()), endpoint,
                                   scope_key(user) + tuple(narrow_key))

    def bound():
        nonlocal form, values
        if form is None:
            form = filter_form(source, user)
            values = filter_values(form)
        return form, values

    table_key = base and ("table", stamp.minute(), query_key) + base
    table = store.get(table_key) if table_key else None
    if table is None:
        values_key = form_key("values")
        values = forms.get(values_key) if values_key else None
        if values is None:
            form, values = bound()
            if values_key:
                stamp.keep(values_key, values, forms)
        narrowing = {k: v for k, v in values.items() if k not in ("sort", "page")}
        if narrowing.get("mine"):
            narrowing["mine"] = user.id
        count_key = base and ("count", stamp.minute(),
                              tuple(sorted((k, str(v)) for k, v in narrowing.items()))) + base
        visible = visible_cases_clause(user) if clause is None else and_(visible_cases_clause(user), clause)
        page = rows_page(filtered(visible, values, user.id), values.get("sort", "newest"),
                         values.get("page", 1), size, user.role, count_key, searched=bool((values.get("q") or "").strip()))
        table = render_template(
            "board/_table.html", page=page, list_endpoint=endpoint,
            list_args={k: v for k, v in source.items() if k != "page" and v},
            show_department=user.role != Role.DEPARTMENT, board=board, row_menu=row_menu,
            urls=row_urls(), updated_at=NOW_MARK, resident=user.role == Role.RESIDENT)
        if table_key:
            stamp.keep(table_key, table)
    table = Markup(table.replace(NOW_MARK, local_now().strftime("%H:%M:%S")))
    if targets("case-table"):
        return respond(table)

    filters_key = form_key("filters")
    filters = forms.get(filters_key) if filters_key else None
    if filters is None:
        form, values = bound()
        narrowing = {k: v for k, v in values.items() if k not in ("q", "sort", "page")}
        defaults_narrowing = {k: v for k, v in (defaults or {}).items()
                              if k not in ("q", "sort", "page") and k in form.data}
        filters = render_template("board/_filters.html", filters=form, list_endpoint=endpoint,
                                  filters_open=narrowing != defaults_narrowing,
                                  show_department=user.role != Role.DEPARTMENT)
        if filters_key:
            stamp.keep(filters_key, filters, forms)
    return respond(render_template(page_template, filters_html=Markup(filters), table_html=table, **extra,
                                   **(page_context() if page_context else {})))
