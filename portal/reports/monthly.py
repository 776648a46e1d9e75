"""Finished months' trend figures, computed once and kept in `month_figure` (issue 18).

A month is finished when it has ended; its figures still change when a late write touches it, so
every flush that writes what the trend counts deletes the kept rows of the months it touches:

- a case inserted, deleted, or moved in time or site: the month it was received in (before and after);
- a resolution clock inserted, deleted or changed: the month its case was received in;
- a callback answer inserted, deleted or changed: the month it was given in (before and after);
- what decides a callback's site (its task's case or household, a unit's building, a building's
  estate) changed: every month (rare: an admin's edit).

Time alone changes one figure: a running resolution clock that falls due counts as late from then on,
so a kept row is used only before its `stale_at` (the first such due time after it was computed).
Writes that bypass the ORM (bulk core statements, imports) must call `forget()` themselves.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Building, CallbackRecord, CallbackTask, Case, MonthFigure, Unit
from portal.models.sla import Deadline
from portal.reports.periods import Scope
from portal.timeutil import local_zone

COLUMNS = ("cases", "resolution_ok", "resolution_late", "satisfied", "answered", "stale_at")
ALL = "*"  # every month


def figures(months: list[str], estate_id: int | None, now: datetime,
            count: Callable[[list[str], int | None, datetime], dict]) -> dict[str, dict]:
    """Each month's trend figures: kept rows for finished months, `count` for the rest (then kept)."""
    key = estate_id or 0
    finished = [m for m in months if Scope(m).end <= now]
    kept = {}
    if finished:
        for row in db.session.scalars(select(MonthFigure).where(
                MonthFigure.estate_id == key, MonthFigure.month.in_(finished))):
            if row.stale_at is None or _aware(row.stale_at) > now:
                kept[row.month] = {name: getattr(row, name) for name in COLUMNS}
    missing = [m for m in months if m not in kept]
    counted = count(missing, estate_id, now) if missing else {}
    keep = [m for m in missing if m in finished]
    if keep:
        _store(key, {m: counted[m] for m in keep}, now)
    return {**kept, **counted}


def _store(key: int, rows: dict[str, dict], now: datetime) -> None:
    """Keep the rows (replacing stale ones); a concurrent request that kept them first wins."""
    try:
        with db.session.begin_nested():
            db.session.execute(delete(MonthFigure).where(MonthFigure.estate_id == key,
                                                         MonthFigure.month.in_(list(rows))))
            db.session.add_all(MonthFigure(month=m, estate_id=key, computed_at=now, **f) for m, f in rows.items())
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def forget(months=ALL) -> None:
    """Drop kept figures: of the given months (YYYY-MM), or all (after writes that bypass the ORM)."""
    stmt = delete(MonthFigure)
    if months != ALL:
        stmt = stmt.where(MonthFigure.month.in_(list(months)))
    db.session.execute(stmt)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _month(at: datetime | None) -> str | None:
    return _aware(at).astimezone(local_zone()).strftime("%Y-%m") if at is not None else None


def _values(obj, name: str) -> list:
    """The attribute's value now and before this flush (both months are touched by a move)."""
    hist = inspect(obj).attrs[name].history
    return [*hist.added, *hist.unchanged, *hist.deleted] or [getattr(obj, name, None)]


def _changed(obj, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _touched(session: Session) -> set[str]:
    months: set[str] = set()
    with session.no_autoflush:
        for obj, how in [*((o, "new") for o in session.new), *((o, "dirty") for o in session.dirty),
                         *((o, "deleted") for o in session.deleted)]:
            if isinstance(obj, Case):
                if how != "dirty" or _changed(obj, "received_at", "estate_id"):
                    months |= {_month(v) for v in _values(obj, "received_at")}
                if how == "dirty" and _changed(obj, "estate_id", "unit_id"):
                    return {ALL}  # its callbacks' site moves with it
            elif isinstance(obj, Deadline):
                if how != "dirty" or _changed(obj, "met_at", "cancelled", "due_at", "segment_start", "clock",
                                              "case_id"):
                    case = obj.case if obj.case is not None else session.get(Case, obj.case_id)
                    months.add(_month(case.received_at) if case is not None else None)
            elif isinstance(obj, CallbackRecord):
                if how != "dirty" or _changed(obj, "at", "satisfaction", "reached", "task_id"):
                    months |= {_month(v) for v in _values(obj, "at")}
            elif isinstance(obj, CallbackTask):
                if how == "dirty" and _changed(obj, "case_id", "unit_id"):
                    return {ALL}
            elif isinstance(obj, (Unit, Building)):
                if how == "dirty" and _changed(obj, "building_id" if isinstance(obj, Unit) else "estate_id"):
                    return {ALL}
    months.discard(None)
    return months


def _before_flush(session: Session, _context, _instances) -> None:
    months = _touched(session)
    if months:
        session.info.setdefault("month_figures_touched", set()).update(months)


def _after_flush(session: Session, _context) -> None:
    months = session.info.pop("month_figures_touched", None)
    if not months:
        return
    stmt = delete(MonthFigure)
    if ALL not in months:
        stmt = stmt.where(MonthFigure.month.in_(sorted(months)))
    session.connection().execute(stmt)


def init_app(_app) -> None:
    """Drop kept figures as writes touch their months (once per process, however many apps)."""
    for name, fn in (("before_flush", _before_flush), ("after_flush", _after_flush)):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)
