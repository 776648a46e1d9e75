"""Reproducible, auditable draws: a case is drawn when hash(month seed, key) < rate.

    value = int(first 13 hex digits of SHA-256("<seed>:<key>"), 16) / 16**13   (uniform in [0, 1))
    drawn  = value < rate / 100

The key is the case number for a repair and `works-<work id>-<unit id>` for a household of
maintenance works. The seed is random per month and created on first use, so nobody can know a
draw in advance. It is published (the managers' page /callbacks/draws) only once the month is
over (PUBLISHED_AFTER: 00:00 local time on the 1st of the next month): by then every draw that
uses it is fixed — a repair is drawn with the seed of the month it was resolved in (resolution
is always "now"), works with the seed of the month they were registered in (not the completion
date a manager types, which could otherwise pick an already published seed) — so knowing the
seed can no longer change who is called, and anyone can then recompute every draw.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import CallbackKind, SampleSeed
from portal.timeutil import local_zone, utcnow

SCALE = 16 ** 13  # 52 bits of the digest: a uniform value in [0, 1)


@dataclass(frozen=True)
class Draw:
    drawn: bool
    value: float
    percent: int
    month: str

    @property
    def detail(self) -> str:
        """Stored with the task: enough to recompute the draw."""
        sign = "<" if self.drawn else "≥"
        return f"{self.month}: {self.value:.4f} {sign} {self.percent}%"


def draw_value(seed: str, key: str) -> float:
    """A uniform number in [0, 1) fixed by the seed and the key."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()
    return int(digest[:13], 16) / SCALE


def draw(seed: str, key: str, percent: int, month: str = "") -> Draw:
    value = draw_value(seed, key)
    return Draw(value < percent / 100, value, percent, month)


def month_seed(month: str) -> str:
    """The month's seed, created on first use (safe when two workers race)."""
    row = db.session.get(SampleSeed, month)
    if row is not None:
        return row.seed
    try:
        with db.session.begin_nested():
            db.session.add(SampleSeed(month=month, seed=secrets.token_hex(16)))
    except IntegrityError:
        pass
    return db.session.get(SampleSeed, month).seed


def month_of(at: datetime) -> str:
    """The local month ("2026-11") a moment falls in: the seed a draw made then uses."""
    return at.astimezone(local_zone()).strftime("%Y-%m")


def published_at(month: str) -> datetime:
    """When the month's seed is shown: 00:00 local time on the first day of the next month."""
    year, mon = map(int, month.split("-"))
    return datetime.combine(date(year + mon // 12, mon % 12 + 1, 1), time.min, tzinfo=local_zone())


def published_seed(month: str, at: datetime | None = None) -> str | None:
    """The month's seed once it is published (None before, or for a month without draws)."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month or "") or (at or utcnow()) < published_at(month):
        return None
    row = db.session.get(SampleSeed, month)
    return row.seed if row is not None else None


def key_of(task) -> str:
    """The key a task was drawn with (see the module docstring)."""
    if task.kind == CallbackKind.WORKS:
        return f"works-{task.work_id}-{task.unit_id}"
    return task.case.number if task.case is not None else ""


def parse_detail(detail: str) -> tuple[str, int] | None:
    """(month, rate %) of a stored draw detail such as "2026-11: 0.1234 < 30%"."""
    found = re.fullmatch(r"(\d{4}-\d{2}): [0-9.]+ [<≥] (\d{1,3})%", detail or "")
    return (found.group(1), int(found.group(2))) if found else None
