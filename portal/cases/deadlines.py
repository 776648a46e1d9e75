"""What counts as overdue. The working-day SLA engine replaces this later."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_

from portal.models import Case
from portal.models.cases import OPEN_STATUSES


def overdue_clause(now: datetime):
    """Open cases whose promised finish time has passed."""
    return and_(Case.status.in_(OPEN_STATUSES), Case.promised_at.is_not(None), Case.promised_at < now)


def is_overdue(case: Case, now: datetime) -> bool:
    return case.is_open and case.promised_at is not None and case.promised_at < now
