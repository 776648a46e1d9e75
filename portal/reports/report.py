"""The monthly analysis report: the month's figures and lists beside last month's, as one snapshot."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Callable

from sqlalchemy import or_, select

from portal.extensions import db
from portal.models import ActionStatus, ImprovementAction, ReportRun, RunStatus
from portal.reports import lists, stats
from portal.reports.periods import Scope
from portal.timeutil import utcnow

STEPS = 5


def build(scope: Scope, now: datetime | None = None, progress: Callable[[int], None] | None = None,
          with_trend: bool = True, with_previous: bool = True) -> dict:
    """Everything the report shows, JSON-ready; `progress(step)` is called after each part.

    The dashboard leaves out last month (the report compares) and the 12-month trend (its own panel).
    """
    now = now or utcnow()
    tick = progress or (lambda step: None)
    data = {"month": scope.month, "estate_id": scope.estate_id, "generated_at": now.isoformat()}
    data["figures"] = stats.figures(scope, now)
    tick(1)
    data["previous"] = stats.figures(scope.previous, now) if with_previous else None
    tick(2)
    data["lists"] = lists.all_lists(scope, now)
    tick(3)
    data["performance"] = lists.performance(scope, now)
    tick(4)
    data["trend"] = stats.trend(scope, now) if with_trend else None
    tick(5)
    return data


def change(current: float | None, previous: float | None) -> float | None:
    """Difference to last month in points (rates) or units (counts)."""
    if current is None or previous is None:
        return None
    return round(current - previous, 1)


def latest_run(scope: Scope) -> ReportRun | None:
    return db.session.scalar(
        select(ReportRun).where(ReportRun.month == scope.month,
                                ReportRun.estate_id.is_(None) if scope.estate_id is None
                                else ReportRun.estate_id == scope.estate_id)
        .order_by(ReportRun.id.desc()).limit(1))


def snapshot(run: ReportRun | None) -> dict | None:
    return json.loads(run.snapshot) if run is not None and run.status == RunStatus.DONE and run.snapshot else None


def start_run(scope: Scope, user) -> ReportRun:
    """Queue a generation (the job runs after the caller commits)."""
    from portal.jobs import after_commit
    run = ReportRun(month=scope.month, estate_id=scope.estate_id, status=RunStatus.QUEUED, step=0, steps=STEPS,
                    created_by_id=getattr(user, "id", None))
    db.session.add(run)
    db.session.flush()
    after_commit("portal.reports.jobs.generate_report", run.id)
    return run


def _site(scope: Scope):
    return (ImprovementAction.estate_id.is_(None) if scope.estate_id is None
            else ImprovementAction.estate_id == scope.estate_id)


def actions(scope: Scope) -> list[ImprovementAction]:
    """This month's improvement actions."""
    return list(db.session.scalars(select(ImprovementAction).where(ImprovementAction.month == scope.month,
                                                                   _site(scope)).order_by(ImprovementAction.id)))


def follow_ups(scope: Scope) -> list[ImprovementAction]:
    """Last month's actions (and older ones still open) to follow up in this month's report."""
    return list(db.session.scalars(
        select(ImprovementAction).where(ImprovementAction.month < scope.month, _site(scope), or_(
            ImprovementAction.month == scope.previous.month,
            ImprovementAction.status.in_((ActionStatus.PLANNED, ActionStatus.IN_PROGRESS))))
        .order_by(ImprovementAction.month, ImprovementAction.id)))


def add_action(scope: Scope, user, data: dict) -> ImprovementAction:
    """A manager's improvement action for the month (the caller commits)."""
    row = ImprovementAction(month=scope.month, estate_id=scope.estate_id, problem=data["problem"].strip(),
                            action=data["action"].strip(), owner=(data.get("owner") or "").strip(),
                            due_on=data.get("due_on"), disclose=bool(data.get("disclose")),
                            status=ActionStatus.PLANNED, follow_up="", created_by_id=user.id)
    db.session.add(row)
    return row


def follow_up(row: ImprovementAction, data: dict) -> None:
    """Record the follow-up: the status and what happened (the caller commits)."""
    row.status = ActionStatus(data["status"])
    row.follow_up = (data.get("follow_up") or "").strip()
