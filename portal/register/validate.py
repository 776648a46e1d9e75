"""From raw rows to units and residents: headers recognised, every cell checked, bad rows named.

One row is one unit: building, unit number, optional area, then repeated resident column
groups (住户1姓名, 住户1手机, 住户1关系, 住户1入住日期, 住户2姓名, …). English headers work too.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from portal.models import Relation
from portal.register.parse import FileRefused, Sheet

MAX_GROUPS = 10  # residents per unit row
MAX_AREA = 100_000.0  # m²
FIRST_MOVE_IN = date(1950, 1, 1)
LENGTHS = {"building": 50, "unit": 20, "name": 50}

_FIELDS = {
    "building": ("楼栋", "楼号", "楼栋号", "栋", "楼", "building", "block"),
    "unit": ("房号", "房间号", "单元号", "户号", "门牌号", "unit", "unitnumber", "room", "roomnumber"),
    "area": ("面积", "建筑面积", "房屋面积", "area"),
}
_RESIDENT_FIELDS = {
    "name": ("姓名", "名字", "住户姓名", "name"),
    "mobile": ("手机", "手机号", "手机号码", "电话", "联系电话", "mobile", "phone", "mobilephone"),
    "relation": ("关系", "身份", "住户类型", "relation", "relationship"),
    "moved_in": ("入住日期", "入住时间", "迁入日期", "入住", "movedin", "moveindate", "movein"),
}
_RESIDENT = re.compile(r"^(?:住户|业主|业户|resident)?(\d{0,2})(.+)$")
RELATIONS = {
    "业主": Relation.OWNER, "产权人": Relation.OWNER, "owner": Relation.OWNER,
    "家属": Relation.FAMILY, "家庭成员": Relation.FAMILY, "family": Relation.FAMILY,
    "租户": Relation.TENANT, "租客": Relation.TENANT, "tenant": Relation.TENANT,
}
_MOBILE_JUNK = re.compile(r"[\s\-‐‑–—()（）.]")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@dataclass(frozen=True)
class Resident:
    name: str
    mobile: str
    relation: Relation
    moved_in: date | None


@dataclass
class UnitRow:
    line: int
    building: str
    number: str
    area: float | None
    residents: list[Resident] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.building}-{self.number}"


@dataclass(frozen=True)
class Problem:
    line: int
    column: str  # the column's letter and header as the file has them ("C 手机"), or ""
    message: str


@dataclass
class Register:
    rows: list[UnitRow]
    problems: list[Problem]
    ignored: list[str]  # headers that name no known column
    total: int | None = None  # data rows in the file, good and bad

    def __post_init__(self):
        if self.total is None:
            self.total = len(self.rows)

    @property
    def bad_lines(self) -> list[int]:
        return sorted({p.line for p in self.problems})


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"\(.*?\)|\[.*?\]", "", text)  # units such as (㎡) or (m2)
    return re.sub(r"[\s_\-:：*]", "", text)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class Columns:
    building: int
    unit: int
    area: int | None
    groups: dict[int, dict[str, int]]  # group number -> field -> column index
    labels: list[str]
    ignored: list[str]


def columns(header: list[str]) -> Columns:
    """Which column holds what; FileRefused when building or unit number is missing or named twice."""
    found: dict[str, int] = {}
    groups: dict[int, dict[str, int]] = {}
    ignored, labels = [], []
    for index, text in enumerate(header):
        labels.append(f"{column_letter(index)} {text}".strip())
        key = normalise_header(text)
        if not key:
            continue
        name = next((k for k, names in _FIELDS.items() if key in names), None)
        slot, what = found, name
        if name is None:
            match = _RESIDENT.match(key)
            part = match and next((k for k, names in _RESIDENT_FIELDS.items() if match.group(2) in names), None)
            if not part:
                ignored.append(text)
                continue
            number = int(match.group(1) or 1)
            if not 1 <= number <= MAX_GROUPS:
                raise FileRefused(_("Column %(column)s: at most %(n)d residents per unit row.",
                                    column=labels[-1], n=MAX_GROUPS))
            slot, what = groups.setdefault(number, {}), part
        if what in slot:
            raise FileRefused(_("Column %(column)s: the header row names this column twice.", column=labels[-1]))
        slot[what] = index
    if "building" not in found or "unit" not in found:
        raise FileRefused(_("The first row must name the columns: 楼栋 (building) and 房号 (unit number) are "
                            "required. Download the template to see the layout."))
    for number, parts in groups.items():
        if not {"name", "mobile"} <= parts.keys():
            raise FileRefused(_("Resident %(n)d needs both a name and a mobile column.", n=number))
    return Columns(found["building"], found["unit"], found.get("area"), dict(sorted(groups.items())),
                   labels, ignored)


def text_of(value) -> str:
    """A cell as text: numbers without a trailing .0 (Excel stores 1201 as 1201.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def mobile_of(value) -> str | None:
    """An 11-digit mainland mobile from what people type: +86, 0086, spaces, dashes; None if it is not one."""
    text = _MOBILE_JUNK.sub("", text_of(value))
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    return text if re.fullmatch(r"1\d{10}", text) else None


def date_of(value) -> date | None:
    """A date cell, an ISO-like or 年月日 date, or an Excel serial number; ValueError otherwise."""
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 10_000 < value < 80_000:  # a date cell formatted as a number: days since 1899-12-30
            return date(1899, 12, 30) + timedelta(days=int(value))
        if 19_000_101 <= value <= 29_991_231:
            return datetime.strptime(str(int(value)), "%Y%m%d").date()
        raise ValueError(value)
    text = text_of(value)
    match = _DATE.match(text)
    if match:
        return date(*map(int, match.groups()))
    if re.fullmatch(r"\d{8}", text):
        return datetime.strptime(text, "%Y%m%d").date()
    raise ValueError(text)


def area_of(value) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = re.sub(r"(㎡|m2|m²|平方米|平米)$", "", text_of(value).lower().replace(",", "")).strip()
        number = float(text)  # ValueError for anything else
    if not 0 < number < MAX_AREA or number != number:
        raise ValueError(value)
    return round(number, 2)


def validate(sheet: Sheet, today: date) -> Register:
    """Every row checked; problems name the line, the column and the reason."""
    cols = columns(sheet.header)
    rows, problems = [], []
    seen_units: dict[tuple[str, str], int] = {}
    seen_mobiles: dict[str, tuple[str, int]] = {}
    for line, cells in sheet.rows:
        cell = lambda index: cells[index] if index is not None and index < len(cells) else None  # noqa: E731
        found: list[Problem] = []

        def bad(index, message):
            found.append(Problem(line, cols.labels[index] if index is not None else "", message))

        building, number = text_of(cell(cols.building)), text_of(cell(cols.unit))
        for index, value, what in ((cols.building, building, "building"), (cols.unit, number, "unit")):
            if not value:
                bad(index, _("missing building") if what == "building" else _("missing unit number"))
            elif len(value) > LENGTHS[what]:
                bad(index, _("longer than %(n)d characters", n=LENGTHS[what]))
        area = None
        if cols.area is not None and text_of(cell(cols.area)):
            try:
                area = area_of(cell(cols.area))
            except (ValueError, OverflowError):
                bad(cols.area, _("%(value)s is not an area in m² (a number such as 89.5)",
                                 value=_quote(cell(cols.area))))
        if building and number and not found:
            key = (building, number)
            if key in seen_units:
                bad(cols.unit, _("unit %(unit)s is already on line %(line)d", unit=f"{building}-{number}",
                                 line=seen_units[key]))
            else:
                seen_units[key] = line
        residents = []
        for group, parts in cols.groups.items():
            resident = _resident(group, parts, cell, bad, today)
            if resident is None:
                continue
            if any(r.mobile == resident.mobile for r in residents):
                bad(parts["mobile"], _("%(mobile)s is listed twice for this unit", mobile=resident.mobile))
                continue
            earlier = seen_mobiles.get(resident.mobile)
            if earlier and earlier[0] != resident.name:
                bad(parts["name"], _("mobile %(mobile)s belongs to %(name)s on line %(line)d",
                                     mobile=resident.mobile, name=earlier[0], line=earlier[1]))
                continue
            seen_mobiles.setdefault(resident.mobile, (resident.name, line))
            residents.append(resident)
        problems += found
        if not found:
            rows.append(UnitRow(line, building, number, area, residents))
    return Register(rows, problems, cols.ignored, total=len(sheet.rows))


def _resident(group, parts, cell, bad, today) -> Resident | None:
    values = {k: cell(i) for k, i in parts.items()}
    if not any(text_of(v) for v in values.values()):
        return None
    name, raw_mobile = text_of(values.get("name")), values.get("mobile")
    ok = True
    if not name:
        bad(parts["name"], _("missing name of resident %(n)d", n=group))
        ok = False
    elif len(name) > LENGTHS["name"]:
        bad(parts["name"], _("longer than %(n)d characters", n=LENGTHS["name"]))
        ok = False
    mobile = mobile_of(raw_mobile)
    if not text_of(raw_mobile):
        bad(parts["mobile"], _("missing mobile of resident %(n)d", n=group))
        ok = False
    elif mobile is None:
        bad(parts["mobile"], _("%(value)s is not a mainland mobile number (11 digits starting with 1)",
                               value=_quote(raw_mobile)))
        ok = False
    relation_text = text_of(values.get("relation")).lower()
    # A register of owners only has no relation column at all: everyone in it is an owner.
    relation = RELATIONS.get(relation_text) if "relation" in parts else Relation.OWNER
    if relation is None:
        if relation_text:
            bad(parts["relation"], _("%(value)s is not a relation: write 业主, 家属 or 租户",
                                     value=_quote(values.get("relation"))))
        else:
            bad(parts["relation"], _("missing relation of resident %(n)d (业主, 家属 or 租户)",
                                                        n=group))
        ok = False
    moved_in = None
    if text_of(values.get("moved_in")):
        try:
            moved_in = date_of(values["moved_in"])
        except (ValueError, OverflowError):
            moved_in = None
        if moved_in is None or not FIRST_MOVE_IN <= moved_in <= today + timedelta(days=366):
            bad(parts["moved_in"], _("%(value)s is not a move-in date (write it as 2024-03-01)",
                                     value=_quote(values["moved_in"])))
            ok = False
    return Resident(name, mobile, relation, moved_in) if ok else None


def _quote(value) -> str:
    text = text_of(value)
    return f"“{text[:40]}{'…' if len(text) > 40 else ''}”"
