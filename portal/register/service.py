"""The import in three calls the screen and the command share: check a file, apply a check, confirm a preview."""
from __future__ import annotations

from datetime import date

from portal.models import Estate
from portal.register import parse, plan as planning, store
from portal.register.apply import apply
from portal.register.validate import Register, validate


def check(data: bytes, filename: str, estate: Estate, today: date) -> tuple[Register, planning.Plan]:
    """Read, validate and compare with the database; changes nothing. parse.FileRefused for an unusable file."""
    register = validate(parse.read(data, filename), today)
    return register, planning.build(estate, register, today)


def confirm(token: str, user, estate_ids: set[int], today: date):
    """Rebuild a saved preview's plan; apply it when it still matches. Returns (outcome, plan, counts).

    outcome: "gone" (unknown, expired, someone else's or another estate's token), "changed" (the
    database moved since the preview: look again), "applied". The caller commits.
    """
    from portal.extensions import db
    doc = store.load(token, user_id=user.id)
    if doc is None or doc["estate_id"] not in estate_ids:
        return "gone", None, None
    estate = db.session.get(Estate, doc["estate_id"])
    plan = planning.build(estate, doc["register"], today)
    if plan.problems or plan.fingerprint() != doc["fingerprint"]:
        return "changed", plan, None
    counts = apply(plan, user, doc["filename"])
    return "applied", plan, counts
