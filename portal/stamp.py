"""The data stamp: a counter in the database that moves with every change a case list shows.

Case lists (the board, the resident's list, the department queue) cache what
they render under the stamp (`portal.board.listing`). Any commit that inserts,
updates or deletes a row of LIST_TABLES also runs
`UPDATE data_stamp SET n = n + 1` in the same transaction, just before it
commits, so:

- a reader that sees a commit's rows also sees its stamp (one transaction), and
  a reader reads the stamp *before* the rows, so what it caches under stamp N
  is never older than N;
- every web and worker process sees the same counter without Redis;
- the row is locked only from the commit's last flush to its end, so writers
  queue behind each other for microseconds, not for a whole request; it is the
  last lock a transaction takes, so it cannot close a deadlock cycle.

ORM flushes are seen by `before_flush`; bulk `session.execute(update/insert/
delete)` statements by `do_orm_execute`. SQL run on a bare connection, outside
the session, is not seen: call `touch()` after it.

The case lists keep their rendered HTML and counts in this process's
RenderCache (a bounded LRU, LIST_CACHE_SIZE entries) under (stamp, *key).
Callers put `minute()` in their keys, so nothing outlives a minute.

The reference stamp (row 2) moves only with REFERENCE_TABLES: the category,
department and estate lists that filter forms and select boxes offer (and the
estates' category overrides, which decide what an estate's case is offered). A busy
estate's constant case writes move the data stamp, not this one, so what is
built from those lists alone (the choices, a list's filter form and its parsed
values, the board's bulk form) is kept under it in a second LRU
(`reference_cached`, REFERENCE_CACHE_SIZE entries), which stays on when
LIST_CACHE_SIZE=0 turns the render cache off. Both stamps are read in one
statement, once per request.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from flask import current_app, g, has_app_context
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from portal.models.stamp import DataStamp
from portal.timeutil import utcnow

# What a case-list row or its filter form shows: case columns, and the names of
# its category, department, estate, building, unit and resident.
LIST_TABLES = frozenset({"case", "category", "department", "estate", "building", "unit", "user"})
# What select boxes offer (category, department and site choices, an estate's category overrides).
REFERENCE_TABLES = frozenset({"category", "department", "estate", "category_override"})
LISTS, REFERENCE = 1, 2  # the stamps' rows

_FLAG = "portal_stamp_dirty"
_REFERENCE_FLAG = "portal_reference_dirty"


def _read() -> None:
    from portal.extensions import db
    if "data_stamp" not in g:
        found = dict(db.session.execute(select(DataStamp.id, DataStamp.n)
                                        .where(DataStamp.id.in_((LISTS, REFERENCE)))).all())
        g.data_stamp, g.reference_stamp = found.get(LISTS), found.get(REFERENCE)


def current() -> int | None:
    """The stamp as this request first read it (None when the table has no row: then nothing is cached)."""
    _read()
    return g.data_stamp


def reference() -> int | None:
    """The reference stamp as this request first read it (None without its row: nothing kept)."""
    _read()
    return g.reference_stamp


class RenderCache:
    """A small thread-safe LRU, one per process (gunicorn workers each fill their own)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key, value) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


def cache() -> RenderCache:
    """The render cache: case lists' HTML and counts, under the data stamp."""
    return _lru("portal_render_cache", "LIST_CACHE_SIZE")


def reference_cache() -> RenderCache:
    """What is built from the reference lists alone, under the reference stamp."""
    return _lru("portal_reference_cache", "REFERENCE_CACHE_SIZE")


def _lru(name: str, setting: str) -> RenderCache:
    app = current_app._get_current_object()
    found = app.extensions.get(name)
    if found is None:
        found = app.extensions[name] = RenderCache(app.config[setting])
    return found


