"""What an import would change: the register's rows compared with the estate as the database has it.

Everything the estate holds is loaded in a few bulk queries (never one per row). Units match
by building name + unit number within the estate, residents by mobile (anywhere in the
company: one person may hold units in several estates), residencies by unit + resident
among those not moved out. Nothing is ever deleted or moved out by an import.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from portal.extensions import db
from portal.models import Building, Estate, Relation, Residency, Role, Unit, User
from portal.register.validate import Problem, Register, UnitRow

CHUNK = 2000  # values per IN (...) list


@dataclass
class NewUnit:
    building: str
    number: str
    area: float | None


@dataclass
class NewResident:
    name: str
    mobile: str
    username: str
    home: tuple[str, str]  # the first unit listing them: (building, number)


@dataclass
class NewResidency:
    unit: tuple[str, str]
    mobile: str
    name: str
    relation: Relation
    moved_in: date
    user_id: int | None  # None: a resident the import creates


@dataclass
class Update:
    obj: object  # the Building, Unit, User or Residency to change
    label: str
    before: dict
    after: dict
    home: tuple[str, str] | None = None  # a resident's new home unit (building, number)


@dataclass
class Plan:
    estate: Estate
    problems: list[Problem]
    new_buildings: list[str] = field(default_factory=list)
    new_units: list[NewUnit] = field(default_factory=list)
    new_residents: list[NewResident] = field(default_factory=list)
    new_residencies: list[NewResidency] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    unchanged: int = 0
    units_in_file: int = 0

    @property
    def errors(self) -> int:
        return len({p.line for p in self.problems})

    @property
    def created(self) -> int:
        return len(self.new_buildings) + len(self.new_units) + len(self.new_residents) + len(self.new_residencies)

    @property
    def updated(self) -> int:
        return len(self.updates)

    def summary(self) -> str:
        return f"created={self.created} updated={self.updated} unchanged={self.unchanged} errors={self.errors}"

    def fingerprint(self) -> str:
        """Changes the same data the same way ⇔ same fingerprint (the preview's promise to confirm)."""
        doc = [self.new_buildings, [vars(u) for u in self.new_units], [vars(r) for r in self.new_residents],
               [[r.unit, r.mobile, r.name, r.relation.value, r.moved_in.isoformat(), r.user_id] for r in self.new_residencies],
               [[type(u.obj).__name__, u.obj.id, u.after] for u in self.updates]]
        return hashlib.sha256(json.dumps(doc, ensure_ascii=False, default=str).encode()).hexdigest()


def _in_chunks(column, values, query):
    values = sorted(values)
    for start in range(0, len(values), CHUNK):
        yield from db.session.scalars(query.where(column.in_(values[start:start + CHUNK])))


def build(estate: Estate, register: Register, today: date) -> Plan:
    """The plan for the register's good rows; database conflicts become problems of their rows."""
    plan = Plan(estate, list(register.problems), units_in_file=len(register.rows))
    buildings = {b.name: b for b in db.session.scalars(select(Building).where(Building.estate_id == estate.id))}
    units = {(u.building.name, u.number): u for u in db.session.scalars(
        select(Unit).join(Unit.building).where(Building.estate_id == estate.id))}
    residencies: dict[tuple[int, int], Residency] = {}
    taken_keys: set[tuple[int, int, date]] = set()
    for r in db.session.scalars(select(Residency).join(Unit, Residency.unit_id == Unit.id)
                                .join(Building, Unit.building_id == Building.id)
                                .where(Building.estate_id == estate.id)):
        taken_keys.add((r.unit_id, r.user_id, r.moved_in))
        if r.moved_out is None:
            residencies.setdefault((r.unit_id, r.user_id), r)
    mobiles = {res.mobile for row in register.rows for res in row.residents}
    people: dict[str, User] = {}
    for user in _in_chunks(User.phone, mobiles, select(User).order_by(User.id)):
        best = people.get(user.phone)
        if best is None or (best.role != Role.RESIDENT and user.role == Role.RESIDENT):
            people[user.phone] = user
    good = [row for row in register.rows if not _conflicts(row, people, units, residencies, taken_keys, plan)]
    new_mobiles = sorted({res.mobile for row in good for res in row.residents} - people.keys())
    taken_names = set(_in_chunks(User.username, new_mobiles + [f"m{m}" for m in new_mobiles],
                                 select(User.username)))
    _compare(plan, good, buildings, units, people, residencies, taken_names, today)
    plan.problems.sort(key=lambda p: (p.line, p.column))
    return plan


def _conflicts(row: UnitRow, people, units, residencies, taken_keys, plan) -> bool:
    """Problems only the database reveals: a staff member's mobile, a residency ended on that date."""
    found = False
    unit = units.get((row.building, row.number))
    for res in row.residents:
        user = people.get(res.mobile)
        if user is not None and user.role != Role.RESIDENT:
            plan.problems.append(Problem(row.line, "", _("%(mobile)s is the mobile of a staff account (%(user)s)",
                                                         mobile=res.mobile, user=user.username)))
            found = True
        elif user is not None and unit is not None and res.moved_in is not None \
                and (unit.id, user.id) not in residencies and (unit.id, user.id, res.moved_in) in taken_keys:
            plan.problems.append(Problem(row.line, "", _(
                "%(name)s moved out of %(unit)s after moving in on %(day)s: give the date of the new move-in",
                name=res.name, unit=row.label, day=res.moved_in.isoformat())))
            found = True
    return found


def _compare(plan: Plan, rows, buildings, units, people, residencies, taken_names, today) -> None:
    seen_buildings: set[str] = set()
    seen_people: dict[str, User | None] = {}
    for row in rows:
        building = buildings.get(row.building)
        if row.building not in seen_buildings:
            seen_buildings.add(row.building)
            if building is None:
                plan.new_buildings.append(row.building)
            elif not building.active:
                plan.updates.append(Update(building, building.name, {"active": False}, {"active": True}))
            else:
                plan.unchanged += 1
        unit = units.get((row.building, row.number))
        if unit is None:
            plan.new_units.append(NewUnit(row.building, row.number, row.area))
        else:
            before, after = {}, {}
            if row.area is not None and unit.area != row.area:
                before["area"], after["area"] = unit.area, row.area
            if not unit.active:
                before["active"], after["active"] = False, True
            if after:
                plan.updates.append(Update(unit, row.label, before, after))
            else:
                plan.unchanged += 1
        for res in row.residents:
            user = people.get(res.mobile)
            if res.mobile not in seen_people:
                seen_people[res.mobile] = user
                if user is None:
                    username = res.mobile if res.mobile not in taken_names else f"m{res.mobile}"
                    plan.new_residents.append(NewResident(res.name, res.mobile, username, (row.building, row.number)))
                elif user.display_name != res.name or user.unit_id is None:
                    before, after = {}, {}
                    if user.display_name != res.name:
                        before["display_name"], after["display_name"] = user.display_name, res.name
                    if user.unit_id is None:
                        # The home unit is set in apply (a new unit has no id yet).
                        before["unit"], after["unit"] = None, row.label
                    plan.updates.append(Update(user, f"{res.name} {res.mobile}", before, after,
                                               home=(row.building, row.number) if "unit" in after else None))
                else:
                    plan.unchanged += 1
            current = residencies.get((unit.id, user.id)) if unit is not None and user is not None else None
            if current is None:
                plan.new_residencies.append(NewResidency((row.building, row.number), res.mobile, res.name,
                                                         res.relation, res.moved_in or today,
                                                         user.id if user is not None else None))
                continue
            before, after = {}, {}
            if current.relation != res.relation:
                before["relation"], after["relation"] = current.relation, res.relation
            if res.moved_in is not None and current.moved_in != res.moved_in:
                before["moved_in"], after["moved_in"] = current.moved_in, res.moved_in
            if after:
                plan.updates.append(Update(current, f"{row.label} {res.name}", before, after))
            else:
                plan.unchanged += 1
