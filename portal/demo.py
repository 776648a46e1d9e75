"""A demo estate with realistic Chinese cases in every state (idempotent)."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from portal.cases.intake import register_case
from portal.cases.lifecycle import perform
from portal import org
from portal.extensions import db
from portal.models import (
    Building, Case, Category, Channel, Department, Estate, Kind, LocationType, Phrase, Role,
    Severity, Unit, User,
)
from portal.timeutil import utcnow

PASSWORD = "demo12345"
DEPARTMENTS = [("engineering", "工程部"), ("security", "保安部"), ("cleaning", "保洁部"),
               ("landscaping", "绿化部"), ("customer_service", "客服中心"), ("finance", "财务部")]
CATEGORIES = [
    ("facility", "工程及设施维修", "engineering"), ("elevator", "电梯", "engineering"),
    ("utilities", "水电", "engineering"), ("security", "安全及门禁", "security"),
    ("parking", "停车", "security"), ("cleaning", "清洁卫生", "cleaning"),
    ("landscaping", "绿化", "landscaping"), ("attitude", "服务态度", "customer_service"),
    ("fees", "收费及账单", "finance"), ("noise", "噪音及邻里", "security"),
    ("smart_home", "智能家居系统", "engineering"), ("other", "其他", "customer_service"),
]
PHRASES = ["您好！请问我们能为您做些什么？", "非常感谢您对我们提出宝贵的建议/意见。",
           "我们会及时把处理结果通知您。", "您是否对处理结果感到满意？", "您是否还有什么要求？"]
ACCOUNTS = [  # username, name, role, department code, (building, unit), phone
    ("resident1", "张伟", Role.RESIDENT, None, ("3栋", "1201"), "13800000001"),
    ("resident2", "李娜", Role.RESIDENT, None, ("5栋", "0802"), "13800000002"),
    ("clerk1", "王芳", Role.CLERK, None, None, "13900000001"),
    ("eng1", "刘强", Role.DEPARTMENT, "engineering", None, "13900000002"),
    ("sec1", "陈军", Role.DEPARTMENT, "security", None, "13900000003"),
    ("tech1", "黄磊", Role.DEPARTMENT, "engineering", None, "13900000006"),  # a technician of eng1's department
    ("manager1", "赵敏", Role.MANAGER, None, None, "13900000004"),
    ("manager2", "孙浩", Role.MANAGER, None, None, "13900000005"),  # site manager: level-2 escalations
]
SITE_MANAGERS = {"manager2"}
DEPARTMENT_HEADS = {"eng1", "sec1"}  # assign their department's cases to its technicians
COMPANY_DEPARTMENTS = {"finance"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["秀英", "建国", "丽", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "霞", "平", "刚", "桂英"]
TEXTS = {
    "facility": ("卫生间天花板渗水，已经持续三天，墙面发霉。", "请尽快派人检修并查明渗水原因。"),
    "elevator": ("2号电梯经常在12楼停顿，门关不上，老人小孩乘坐很不安全。", "请检修电梯并告知维保记录。"),
    "utilities": ("家里晚上七点左右频繁跳闸，整栋楼有几户都这样。", "请检查线路，恢复正常供电。"),
    "security": ("单元门禁坏了一周，陌生人随意进出。", "请尽快修好门禁，加强巡逻。"),
    "parking": ("我的固定车位连续几天被外来车辆占用。", "请处理占位车辆并加强车辆管理。"),
    "cleaning": ("楼道垃圾两天没有清运，气味很大。", "请按时清运垃圾，清洁楼道。"),
    "landscaping": ("小区东侧草坪长期无人修剪，杂草丛生，蚊虫很多。", "请安排修剪并喷洒驱蚊药。"),
    "attitude": ("前台工作人员接电话时态度冷淡，问题没说完就挂断了。", "希望改进服务态度并给予答复。"),
    "fees": ("本月物业费账单比上月多出120元，没有任何说明。", "请核对账单并解释收费明细。"),
    "noise": ("楼上住户每晚十一点后装修噪音，严重影响休息。", "请协调邻居，遵守装修时间规定。"),
    "smart_home": ("可视对讲无法开门，手机App一直提示离线。", "请派人调试设备。"),
    "other": ("小区公告栏信息很久没有更新。", "希望及时公布物业工作信息。"),
}
# What a demo case may be, by category: the kinds it is filed as and where it happens, matching its text
# (no parking complaint in a kitchen, no billing repair). tests/test_demo.py checks every seeded case against it.
C, R, E, S = Kind.COMPLAINT, Kind.REPAIR, Kind.ENQUIRY, Kind.SUGGESTION
U, A = LocationType.UNIT, LocationType.COMMON
FIT = {
    "facility": ((R, R, C), U, ("卫生间",)),
    "elevator": ((R, C, C), A, ("2号电梯",)),
    "utilities": ((R, R, C, E), U, ("", "配电箱")),
    "security": ((C, C, R, S), A, ("单元门口",)),
    "parking": ((C, C, E, S), A, ("地下车库",)),
    "cleaning": ((C, C, S), A, ("楼道",)),
    "landscaping": ((C, S), A, ("小区东侧草坪",)),
    "attitude": ((C, C, S), A, ("客服中心",)),
    "fees": ((E, E, C), U, ("",)),
    "noise": ((C,), U, ("",)),
    "smart_home": ((R, R, E), U, ("入户门",)),
    "other": ((S, E), A, ("公告栏",)),
    "qf_water_tank": ((R, C), U, ("厨房", "卫生间")),
}
# Who is chased when a case waits on a third party, by category.
THIRD_PARTIES = {"utilities": "供电局", "facility": "开发商", "elevator": "电梯维保公司", "smart_home": "设备厂家",
                 "qf_water_tank": "自来水公司"}
PLAN = ("现场勘查已确认问题原因。", "安排维修人员更换损坏部件并复查。")
# Final state of each demo case and how many of the 200 end there.
MIX = [("registered", 18), ("acknowledged", 16), ("dispatched", 22), ("in_progress", 20), ("waiting_resident", 6),
       ("third_party", 8), ("resolved", 30), ("callback_done", 20), ("closed", 30),
       ("invalid", 10), ("cannot_handle", 8), ("reopened", 12)]
PATHS = {
    "registered": [], "acknowledged": ["acknowledge"], "dispatched": ["acknowledge", "classify", "dispatch"],
    "in_progress": ["acknowledge", "classify", "dispatch", "accept", "plan"],
    "third_party": ["acknowledge", "classify", "dispatch", "accept", "third_party"],
    "waiting_resident": ["acknowledge", "classify", "dispatch", "accept", "await_resident"],
    "resolved": ["acknowledge", "classify", "dispatch", "accept", "plan", "complete"],
    "callback_done": ["acknowledge", "classify", "dispatch", "accept", "plan", "complete", "confirm", "callback"],
    "closed": ["acknowledge", "classify", "dispatch", "accept", "plan", "complete", "confirm", "callback", "close"],
    "invalid": ["acknowledge", "mark_invalid"],
    "cannot_handle": ["acknowledge", "classify", "dispatch", "accept", "cannot_handle"],
    "reopened": ["acknowledge", "classify", "dispatch", "accept", "plan", "complete", "reject"],
}


def _get_or_create(model, defaults=None, **keys):
    row = db.session.scalar(select(model).filter_by(**keys))
    if row is None:
        row = model(**keys, **(defaults or {}))
        db.session.add(row)
        db.session.flush()
    return row


def seed_reference() -> dict:
    """Estate, buildings, units, departments, categories, phrases, accounts."""
    estate = _get_or_create(Estate, name="翠湖花园")
    units = []
    for b in range(1, 7):
        building = _get_or_create(Building, estate_id=estate.id, name=f"{b}栋")
        for floor in (2, 5, 8, 12, 15, 18):
            for door in (1, 2):
                units.append(_get_or_create(Unit, building_id=building.id, number=f"{floor:02d}0{door}"))
    deps = {code: _get_or_create(Department, code=code, defaults={  # finance is company-wide
        "name": name, "estate_id": None if code in COMPANY_DEPARTMENTS else estate.id}) for code, name in DEPARTMENTS}
    for code, name, dep in CATEGORIES:
        _get_or_create(Category, code=code, defaults={"name": name, "default_department_id": deps[dep].id})
    if db.session.scalar(select(func.count(Phrase.id))) == 0:
        db.session.add_all(Phrase(text=t, position=i) for i, t in enumerate(PHRASES))
    hashed = User(password_hash="")
    hashed.set_password(PASSWORD)  # hash once: scrypt is slow by design
    users = {}
    for username, name, role, dep, unit, phone in ACCOUNTS:
        unit_id = None
        if unit:
            building = db.session.scalar(select(Building).filter_by(estate_id=estate.id, name=unit[0]))
            unit_id = _get_or_create(Unit, building_id=building.id, number=unit[1]).id
        user = db.session.scalar(select(User).filter_by(username=username))
        if user is None:
            user = User(username=username, display_name=name, role=role, phone=phone, unit_id=unit_id,
                        department_id=deps[dep].id if dep else None)
            user.password_hash = hashed.password_hash
            user.manager_level = 2 if username in SITE_MANAGERS else 1
            user.department_head = username in DEPARTMENT_HEADS
            db.session.add(user)
        users[username] = user
    ref_hash = hashed.password_hash
    rng = random.Random(7)
    for i, unit in enumerate(units[:60]):
        username = f"r{unit.id:04d}"
        if db.session.scalar(select(User.id).filter_by(username=username)) is None:
            u = User(username=username, display_name=rng.choice(SURNAMES) + rng.choice(GIVEN), role=Role.RESIDENT,
                     phone=f"137{unit.id:08d}", unit_id=unit.id, password_hash=hashed.password_hash)
            db.session.add(u)
    db.session.flush()
    return {"users": users, "deps": deps, "hash": ref_hash, "estate": estate}


def _step(case, name, ref, at, rng):
    users, deps = ref["users"], ref["deps"]
    staff = users["clerk1"]
    data = {"note": "您好！已收到您反映的问题，我们会及时把处理结果通知您。"}
    if name == "classify":
        data = {"category_id": case.category_id, "severity": rng.choice(["major", "important", "minor", "minor"]),
                "urgent": case.kind == Kind.REPAIR and rng.random() < .2}
    elif name == "dispatch":
        dep = org.default_department(case.category, case.estate_id)
        data = {"department_id": dep.id if dep else deps["engineering"].id}
    elif name in ("accept", "plan", "complete", "third_party", "cannot_handle", "await_resident"):
        staff = users["eng1"] if case.department_id == deps["engineering"].id else users["sec1"]
        staff = _dept_actor(staff, case)
        data = {"note": "已接单，安排人员处理。", "finding": PLAN[0], "plan": PLAN[1],
                "promised_at": at + timedelta(days=rng.choice([1, 1, 2, 3])),
                "third_party": THIRD_PARTIES.get(case.category.code if case.category else "", "相关单位")}
        if name == "complete":
            data["note"] = ("已完成维修，现场清理完毕，经测试恢复正常。" if case.kind == Kind.REPAIR
                            else "已处理完毕，经现场核实问题已解决。")
        if name == "await_resident":
            data["note"] = "需与您当面核实情况，请告知方便的时间。"
        if name in ("third_party", "cannot_handle"):
            data["note"] = f"该问题需由{data['third_party']}处理，我们已联系对方并会持续跟进。" if name == "third_party" \
                else "该事项属于开发商保修范围，物业无权改动，已书面转交开发商并告知您联系方式。"
    elif name in ("confirm", "reject"):
        staff = case.resident
        data = {"note": "处理后问题依旧，没有解决。" if name == "reject" else "满意，谢谢。"}
    elif name == "mark_invalid":
        data = {"note": "经核实，该事项属于住户之间的私人纠纷，不属于物业服务范围。"}
    elif name == "close":
        staff = users["manager1"]
        data = {"note": ""}
    if name == "callback":
        _callback(case, staff, at, rng)
        return
    perform(case, staff, name, data, at)


def _callback(case, staff, at, rng) -> None:
    """A reached, satisfied phone callback through the callback queue's own rules."""
    from portal.callbacks.service import create_for_case, record_callback
    task = create_for_case(case)
    if task is None:  # a repair the sample did not draw: called back anyway by the desk
        perform(case, staff, "callback", {"note": "电话回访：住户表示满意。"}, at)
        return
    if task.assignee_role == Role.MANAGER:
        staff = db.session.scalar(select(User).filter_by(username="manager1"))
    record_callback(task, staff, {"method": "phone", "reached": True,
                                  "satisfaction": rng.choice(["very_satisfied", "satisfied", "satisfied"]),
                                  "quality_rating": rng.choice([4, 5]), "effect_rating": rng.choice([4, 5]),
                                  "confirmed": True, "note": "电话回访：住户表示满意。"}, at)


