"""Shared helpers of the callback tests (tests/test_callback_*.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import settings
from portal.extensions import db
from portal.models import CallbackTask, CaseEvent
from tests.conftest import post
from tests.helpers import make_case

RESOLVE = ["classify", "dispatch", "accept", "plan", "complete"]


def tasks_of(case) -> list[CallbackTask]:
    db.session.expire_all()
    return list(db.session.scalars(select(CallbackTask).where(CallbackTask.case_id == case.id)
                                   .order_by(CallbackTask.id)))


def events_of(case) -> list[str]:
    return list(db.session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id)
                                   .order_by(CaseEvent.id)))


def set_setting(key, value):
    settings.put(key, value)
    db.session.commit()


def record(client, task, htmx=True, **fields):
    data = {"method": "phone", "reached": "yes", **fields}
    return post(client, f"/callbacks/{task.id}/record", data, htmx_target="task-panel" if htmx else None)


@pytest.fixture
def resolved(people):
    """A minor complaint, resolved by engineering, with its callback task."""
    case = make_case(people, RESOLVE)
    return case, tasks_of(case)[0]
