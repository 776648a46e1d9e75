"""Background generation of the monthly report (safe to run twice: a finished run is left alone)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update

from portal.extensions import db
from portal.models import ReportRun, RunStatus
from portal.reports import report
from portal.reports.periods import Scope
from portal.timeutil import utcnow

STALLED = "the generation stopped (its worker died); start it again"


def generate_report(run_id: int) -> None:
    """Compute a report run's snapshot, committing progress after each part so the page can show it."""
    run = db.session.get(ReportRun, run_id)
    if run is None or run.status == RunStatus.DONE:
        return
    run.status, run.step, run.error = RunStatus.RUNNING, 0, ""
    db.session.commit()

    def progress(step: int) -> None:
        run.step = step
        db.session.commit()

    try:
        data = report.build(Scope(run.month, run.estate_id), progress=progress)
    except Exception as exc:
        db.session.rollback()
        run.status, run.error, run.finished_at = RunStatus.FAILED, str(exc)[:500], utcnow()
        db.session.commit()
        raise
    run.snapshot = json.dumps(data, ensure_ascii=False, default=str)
    run.status, run.step, run.finished_at = RunStatus.DONE, run.steps, utcnow()
    db.session.commit()


def fail_stalled(at: datetime) -> int:
    """Runs still queued or running long after they started died with their job: mark them failed."""
    limit = at - timedelta(seconds=current_app.config["REPORT_RUN_TIMEOUT"])
    result = db.session.execute(
        update(ReportRun).where(ReportRun.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)),
                                ReportRun.created_at < limit)
        .values(status=RunStatus.FAILED, finished_at=at, error=STALLED)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount
