"""Reproducible, auditable draws: a case is drawn when hash(month seed, case number) < rate.

The same seed, key and rate always give the same answer, so anyone holding the
month's seed can recompute who was drawn; the seed is random per month so the
draw cannot be predicted in advance.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import SampleSeed

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
