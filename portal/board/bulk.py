"""Bulk actions of the board: one action on several selected cases, each through the action table.

Every case is looked up within the user's scope, checked with `lifecycle.can`, performed
with `lifecycle.perform` and committed on its own, so one case that cannot take the action
(another clerk dispatched it, it is not classified yet, it is not the user's to see) is
reported and the others still go through.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from portal import org
from portal.cases.lifecycle import TransitionError, can, perform
from portal.extensions import db
from portal.models import Case, User
from portal.scopes import can_view

MAX_BULK = 100


@dataclass
class BulkResult:
    """What happened to one selected case."""

    case_id: int
    number: str
    ok: bool
    message: str


def run_bulk(user: User, name: str, case_ids: list[int], data: dict) -> list[BulkResult]:
    """Apply action `name` with `data` to each case the user may see; commits each success."""
    results = []
    for case_id in list(dict.fromkeys(case_ids))[:MAX_BULK]:
        case = db.session.get(Case, case_id) if 0 < case_id < 2**31 else None
        if case is None or not can_view(user, case):
            results.append(BulkResult(case_id, f"#{case_id}", False, _("Not found.")))
            continue
        if not can(user, case, name):
            results.append(BulkResult(case.id, case.number, False, _("This case cannot take this action now.")))
            continue
        payload = dict(data)
        if name == "classify":  # a bulk classification keeps each case's own flags
            for flag in ("urgent", "group_complaint", "agitated"):
                payload.setdefault(flag, getattr(case, flag))
        if name == "dispatch" and not payload.get("department_id"):
            default = org.default_department(case.category, case.estate_id)
            payload["department_id"] = default.id if default else None
        try:
            perform(case, user, name, payload)
            db.session.commit()
            results.append(BulkResult(case.id, case.number, True, _("Done.")))
        except TransitionError as exc:
            db.session.rollback()
            results.append(BulkResult(case.id, case.number, False, str(exc.message)))
        except StaleDataError:
            db.session.rollback()
            results.append(BulkResult(case.id, case.number, False,
                                      _("Someone else changed this case at the same moment; try it again.")))
    return results
