"""The process a durability test kills: it queues work on the in-process runner, then waits.

Run as `python -m tests.durable_child FLAG_FILE` with DATABASE_URL on a SQLite file; prints
"queued <case id>" once its commits are in, and sleeps until it is killed.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from portal import create_app, jobs
from portal.extensions import db
from portal.models import Job, Role
from tests import factories
from tests.helpers import make_case


def wait_for(path: str) -> None:
    """A job that lasts until `path` exists."""
    while not Path(path).exists():
        time.sleep(0.05)


def main() -> None:
    app = create_app()
    with app.app_context():
        db.create_all()
        app.extensions["portal_runner"] = jobs.InProcessRunner(app, threaded=True)  # as in a server
        jobs.after_commit("tests.durable_child.wait_for", sys.argv[1])  # the runner is busy when we die
        db.session.commit()
        while db.session.scalar(db.select(Job.state).where(Job.path.like("%wait_for"))) != "running":
            db.session.rollback()
            time.sleep(0.05)
        ref = factories.reference()
        people = {"ref": ref, "resident": factories.user(Role.RESIDENT, unit=ref["units"][0]),
                  "clerk": factories.user(Role.CLERK), "manager": factories.user(Role.MANAGER),
                  "eng": factories.user(Role.DEPARTMENT, department=ref["eng"])}
        db.session.commit()
        case = make_case(people, ["classify", "dispatch", "accept", "plan", "complete"])
        print("queued", case.id, flush=True)     # its callback task is a queued job now
        time.sleep(120)


if __name__ == "__main__":
    main()
