"""Carrying out a plan: everything added to the session at once; the caller commits (one transaction)."""
from __future__ import annotations

from datetime import date

from portal import audit
from portal.extensions import db
from portal.models import Building, Residency, Role, Unit, User
from portal.register.plan import Plan

# No password: residents sign in with their mobile and an SMS code (SPEC §9), or a manager issues
# one. werkzeug's check_password_hash answers False for a hash without its "$" parts.
NO_PASSWORD = "!"


def apply(plan: Plan, actor, filename: str = "") -> dict:
    """Create and update what the plan lists, with one audit entry for the import and one per update."""
    if plan.problems:
        raise ValueError("a plan with problems is never applied")
    estate = plan.estate
    buildings = {b.name: b for b in db.session.query(Building).filter_by(estate_id=estate.id)}
    for name in plan.new_buildings:
        buildings[name] = Building(estate_id=estate.id, name=name, active=True)
        db.session.add(buildings[name])
    db.session.flush()
    units = {(u.building.name, u.number): u for u in db.session.query(Unit).join(Unit.building)
             .filter(Building.estate_id == estate.id)}
    created_units = [Unit(building_id=buildings[u.building].id, number=u.number, area=u.area, active=True)
                     for u in plan.new_units]
    db.session.add_all(created_units)
    db.session.flush()
    for unit, new in zip(created_units, plan.new_units):
        units[(new.building, new.number)] = unit
    people = {}
    for new in plan.new_residents:
        people[new.mobile] = User(username=new.username, password_hash=NO_PASSWORD, display_name=new.name,
                                  role=Role.RESIDENT, phone=new.mobile, unit_id=units[new.home].id)
    db.session.add_all(people.values())
    for update in plan.updates:
        for key, value in update.after.items():
            if key == "unit":  # a resident without a home unit gets the first unit listing them
                key, value = "unit_id", units[update.home].id
            setattr(update.obj, key, value)
    db.session.flush()
    db.session.add_all(Residency(unit_id=units[r.unit].id, relation=r.relation, moved_in=r.moved_in,
                                 user_id=r.user_id if r.user_id is not None else people[r.mobile].id)
                       for r in plan.new_residencies)
    counts = {"created": plan.created, "updated": plan.updated, "unchanged": plan.unchanged,
              "units": plan.units_in_file, "buildings": len(plan.new_buildings), "new_units": len(plan.new_units),
              "residents": len(plan.new_residents), "residencies": len(plan.new_residencies)}
    kinds = {Building: "building", Unit: "unit", User: "user", Residency: "residency"}
    for update in plan.updates:
        audit.record(actor, kinds[type(update.obj)], update.obj.id, "update", before=_plain(update.before),
                     after=_plain(update.after), estate_id=estate.id, summary=f"房产台账导入：{update.label}")
    audit.record(actor, "import", estate.id, "import", after={**counts, "file": filename[:100]},
                 estate_id=estate.id, summary=f"房产台账导入 {filename[:60]}：新建 {plan.created}，"
                                              f"更新 {plan.updated}，未变 {plan.unchanged}")
    db.session.flush()
    return counts



def _plain(values: dict) -> dict:
    return {k: getattr(v, "value", v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}
