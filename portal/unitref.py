"""Reading a unit the way people say it on the phone: "5栋0802", "5-0802", "5栋 802", "5号楼802".

`parse` turns such text into a UnitRef (building key, unit digits) or None when the text is
not a unit (a name, a phone number). `building_names` and `unit_numbers` list what the
register may call that building and unit, for an exact `IN (...)` match: a building named
"5栋", "5号楼", "5幢", "5座" or just "5", and a unit stored as "0802" or "802".
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

BUILDING_SUFFIXES = ("栋", "号楼", "幢", "座", "号", "楼", "#", "")

_PATTERN = re.compile(
    r"""^\s*
    (?P<building>[A-Za-z]|\d{1,3})\s*
    (?:号楼|栋|幢|座|号|楼|\#)?\s*          # how the building is named
    (?:[-–—_/\\.·,，、]\s*)?                # or a separator ("5-0802", "5/802")
    (?:(?P<entrance>\d{1,2})\s*单元\s*[-–—_/]?\s*)?   # an entrance, not part of the unit number
    (?:
        (?P<floor>\d{1,2})\s*(?:楼|层|F|f)\s*(?P<door>\d{1,2})\s*(?:室|号|房)?   # "8楼02", "8层2号"
      | (?P<unit>\d{3,4})\s*(?:室|号|房)?                                      # "0802", "802室"
    )\s*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class UnitRef:
    """A building key ("5", "A") and the unit's digits, four wide ("0802")."""

    building: str
    unit: str


def parse(text: str) -> UnitRef | None:
    """The unit the text names, or None. Full-width digits and spaces are read as ordinary ones."""
    text = unicodedata.normalize("NFKC", text or "")
    if len(text) > 40:
        return None
    m = _PATTERN.match(text)
    if not m:
        return None
    building = m["building"].upper()
    if building.isdigit():
        building = str(int(building))
        if building == "0":
            return None
    if m["unit"]:
        unit = m["unit"].zfill(4)
    else:
        floor, door = int(m["floor"]), int(m["door"])
        if floor == 0 or door == 0:
            return None
        unit = f"{floor:02d}{door:02d}"
    return UnitRef(building, unit)


def building_names(ref: UnitRef) -> list[str]:
    """What the register may call the building ("5栋", "5号楼", ..., "5")."""
    return [ref.building + suffix for suffix in BUILDING_SUFFIXES]


def unit_numbers(ref: UnitRef) -> list[str]:
    """How the unit may be stored: four wide ("0802") or without the leading zero ("802")."""
    return list(dict.fromkeys((ref.unit, ref.unit.lstrip("0") or ref.unit)))
