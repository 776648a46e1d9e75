"""Finished months' trend figures are kept (portal.reports.monthly) and dropped by the writes that change them."""
from __future__ import annotations

from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import CallbackKind, CallbackRecord, Method, MonthFigure, Satisfaction, TaskStatus
from portal.reports import stats
from portal.reports.periods import Scope
from tests.sla_helpers import at
from tests.test_reports import _task, new_case, walk

NOV = Scope("2026-11")
NOW = at(2026, 11, 20, 12, 0)


def _trend(now=NOW, scope=NOV):
    return {p["month"]: p for p in stats.trend(scope, now)}


def _fresh(now=NOW, scope=NOV):
    """The figures counted from the cases, with nothing kept."""
    months = scope.months_back(12)
    out = {}
    for month, f in stats.month_counts(months, scope.estate_id, now).items():
        ok, late = f["resolution_ok"], f["resolution_late"]
        out[month] = {"month": month, "cases": f["cases"],
                      "resolution": stats.Rate(ok, ok + late).percent,
                      "satisfaction": stats.Rate(f["satisfied"], f["answered"]).percent}
    return out


def _kept(month):
    return db.session.scalar(select(MonthFigure).where(MonthFigure.month == month, MonthFigure.estate_id == 0))


def test_finished_months_are_kept_and_read_back_the_month_under_way_is_counted(app, people):
    new_case(people, at(2026, 10, 5, 9))
    new_case(people, at(2026, 11, 5, 9))
    db.session.commit()
    assert _trend() == _fresh()
    assert db.session.scalar(select(func.count()).select_from(MonthFigure)) == 11  # Dec 2025 … Oct 2026
    assert _kept("2026-10").cases == 1 and _kept("2026-11") is None
    # Read back, not counted again: a forged kept figure shows.
    db.session.execute(update(MonthFigure).where(MonthFigure.month == "2026-10").values(cases=99))
    db.session.commit()
    assert _trend()["2026-10"]["cases"] == 99
    assert _trend()["2026-11"]["cases"] == 1


def test_a_late_case_drops_only_its_own_month(app, people):
    new_case(people, at(2026, 10, 5, 9))
    db.session.commit()
    _trend()
    db.session.execute(update(MonthFigure).where(MonthFigure.month == "2026-09").values(cases=42))
    db.session.commit()
    new_case(people, at(2026, 10, 31, 23, 50))  # registered in November, received late on 31 October
    db.session.commit()
    assert _kept("2026-10") is None
    assert _kept("2026-09").cases == 42  # untouched months stay kept
    trend = _trend()
    assert trend["2026-10"]["cases"] == 2
    assert _kept("2026-10").cases == 2


def test_a_resolution_finished_late_drops_the_month_the_case_was_received_in(app, people):
    c = new_case(people, at(2026, 10, 30, 9))
    walk(people, c, [(at(2026, 10, 30, 9, 30), "acknowledge"), (at(2026, 10, 30, 9, 30), "classify"),
                     (at(2026, 10, 30, 9, 30), "dispatch"), (at(2026, 10, 30, 10), "accept")])
    db.session.commit()
    before = _trend()["2026-10"]["resolution"]
    walk(people, c, [(at(2026, 11, 18, 10), "complete")])  # weeks late, in a later month
    db.session.commit()
    assert _kept("2026-10") is None
    assert _trend() == _fresh()
    assert _trend()["2026-10"]["resolution"] == 0.0 and before is not None


def test_a_callback_answer_drops_the_month_it_was_given_in(app, people):
    c = new_case(people, at(2026, 9, 3, 9))
    task = _task(CallbackKind.COMPLAINT, at(2026, 10, 5, 10), TaskStatus.DONE, c)
    db.session.commit()
    assert _trend()["2026-10"]["satisfaction"] is None
    record = CallbackRecord(task_id=task.id, case_id=c.id, at=at(2026, 10, 6, 10), method=Method.PHONE,
                            reached=True, satisfaction=Satisfaction.SATISFIED)
    db.session.add(record)
    db.session.commit()
    assert _trend()["2026-10"]["satisfaction"] == 100.0
    assert _kept("2026-09").answered == 0
    # Answers are append-only: one entered late, for a call made in September, changes September only.
    db.session.add(CallbackRecord(task_id=task.id, case_id=c.id, at=at(2026, 9, 6, 10), method=Method.PHONE,
                                  reached=True, satisfaction=Satisfaction.DISSATISFIED))
    db.session.commit()
    assert _kept("2026-09") is None and _kept("2026-10").answered == 1
    trend = _trend()
    assert trend["2026-10"]["satisfaction"] == 100.0 and trend["2026-09"]["satisfaction"] == 0.0
    assert trend == _fresh()


def test_a_kept_month_goes_stale_when_a_running_clock_falls_due(app, people):
    c = new_case(people, at(2026, 10, 31, 16))  # a Saturday: due in the next working days
    walk(people, c, [(at(2026, 10, 31, 16), "acknowledge"), (at(2026, 10, 31, 16), "classify"),
                     (at(2026, 10, 31, 16), "dispatch")])
    db.session.commit()
    early = at(2026, 11, 1, 1)  # October has just ended; the resolution clock still runs
    assert _trend(early)["2026-10"]["resolution"] is None
    assert _kept("2026-10").stale_at is not None
    assert _kept("2026-10").stale_at > early
    later = at(2026, 11, 25, 12)  # past the due time, no write since
    assert _trend(later)["2026-10"]["resolution"] == 0.0
    assert _trend(later) == _fresh(later)
    assert _kept("2026-10").stale_at is None  # nothing runs unseen any more


def test_an_estates_figures_are_kept_apart(app, people):
    c = new_case(people, at(2026, 10, 5, 9))
    db.session.commit()
    estate = c.estate_id
    mine = Scope("2026-11", estate)
    assert _trend(scope=mine) == _fresh(scope=mine)
    assert _trend(scope=mine)["2026-10"]["cases"] == 1
    assert db.session.scalar(select(MonthFigure.cases).where(MonthFigure.month == "2026-10",
                                                             MonthFigure.estate_id == (estate or 0))) == 1