def minute() -> int:
    """The current minute, part of every cache key: what moves with the clock (time left, overdue) moves
    on, and a change the stamp cannot see (SQL typed into psql) shows within a minute."""
    return int(utcnow().timestamp() // 60)


def _full_key(setting: str, read, key: tuple) -> tuple | None:
    if current_app.config[setting] <= 0:
        return None
    n = read()
    return None if n is None else (n, *key)


def cache_key(*key) -> tuple | None:
    """(stamp, *key), or None when nothing may be cached (the cache is off, or there is no stamp)."""
    return _full_key("LIST_CACHE_SIZE", current, key)


def reference_key(*key) -> tuple | None:
    """(reference stamp, *key), or None when nothing may be kept (REFERENCE_CACHE_SIZE 0, no stamp row)."""
    return _full_key("REFERENCE_CACHE_SIZE", reference, key)


def reference_cached(key: tuple, compute):
    """compute(), kept under (reference stamp, *key) until that stamp moves (or the LRU drops it)."""
    full = reference_key(*key)
    if full is None:
        return compute()
    value = reference_cache().get(full)
    if value is None:
        value = compute()
        keep(full, value, reference_cache())
    return value


def keep(full_key: tuple, value, store: RenderCache | None = None) -> None:
    """Cache a value computed under full_key's stamp, unless this transaction has changed listed data:
    what it read may include its own uncommitted changes, which a rollback would take back."""
    from portal.extensions import db
    session = db.session
    if session.info.get(_FLAG) or _touches(session.new) or _touches(session.dirty) or _touches(session.deleted):
        return
    (store or cache()).put(full_key, value)


def touch(session: Session | None = None) -> None:
    """Mark the current transaction as changing listed data (for SQL the session does not see)."""
    from portal.extensions import db
    (session or db.session).info[_FLAG] = True


def touch_reference(session: Session | None = None) -> None:
    """Mark the current transaction as changing the reference lists too (for SQL the session does not see)."""
    from portal.extensions import db
    info = (session or db.session).info
    info[_FLAG] = info[_REFERENCE_FLAG] = True


def _touches(objects, tables=LIST_TABLES) -> bool:
    return any(getattr(o, "__tablename__", None) in tables for o in objects)


def _pending(session: Session, tables) -> bool:
    return _touches(session.new, tables) or _touches(session.dirty, tables) or _touches(session.deleted, tables)


@event.listens_for(Session, "before_flush")
def _seen_in_flush(session: Session, flush_context, instances) -> None:
    if not session.info.get(_FLAG) and _pending(session, LIST_TABLES):
        session.info[_FLAG] = True
    if not session.info.get(_REFERENCE_FLAG) and _pending(session, REFERENCE_TABLES):
        session.info[_REFERENCE_FLAG] = True


@event.listens_for(Session, "do_orm_execute")
def _seen_in_statement(state) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        name = getattr(getattr(state.statement, "table", None), "name", None)
        if name in LIST_TABLES:
            state.session.info[_FLAG] = True
        if name in REFERENCE_TABLES:
            state.session.info[_REFERENCE_FLAG] = True


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT: the real commit is still to come
    # before_commit runs before the commit's own flush: look at what is still pending too.
    listed = session.info.pop(_FLAG, False) or _pending(session, LIST_TABLES)
    referenced = session.info.pop(_REFERENCE_FLAG, False) or _pending(session, REFERENCE_TABLES)
    if listed or referenced:
        # Flush first, so the stamp rows are the last locks a transaction takes: one holding a case
        # row and waiting for the stamp never blocks one holding the stamp (no deadlock).
        session.flush()
        rows = (LISTS, REFERENCE) if referenced else (LISTS,)
        session.connection().execute(update(DataStamp).where(DataStamp.id.in_(rows)).values(n=DataStamp.n + 1))
        if has_app_context():
            g.pop("data_stamp", None)  # this request's next read sees its own change


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    session.info.pop(_FLAG, None)
    session.info.pop(_REFERENCE_FLAG, None)
