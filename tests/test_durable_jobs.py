"""Nothing queued without Redis is lost: killed processes, exiting commands, dead report runs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).parent / "flask")


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLASK_DEBUG", "TEST_DATABASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'portal.db'}", PORTAL_INSTANCE_DIR=str(tmp_path / "instance"),
               OUTBOX_DIR=str(tmp_path / "outbox"), UPLOAD_DIR=str(tmp_path / "uploads"), FLASK_APP="app",
               MAIL_BACKEND="file", SMS_BACKEND="file", PYTHONPATH=str(ROOT), PORTAL_JOBS_TICKER="1", **extra)
    return env


def _query(tmp_path, sql: str, **params) -> list:
    engine = create_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.own_database
def test_work_queued_before_a_crash_is_done_exactly_once_after_a_restart(tmp_path):
    env = _env(tmp_path)
    flag = tmp_path / "go"
    child = subprocess.Popen([sys.executable, "-m", "tests.durable_child", str(flag)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("queued"), line
        case_id = int(line.split()[1])
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(20)
        child.stdout.close()
    tasks = "SELECT count(*) FROM callback_task WHERE case_id = :c"
    assert _query(tmp_path, tasks, c=case_id)[0][0] == 0
    before = dict(_query(tmp_path, "SELECT path, state FROM job WHERE path != 'portal.notify.jobs.deliver_many'"))
    assert before == {"portal.callbacks.jobs.create_task_for_case": "queued", "tests.durable_child.wait_for": "running"}

    # The server starts again (no request reaches it): its ticker takes the dead process's jobs.
    flag.touch()
    server = subprocess.Popen([FLASK, "run", "--no-reload", "--port", "0"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait(lambda: _query(tmp_path, "SELECT count(*) FROM job WHERE state != 'done'")[0][0] == 0, 60,
              "the restarted server to finish the dead process's jobs")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
    assert _query(tmp_path, tasks, c=case_id)[0][0] == 1
    after = dict(_query(tmp_path, "SELECT path, attempts FROM job WHERE path != 'portal.notify.jobs.deliver_many'"))
    assert after == {"portal.callbacks.jobs.create_task_for_case": 1, "tests.durable_child.wait_for": 2}


@pytest.mark.own_database
def test_seed_demo_in_its_own_process_leaves_every_resolved_complaint_its_callback_task(tmp_path):
    env = _env(tmp_path)
    for command in (["db", "upgrade"], ["seed-demo"]):
        done = subprocess.run([FLASK, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    resolved = _query(tmp_path, "SELECT count(*) FROM \"case\" WHERE kind = 'complaint' AND status = 'resolved'")
    missing = _query(tmp_path, "SELECT count(*) FROM \"case\" c WHERE c.kind = 'complaint' AND c.status = 'resolved'"
                     " AND NOT EXISTS (SELECT 1 FROM callback_task t WHERE t.case_id = c.id"
                     " AND t.round = c.reopen_count)")
    assert resolved[0][0] > 0 and missing[0][0] == 0
    assert [state for state, in _query(tmp_path, "SELECT DISTINCT state FROM job")] == ["done"]


def test_the_tick_command_runs_what_a_dead_process_left_queued(app, runner, monkeypatch):
    from portal import jobs
    from portal.extensions import db
    from portal.models import Job
    ran = []
    monkeypatch.setattr("portal.schedule.PARTS", (jobs.redrive,))
    monkeypatch.setattr(jobs, "hand_over", lambda job_id, queue: None)
    jobs.after_commit("tests.test_durable_jobs.record", 3)
    db.session.commit()
    monkeypatch.undo()
    monkeypatch.setattr("portal.schedule.PARTS", (jobs.redrive,))
    monkeypatch.setattr(sys.modules[__name__], "RAN", ran)
    db.session.execute(db.update(Job).values(owner=jobs.owner().rpartition(":")[0] + ":999999999"))
    db.session.commit()
    assert runner.invoke(args=["tick"]).output == "Tick done.\n"
    assert runner.invoke(args=["tick"]).output == "Tick done.\n"
    assert ran == [3]


RAN: list = []


def record(n: int) -> None:
    """A job for the tests: remembers that it ran."""
    RAN.append(n)
