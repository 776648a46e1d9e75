"""Jobs wait for the commit that wants them: not a SAVEPOINT, not a rollback."""
from __future__ import annotations

from portal import jobs
from portal.extensions import db


def test_jobs_run_after_the_outer_commit_only(app, monkeypatch):
    ran = []
    monkeypatch.setattr(jobs, "enqueue_now", lambda path, *args, **kw: ran.append((path, args)))
    db.session.execute(db.text("SELECT 1"))
    jobs.after_commit("portal.sla.jobs.tick", 1)
    with db.session.begin_nested():  # e.g. the case-number counter's savepoint
        pass
    assert ran == []
    db.session.commit()
    assert ran == [("portal.sla.jobs.tick", (1,))]


def test_a_rollback_drops_the_jobs(app, monkeypatch):
    ran = []
    monkeypatch.setattr(jobs, "enqueue_now", lambda path, *args, **kw: ran.append(path))
    db.session.execute(db.text("SELECT 1"))
    jobs.after_commit("portal.sla.jobs.tick")
    db.session.rollback()
    db.session.commit()
    assert ran == []
