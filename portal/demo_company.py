"""The demo company's second estate 清风苑, and who works where (idempotent)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from portal.demo import ACCOUNTS, PASSWORD, PHRASES, SITE_MANAGERS, TEXTS, _get_or_create, seed_cases
from portal.extensions import db
from portal.models import (
    Building, Case, Category, CategoryOverride, Department, Estate, Phrase, Relation, Residency, Role, SlaRule,
    Unit, User,
)
from portal.sla import policy

HOME, SECOND = "翠湖花园", "清风苑"
COMPANY_ACCOUNTS = {"manager1"}  # the company-level manager: every estate, reports show everything
DEPARTMENTS = [("qf_engineering", "工程维修部"), ("qf_order", "秩序维护部"), ("qf_environment", "环境部"),
               ("qf_service", "客服中心")]
# 清风苑's default department for each company category (finance, company-wide, keeps fees).
OVERRIDES = {"facility": "qf_engineering", "elevator": "qf_engineering", "utilities": "qf_engineering",
             "security": "qf_order", "parking": "qf_order", "noise": "qf_order", "cleaning": "qf_environment",
             "landscaping": "qf_environment", "attitude": "qf_service", "other": "qf_service"}
SWITCHED_OFF = {"smart_home"}  # 清风苑 has no smart-home system
OWN_CATEGORY = ("qf_water_tank", "二次供水", "qf_engineering")
ACCOUNTS2 = [  # username, name, role, department code, phone, manager level
    ("clerk2", "周婷", Role.CLERK, None, "13900000011", 1),
    ("eng2", "吴刚", Role.DEPARTMENT, "qf_engineering", "13900000012", 1),
    ("manager3", "郑洁", Role.MANAGER, None, "13900000013", 1),  # 清风苑's customer-service manager
]
OWNERS = ["钱", "冯", "褚", "卫", "蒋", "沈", "韩", "杨", "秦", "尤", "许", "何", "吕", "施"]
TEXTS2 = {**TEXTS, "qf_water_tank": ("B座水压很低，早上七点到九点几乎没有水。", "请检查二次供水泵房并告知处理时间。")}
MIX2 = [("registered", 5), ("acknowledged", 5), ("dispatched", 7), ("in_progress", 7), ("waiting_resident", 2),
        ("third_party", 3), ("resolved", 9), ("callback_done", 6), ("closed", 9), ("invalid", 3),
        ("cannot_handle", 2), ("reopened", 2)]
CASES2 = sum(n for _, n in MIX2)


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).filter_by(username=username))


def scope_home_accounts(ref) -> None:
    """翠湖花园's accounts work for it; manager1 is company-level; department staff follow their department."""
    estate = ref["estate"]
    for username, *_ in ACCOUNTS:
        user = _user(username)
        if user.role != Role.RESIDENT:
            user.company_wide = username in COMPANY_ACCOUNTS
            user.estates = [estate]
    seed_households(estate)


def _scope_department_staff() -> None:
    """On-demand department accounts (dept<N>) work where their department serves."""
    for user in db.session.scalars(select(User).where(User.role == Role.DEPARTMENT, User.username.like("dept%"))):
        dep = user.department
        user.company_wide = dep.estate_id is None
        user.estates = [dep.estate] if dep.estate is not None else []


def seed_households(estate: Estate) -> None:
    """Every resident at home in the estate without a residency owns their unit (as the upgrade does)."""
    housed = select(Residency.user_id)
    for user in db.session.scalars(select(User).join(Unit, User.unit_id == Unit.id).join(Building).where(
            User.role == Role.RESIDENT, Building.estate_id == estate.id, User.id.not_in(housed))):
        db.session.add(Residency(unit_id=user.unit_id, user=user, relation=Relation.OWNER,
                                 moved_in=date.today() - timedelta(days=400)))


def _units(estate: Estate) -> list[Unit]:
    units = []
    for name in ("A座", "B座", "C座"):
        building = _get_or_create(Building, estate_id=estate.id, name=name)
        for floor in (3, 6, 9, 11):
            for door in (1, 2):
                units.append(_get_or_create(Unit, building_id=building.id, number=f"{floor:02d}0{door}"))
    return units


def _resident(username, name, phone, unit, relation, password_hash, moved_out=None) -> None:
    if _user(username) is not None:
        return
    user = User(username=username, display_name=name, role=Role.RESIDENT, phone=phone, password_hash=password_hash,
                unit_id=None if moved_out else unit.id)
    db.session.add(user)
    db.session.add(Residency(unit=unit, user=user, relation=relation, moved_in=date(2023, 3, 1) + timedelta(
        days=unit.id % 300), moved_out=moved_out))


