"""Jobs are rows written with the commit that wants them: run once, after it, never lost."""
from __future__ import annotations

import json

from sqlalchemy import select

from portal import jobs, ticker
from portal.extensions import db
from portal.models import Job


def _jobs() -> list[Job]:
    db.session.expire_all()
    return list(db.session.scalars(select(Job).order_by(Job.id)))


def test_jobs_are_handed_over_after_the_outer_commit_only(app, monkeypatch):
    handed = []
    monkeypatch.setattr(jobs, "hand_over", lambda job_id, queue: handed.append(job_id))
    jobs.after_commit("portal.schedule.tick", 1)
    with db.session.begin_nested():  # e.g. the case-number counter's savepoint
        pass
    assert handed == []
    db.session.commit()
    [job] = _jobs()
    assert handed == [job.id] and (job.path, json.loads(job.args), job.state) == ("portal.schedule.tick", [1], "queued")


def test_a_rollback_drops_the_job_and_its_row(app, monkeypatch):
    handed = []
    monkeypatch.setattr(jobs, "hand_over", lambda job_id, queue: handed.append(job_id))
    jobs.after_commit("portal.schedule.tick")
    db.session.rollback()
    db.session.commit()
    assert handed == [] and _jobs() == []


def test_a_job_runs_once_and_a_second_execute_skips_it(app, monkeypatch):
    calls = []
    monkeypatch.setattr("portal.schedule.tick", lambda *args: calls.append(args))
    jobs.after_commit("portal.schedule.tick", 7)
    db.session.commit()                        # JOBS_SYNC: executed at once
    [job] = _jobs()
    assert calls == [(7,)] and (job.state, job.attempts) == ("done", 1)
    assert jobs.execute(job.id) == "skipped" and calls == [(7,)]


def test_a_failing_job_waits_for_its_retry_then_fails_for_good(app, monkeypatch):
    def broken(*args):
        raise RuntimeError("SMTP down")
    monkeypatch.setattr("portal.schedule.tick", broken)
    app.config["JOB_RETRY_INTERVALS"] = (0,)
    jobs.after_commit("portal.schedule.tick")
    db.session.commit()
    [job] = _jobs()
    assert (job.state, job.attempts, job.owner) == ("queued", 1, "") and "SMTP down" in job.last_error
    assert jobs.redrive() == 1                 # the tick hands it over again: attempt 2, the last
    [job] = _jobs()
    assert (job.state, job.attempts) == ("failed", 2)
    assert jobs.redrive() == 0


def test_the_tick_takes_back_what_a_dead_process_held(app, monkeypatch):
    handed = []
    monkeypatch.setattr(jobs, "hand_over", lambda job_id, queue: handed.append(job_id))
    jobs.after_commit("portal.schedule.tick")
    db.session.commit()
    [job] = _jobs()
    assert job.owner == jobs.owner()           # handed to this process's runner
    assert jobs.redrive() == 0                 # ... which is alive: left alone
    dead = jobs.owner().rpartition(":")[0] + ":999999999"
    db.session.execute(db.update(Job).values(state="running", owner=dead))
    db.session.commit()
    assert jobs.redrive() == 1 and handed[-1] == job.id
    assert _jobs()[0].state == "queued"


def test_done_jobs_are_forgotten_after_a_week_failed_ones_kept(app, monkeypatch):
    from datetime import timedelta
    from portal.timeutil import utcnow
    monkeypatch.setattr("portal.schedule.tick", lambda *args: None)
    jobs.after_commit("portal.schedule.tick")
    db.session.commit()
    db.session.add(Job(path="x.y", state="failed", finished_at=utcnow() - timedelta(days=30)))
    db.session.commit()
    assert jobs.prune(utcnow() + timedelta(days=6)) == 0
    assert jobs.prune(utcnow() + timedelta(days=8)) == 1
    assert [job.state for job in _jobs()] == ["failed"]


def test_no_command_or_test_starts_the_ticker(app):
    assert not ticker.serving()
    assert "portal_ticker" not in app.extensions