def seed_callbacks() -> None:
    """This month's callback plan published into the queue, next month's as a draft (idempotent)."""
    from portal.callbacks import plans
    from portal.models import PlanStatus
    from portal.timeutil import local_now
    now = local_now()
    current = plans.generate(now.year, now.month)
    if current.status == PlanStatus.DRAFT:
        plans.publish(current, db.session.scalar(select(User).filter_by(username="manager1")))
    nxt = now.replace(day=1) + timedelta(days=32)
    plans.generate(nxt.year, nxt.month)


def _dept_actor(default, case):
    """A department account for the case's department (created on demand)."""
    if default.department_id == case.department_id:
        return default
    username = f"dept{case.department_id}"
    user = db.session.scalar(select(User).filter_by(username=username))
    if user is None:
        user = User(username=username, display_name=f"{case.department.name}值班", role=Role.DEPARTMENT,
                    department_id=case.department_id, password_hash=default.password_hash)
        db.session.add(user)
        db.session.flush()
    return user


def seed_cases(ref, count: int = 200, mix=MIX, texts=TEXTS, seed: int = 2026) -> int:
    """Cases of the ref's estate spread over the last 60 days, each walked through the real lifecycle."""
    rng = random.Random(seed)
    residents = list(db.session.scalars(select(User).join(Unit, User.unit_id == Unit.id).join(Building).where(
        User.role == Role.RESIDENT, Building.estate_id == ref["estate"].id).order_by(User.id)))
    cats = org.categories_for(ref["estate"].id)
    finals = [name for name, n in mix for _ in range(n)][:count]
    rng.shuffle(finals)
    now = utcnow()
    for i, final in enumerate(finals):
        resident = residents[i % 7] if i % 3 == 0 else rng.choice(residents)
        cat = rng.choice(cats)
        kinds, place_type, places = FIT[cat.code]
        kind = rng.choice(kinds)
        desc, req = texts[cat.code]
        at = now - timedelta(days=60 * (count - i) / count, minutes=rng.randint(0, 600))
        case = register_case(actor=ref["users"]["clerk1"], resident=resident, kind=kind,
                             channel=rng.choice(list(Channel)), description=desc, request=req,
                             category_id=cat.id, location_type=place_type, received_at=at,
                             location=rng.choice(places), at=at)
        db.session.flush()
        for step in PATHS[final]:
            at = min(at + timedelta(hours=rng.randint(1, 20)), now)
            _step(case, step, ref, at, rng)
        if case.severity is None and final not in ("registered", "acknowledged", "invalid"):
            case.severity = Severity.MINOR
    return len(finals)


def seed_demo() -> int:
    """Create the demo company: 翠湖花园 (cases only when the database has none yet), then 清风苑."""
    from portal import demo_company
    ref = seed_reference()
    demo_company.scope_home_accounts(ref)
    created = 0
    if db.session.scalar(select(func.count(Case.id))) == 0:
        created = seed_cases(ref)
    created += demo_company.seed_second_estate(ref)
    seed_callbacks()
    db.session.commit()
    return created
