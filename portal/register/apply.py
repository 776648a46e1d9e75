"""Carrying out a plan: bulk statements in the caller's transaction; the caller commits.

Rows are inserted with one executemany per table (a 5,000-unit register is a few dozen
statements, not tens of thousands) and their ids read back by natural key.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import insert, select

from portal import audit
from portal.extensions import db
from portal.messages import msg, render
from portal.models import Building, Residency, Role, Unit, User
from portal.register.plan import CHUNK, Plan
from portal.timeutil import utcnow

# No password: residents sign in with their mobile and an SMS code (SPEC §9), or a manager issues
# one. werkzeug's check_password_hash answers False for a hash without its "$" parts.
NO_PASSWORD = "!"


def _insert(model, rows: list[dict]) -> None:
    """One executemany: no RETURNING, which SQLite would answer one row per statement when asked for
    ids in order; callers read the new ids back in one query by their natural key."""
    if rows:
        db.session.execute(insert(model), rows)


def apply(plan: Plan, actor, filename: str = "") -> dict:
    """Create and update what the plan lists, with one audit entry for the import and one per update."""
    if plan.problems:
        raise ValueError("a plan with problems is never applied")
    estate, now = plan.estate, utcnow()
    _insert(Building, [{"estate_id": estate.id, "name": name, "active": True} for name in plan.new_buildings])
    buildings = dict(db.session.execute(select(Building.name, Building.id).where(Building.estate_id == estate.id)).all())
    _insert(Unit, [{"building_id": buildings[u.building], "number": u.number, "area": u.area, "active": True}
                   for u in plan.new_units])
    units = {(b, n): i for b, n, i in db.session.execute(
        select(Building.name, Unit.number, Unit.id).join(Unit.building).where(Building.estate_id == estate.id)).all()}
    _insert(User, [{"username": r.username, "password_hash": NO_PASSWORD, "display_name": r.name,
                    "role": Role.RESIDENT, "phone": r.mobile, "unit_id": units[r.home], "active": True,
                    "manager_level": 1, "company_wide": False, "password_temporary": False,
                    "session_version": 0, "created_at": now} for r in plan.new_residents])
    people = {}
    names = [r.username for r in plan.new_residents]
    for start in range(0, len(names), CHUNK):
        people.update(db.session.execute(select(User.phone, User.id).where(
            User.username.in_(names[start:start + CHUNK]))).all())
    for update in plan.updates:
        for key, value in update.after.items():
            if key == "unit":  # a resident without a home unit gets the first unit listing them
                key, value = "unit_id", units[update.home]
            setattr(update.obj, key, value)
    _insert(Residency, [{"unit_id": units[r.unit], "relation": r.relation, "moved_in": r.moved_in,
                         "user_id": r.user_id if r.user_id is not None else people[r.mobile], "created_at": now}
                        for r in plan.new_residencies])
    counts = {"created": plan.created, "updated": plan.updated, "unchanged": plan.unchanged,
              "units": plan.units_in_file, "buildings": len(plan.new_buildings), "new_units": len(plan.new_units),
              "residents": len(plan.new_residents), "residencies": len(plan.new_residencies)}
    kinds = {Building: "building", Unit: "unit", User: "user", Residency: "residency"}
    for update in plan.updates:
        summary = msg("import.update", label=update.label)
        audit.record(actor, kinds[type(update.obj)], update.obj.id, "update", before=_plain(update.before),
                     after=_plain(update.after), estate_id=estate.id, summary=render(summary), summary_msg=summary)
    summary = msg("import.summary", file=filename[:60], created=plan.created, updated=plan.updated,
                  unchanged=plan.unchanged)
    audit.record(actor, "import", estate.id, "import", after={**counts, "file": filename[:100]},
                 estate_id=estate.id, summary=render(summary), summary_msg=summary)
    db.session.flush()
    return counts


def _plain(values: dict) -> dict:
    return {k: getattr(v, "value", v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}
