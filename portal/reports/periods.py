"""Months in the portal's time zone, and the scope (month and site) every figure is about."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from portal.timeutil import local_now, local_zone

# This century only (ASCII digits, no trailing newline): months far off cannot be shifted or
# turned into dates.
MONTH_RE = re.compile(r"^(20[0-9][0-9])-(0[1-9]|1[0-2])\Z")


def shift(month: str, by: int) -> str:
    """'2026-01' shifted by -1 → '2025-12'."""
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + mon - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def start_of(month: str) -> datetime:
    """Midnight of the month's first day in the configured zone (stored times are UTC)."""
    return datetime.combine(first_day(month), time.min, tzinfo=local_zone())


def current_month() -> str:
    return local_now().strftime("%Y-%m")


def parse_month(text: str | None, default: str | None = None) -> str:
    """A valid 'YYYY-MM', else the default (this month)."""
    if text and MONTH_RE.match(text):
        return text
    return default or current_month()


@dataclass(frozen=True)
class Scope:
    month: str
    estate_id: int | None = None

    @property
    def start(self) -> datetime:
        return start_of(self.month)

    @property
    def end(self) -> datetime:
        return start_of(shift(self.month, 1))

    @property
    def last_day(self) -> date:
        from datetime import timedelta
        return first_day(shift(self.month, 1)) - timedelta(days=1)

    @property
    def previous(self) -> Scope:
        return Scope(shift(self.month, -1), self.estate_id)

    def months_back(self, n: int) -> list[str]:
        """The n months ending with this one, oldest first."""
        return [shift(self.month, k) for k in range(-n + 1, 1)]