def _households(units: list[Unit], password_hash: str) -> None:
    """Owners in 40 units; some with family, some let to tenants, one tenant already moved out."""
    for i, unit in enumerate(units[:40]):
        owner = OWNERS[i % len(OWNERS)] + ["伟", "芳", "敏", "静", "磊", "军"][i % 6]
        _resident(f"r{unit.id:04d}", owner, f"137{unit.id:08d}", unit, Relation.OWNER, password_hash)
        if i % 4 == 1:
            _resident(f"f{unit.id:04d}", owner[0] + "小" + "雨晴阳"[i % 3], f"136{unit.id:08d}", unit,
                      Relation.FAMILY, password_hash)
        if i % 9 == 4:
            _resident(f"t{unit.id:04d}", "租户" + owner[0], f"135{unit.id:08d}", unit, Relation.TENANT, password_hash)
        if i == 7:
            _resident(f"x{unit.id:04d}", "前租户" + owner[0], f"134{unit.id:08d}", unit, Relation.TENANT,
                      password_hash, moved_out=date(2026, 6, 30))


def _catalogue(estate: Estate, deps: dict[str, Department]) -> None:
    """清风苑's category overrides, its own category, phrases and one service level of its own."""
    for code in (*OVERRIDES, *SWITCHED_OFF):
        category = db.session.scalar(select(Category).filter_by(code=code))
        dep = deps[OVERRIDES[code]].id if code in OVERRIDES else None
        _get_or_create(CategoryOverride, estate_id=estate.id, category_id=category.id,
                       defaults={"default_department_id": dep, "active": code not in SWITCHED_OFF})
    code, name, dep = OWN_CATEGORY
    _get_or_create(Category, code=code, defaults={"name": name, "estate_id": estate.id,
                                                  "default_department_id": deps[dep].id})
    if db.session.scalar(select(func.count(Phrase.id)).where(Phrase.estate_id == estate.id)) == 0:
        texts = ["您好！这里是清风苑客服中心，请问有什么可以帮您？", *PHRASES[1:]]
        db.session.add_all(Phrase(text=t, position=i, estate_id=estate.id) for i, t in enumerate(texts))
    if db.session.scalar(select(SlaRule.id).filter_by(estate_id=estate.id)) is None:
        policy.save("repair", "", "dispatch", 1, "hours", estate_id=estate.id)  # a smaller site: faster


def _accounts(estate: Estate, deps: dict[str, Department], password_hash: str) -> dict[str, User]:
    users = {}
    for username, name, role, dep, phone, level in ACCOUNTS2:
        user = _user(username)
        if user is None:
            user = User(username=username, display_name=name, role=role, phone=phone, password_hash=password_hash,
                        department_id=deps[dep].id if dep else None, manager_level=level)
            db.session.add(user)
        user.company_wide, user.estates = False, [estate]
        users[username] = user
    return users


def seed_second_estate(home_ref) -> int:
    """清风苑: buildings, households, departments, catalogue, accounts; ~60 cases when it has none."""
    estate = _get_or_create(Estate, name=SECOND, defaults={"position": 1})
    deps = {code: _get_or_create(Department, code=code, defaults={"name": name, "estate_id": estate.id})
            for code, name in DEPARTMENTS}
    _catalogue(estate, deps)
    _households(_units(estate), home_ref["hash"])
    users = _accounts(estate, deps, home_ref["hash"])
    db.session.flush()
    created = 0
    if db.session.scalar(select(func.count(Case.id)).where(Case.estate_id == estate.id)) == 0:
        ref = {"estate": estate, "hash": home_ref["hash"], "deps": {"engineering": deps["qf_engineering"]},
               "users": {"clerk1": users["clerk2"], "eng1": users["eng2"], "sec1": users["eng2"],
                         "manager1": users["manager3"]}}
        created = seed_cases(ref, CASES2, mix=MIX2, texts=TEXTS2, seed=2027)
    _scope_department_staff()
    return created


def account_lines() -> list[str]:
    """The demo accounts with their estates, for the start command."""
    lines = [f"Demo accounts (password for all: {PASSWORD}):"]
    rows = [(u, n, r, d, f" {unit[0]}-{unit[1]}" if unit else "", HOME) for u, n, r, d, unit, _ in ACCOUNTS]
    rows += [(u, n, r, d, "", SECOND) for u, n, r, d, _, _ in ACCOUNTS2]
    levels = {1: " 客服经理 level 1", 2: " 项目经理 level 2"}
    for username, name, role, dep, unit, estate in rows:
        where = "全公司 company-level" if username in COMPANY_ACCOUNTS else estate
        level = levels[2 if username in SITE_MANAGERS else 1] if role == Role.MANAGER else ""
        lines.append(f"  {username:<10} {role.value:<10} {name}{unit or (' ' + dep if dep else '')}{level}  [{where}]")
    return lines
