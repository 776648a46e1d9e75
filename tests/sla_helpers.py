"""Time travel for deadline tests: actions and clocks believe it is `moment`."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@contextmanager
def clock(moment: datetime):
    with time_machine.travel(moment, tick=False):
        yield moment


def deadline(case, clock_name: str, rnd: int | None = None):
    found = [d for d in case.deadlines if d.clock == clock_name and (rnd is None or d.round == rnd)]
    assert found, f"no {clock_name} deadline on {case.number}: {[d.clock for d in case.deadlines]}"
    return found[-1]
