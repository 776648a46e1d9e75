"""The callback area's lifecycle subscribers: a resolved case owes a callback, a reopened one cancels it."""
from __future__ import annotations

from datetime import datetime

from portal.callbacks.service import cancel_superseded
from portal.cases.lifecycle import acted
from portal.jobs import after_commit
from portal.models import Case


def on_resolved(name: str, *, case: Case, **_kw) -> None:
    """A resolved case gets its callback task from a job once the resolution commits."""
    after_commit("portal.callbacks.jobs.create_task_for_case", case.id)


def on_reopened(name: str, *, case: Case, at: datetime, **_kw) -> None:
    """A rejected outcome or dissatisfied callback cancels the callback of the previous resolution."""
    cancel_superseded(case, at)


def init_app(app) -> None:
    """Connect the subscribers (called by `create_app`)."""
    acted.connect(on_resolved, sender="complete", weak=False)
    for name in ("reject", "callback_reopen"):
        acted.connect(on_reopened, sender=name, weak=False)
