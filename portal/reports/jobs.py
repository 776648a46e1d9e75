"""Background generation of the monthly report (safe to run twice: a finished run is left alone)."""
from __future__ import annotations

import json

from portal.extensions import db
from portal.models import ReportRun, RunStatus
from portal.reports import report
from portal.reports.periods import Scope
from portal.timeutil import utcnow


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
