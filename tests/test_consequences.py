"""What follows an action is declared: subscribers connected when the app is built, the same in every process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from portal.cases.lifecycle import ACTIONS, subscribers
from portal.sla.clocks import RULES

ROOT = Path(__file__).resolve().parent.parent
REPORT = ("import json; from portal.cases.lifecycle import subscribers; from portal.notify.jobs import delivered; "
          "print(json.dumps([subscribers(), sorted(f.__qualname__ for f in delivered.receivers_for('resident_invalid'))]))")


def _in_a_fresh_process(tmp_path, setup: str, report: str = REPORT):
    env = {**os.environ, "PORTAL_INSTANCE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", f"{setup}\n{report}"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_lifecycle_alone_connects_nothing(tmp_path):
    found, delivered = _in_a_fresh_process(tmp_path, "import portal.cases.lifecycle")
    assert found == {} and delivered == []


def test_a_worker_and_the_web_find_the_same_subscribers(tmp_path):
    worker = _in_a_fresh_process(  # what RQ runs: portal.worker.run builds the app, then the job
        tmp_path, "from portal import worker",
        "import json; print(json.dumps(worker.run('tests.test_consequences.report')))")
    web = _in_a_fresh_process(tmp_path, "import app  # gunicorn app:app")
    assert worker == web
    found, delivered = web
    assert found["complete"] == ["portal.callbacks.subscribers.on_resolved", "portal.reports.timing.on_complete",
                                 "portal.sla.hooks.on_action", "portal.sla.notices.notify_resident",
                                 "portal.webhooks.events.on_acted"]
    for name in ("dispatch", "reassign", "reject", "callback_reopen", "instruct", "assign", "hand_over"):
        assert "portal.department.notices.notify_department" in found[name]
    assert "portal.department.notices.notify_department" not in found["complete"]
    assert set(found) == set(ACTIONS)  # the clocks listen to every action
    assert delivered == ["on_notice_delivered"]


def report():
    """The job the worker test runs: who is connected, as the worker's app sees it."""
    from portal.notify.jobs import delivered
    return [subscribers(), sorted(f.__qualname__ for f in delivered.receivers_for("resident_invalid"))]


def test_the_clock_table_names_only_real_actions_and_clocks():
    from portal.sla.policy import CLOCKS
    assert set(RULES) <= set(ACTIONS)
    for rule in RULES.values():
        assert set(rule.meets + rule.cancels + rule.restores + rule.starts) <= set(CLOCKS)


def test_building_the_app_twice_connects_each_subscriber_once(app):
    from portal import create_app
    from portal.config import TestConfig
    before = subscribers()
    create_app(TestConfig())
    assert subscribers() == before
