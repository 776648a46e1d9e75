"""The repair and works draws: the rate holds, and the same inputs always draw the same cases."""
from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy import select

from portal import settings
from portal.callbacks import jobs
from portal.callbacks.sampling import draw, month_seed
from portal.extensions import db
from portal.models import Building, CallbackKind, CallbackTask, SampleSeed, TaskStatus, Unit
from portal.timeutil import local_zone, utcnow
from tests import factories

N = 10_000
NUMBERS = [f"BX-202611{d:02d}-{i:04d}" for d in range(1, 31) for i in range(1, 400)][:N]


@pytest.mark.parametrize("percent", [30, 5, 50, 100, 0])
def test_sampling_rate_holds_over_ten_thousand_synthetic_repairs(percent):
    drawn = sum(draw("seed-2026-11", number, percent).drawn for number in NUMBERS)
    p = percent / 100
    sigma = math.sqrt(N * p * (1 - p))
    # Four standard deviations: a correct draw fails this about once in 16 000 runs; a
    # biased one (say 28% instead of 30%) fails every time.
    assert abs(drawn - N * p) <= 4 * sigma, (drawn, N * p)


def test_the_same_inputs_always_draw_the_same_cases_and_another_seed_draws_others():
    first = [n for n in NUMBERS if draw("seed-a", n, 30).drawn]
    again = [n for n in NUMBERS if draw("seed-a", n, 30).drawn]
    other = [n for n in NUMBERS if draw("seed-b", n, 30).drawn]
    assert first == again
    assert first != other
    # Raising the rate only adds cases: nobody drawn at 30% is dropped at 50%.
    assert set(first) <= {n for n in NUMBERS if draw("seed-a", n, 50).drawn}


def test_draw_detail_lets_an_auditor_recompute_it():
    result = draw("s", "BX-20261101-0001", 30, "2026-11")
    assert result.detail == f"2026-11: {result.value:.4f} {'<' if result.drawn else '≥'} 30%"


def test_month_seed_is_created_once_and_kept(app):
    seed = month_seed("2026-11")
    db.session.commit()
    assert month_seed("2026-11") == seed and len(seed) == 32
    assert month_seed("2026-12") != seed
    assert db.session.get(SampleSeed, "2026-11").seed == seed


def _estate(ref, n_units=40):
    building = db.session.get(Building, ref["units"][0].building_id)
    units = list(ref["units"]) + [Unit(building=building, number=f"9{i:03d}") for i in range(n_units - 2)]
    db.session.add_all(units)
    db.session.flush()
    for u in units[2:]:  # the first two have the people fixture's residents
        factories.user(factories.Role.RESIDENT, unit=u)
    db.session.commit()
    return building, units


def test_maintenance_works_sample_households_reproducibly_and_within_one_to_two_months(app, people):
    building, units = _estate(people["ref"])
    from portal.callbacks import works
    settings.put("callback_works_sample_percent", 30)
    work = works.record_works("外墙防水翻新", date(2026, 10, 15), [building.id], people["manager"])
    db.session.commit()
    created = jobs.sample_works(work.id)
    assert jobs.sample_works(work.id) == 0  # safe to run twice
    tasks = list(db.session.scalars(select(CallbackTask).where(CallbackTask.work_id == work.id)))
    assert len(tasks) == created and 0 < created < len(units)
    seed = month_seed(utcnow().astimezone(local_zone()).strftime("%Y-%m"))  # the month the works were registered
    seed_month = utcnow().astimezone(local_zone()).strftime("%Y-%m")
    expected = {u.id for u in units if draw(seed, f"works-{work.id}-{u.id}", 30).drawn}
    assert {t.unit_id for t in tasks} == expected
    for t in tasks:
        assert t.kind == CallbackKind.WORKS and t.status == TaskStatus.PENDING and t.reason_detail.startswith(seed_month)
        assert (t.not_before.date() - date(2026, 10, 15)).days in (29, 30)
        assert (t.due_at.date() - date(2026, 10, 15)).days in (59, 60)
