"""The fuzzer's world: a fresh app and database seeded so every role reaches every form, one client per role."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from portal import create_app
from portal.cases.lifecycle import perform
from portal.config import TestConfig
from portal.extensions import db
from portal.models import CallbackTask, ImprovementAction, Notification, Role
from tests import factories
from tests.conftest import RequestScopedClient, csrf_token, login_as


ROLES = ("anonymous", "resident", "clerk", "department", "manager")
PERSON = {"resident": "resident", "clerk": "clerk", "department": "eng", "manager": "manager"}
HOST = "localhost"
PAGE_BUDGET = 160  # pages per role and crawl; the seeded world needs about half of that
QUERY_VARIANTS = 2  # pages of one route that differ only in which query arguments they carry
LINKED_PER_ROUTE = 2  # pages of one route reached by links (besides the seeded start pages)

# --- the world ------------------------------------------------------------------------------

@dataclass
class World:
    app: object
    people: dict
    clients: dict
    seeds: dict  # role -> extra start URLs (cases, tasks, plans, the signed survey link)
    upload_dir: Path
    tokens: dict  # role -> the session's CSRF token, sent in a header by htmx requests


STARTED = ("classify", "dispatch", "accept")
STATES = {  # how a seeded case reaches the state whose forms a role needs
    "registered": (), "acknowledged": ("acknowledge", "classify"), "dispatched": ("classify", "dispatch"),
    "in_progress": STARTED, "waiting": STARTED + (("eng", "await_resident", {"note": "请提供照片"}),),
    "third_party": STARTED + (("eng", "third_party", {"third_party": "自来水公司", "note": "等待供水"}),),
    "resolved": STARTED + ("complete",), "invalid": ("mark_invalid",),
    "cannot_handle": STARTED + (("eng", "cannot_handle", {"note": "产权不属于物业"}),),
    "major": (("clerk", "classify", {"category_id": "water", "severity": "major"}), "dispatch"),
}
# Each role acts on cases of its own, so one role's accepted action does not take another's form away.
OWN = {
    "anonymous": ("resolved",),  # its callback task is answered through the signed link
    "resident": ("registered", "resolved"),
    "clerk": ("registered", "acknowledged", "dispatched", "waiting", "resolved", "resolved"),
    "department": ("dispatched", "in_progress", "third_party"),
    "manager": ("registered", "acknowledged", "dispatched", "waiting", "resolved", "resolved", "invalid",
                "cannot_handle", "major"),
}


def _case(people, filer: str, state: str):
    case = factories.case(people[filer])
    for step in STATES[state]:
        if isinstance(step, str):
            factories.advance(case, [step], people)
        else:
            who, name, data = step
            data = {k: people["ref"][v].id if k == "category_id" else v for k, v in data.items()}
            perform(case, people[who], name, data)
    db.session.commit()
    return case


def _seed(app) -> tuple[dict, dict]:
    """Cases in every state a form depends on, callbacks (one with a promise), a plan, an alert,
    an improvement action and a failed delivery; returns the people and each role's start pages."""
    from portal.callbacks import plans
    from portal.callbacks.links import make_token
    from portal.callbacks.service import record_callback
    from portal.models import Building, Unit
    from portal.reports import report
    from portal.reports.periods import Scope, current_month, shift
    from portal.timeutil import local_now, utcnow

    ref = factories.reference()
    people = {
        "ref": ref,
        "resident": factories.user(Role.RESIDENT, unit=ref["units"][0], name="张三"),
        "other_resident": factories.user(Role.RESIDENT, unit=ref["units"][1], name="李四"),
        "clerk": factories.user(Role.CLERK),
        "manager": factories.user(Role.MANAGER, company_wide=True),
        "eng": factories.user(Role.DEPARTMENT, department=ref["eng"]),
        "sec": factories.user(Role.DEPARTMENT, department=ref["sec"]),
    }
    people["eng"].department_head = True  # the crawl meets the head's "assign" form too
    building = db.session.get(Building, ref["units"][0].building_id)
    for i in range(3):  # households for the callback plan
        factories.user(Role.RESIDENT, unit=Unit(building=building, number=f"08{i:02d}"))
    db.session.commit()

    seeds = {}
    for role, states in OWN.items():
        cases = [_case(people, "resident" if role == "resident" else "other_resident", s) for s in states]
        tasks = list(db.session.scalars(select(CallbackTask).where(CallbackTask.case_id.in_([c.id for c in cases]))
                                        .order_by(CallbackTask.id)))
        if len(tasks) > 1:  # the second callback is reached and leaves a question to answer
            record_callback(tasks[1], people["manager" if role == "manager" else "clerk"], {
                "method": "phone", "reached": True, "satisfaction": "satisfied", "question": "维修费用谁承担？",
                "promised_reply_at": utcnow() + timedelta(days=2)})
            db.session.commit()
        pages = [f"/cases/{c.id}" for c in cases]
        if role in ("clerk", "manager", "department"):
            pages += [f"/board/rows/{c.id}/actions" for c in cases]
        if role in ("clerk", "manager"):
            pages += [f"/callbacks/{t.id}" for t in tasks]
        if role == "resident":
            pages += [f"/cases/{c.id}/survey" for c in cases]
        if role == "anonymous":
            with app.test_request_context():
                pages = [f"/s/{make_token(tasks[0])}"]
        seeds[role] = pages

    seeds["manager"] += _admin_targets(people)

    now = local_now()
    plan = plans.generate(now.year + (now.month == 12), now.month % 12 + 1)
    seeds["manager"].append(f"/callbacks/plans/{plan.id}")
    report.add_action(Scope(shift(current_month(), -1), None), people["manager"],
                      {"problem": "超时较多", "action": "增加夜班", "due_on": None})
    db.session.add(Notification(user_id=people["manager"].id, channel="email", kind="escalation", subject="升级",
                                body="请处理", dedup_key="fuzz:1", status="failed", address="m@example.com",
                                last_error="SMTP down"))
    # Residents' unit claims waiting for the desk (one for each desk role to decide).
    from portal.models import Relation, UnitClaim
    for _ in range(2):
        db.session.add(UnitClaim(user_id=people["resident"].id, unit_id=people["ref"]["units"][1].id,
                                 relation=Relation.TENANT))
    db.session.commit()
    assert db.session.scalar(select(ImprovementAction.id)) is not None
    return people, seeds


def _admin_targets(people) -> list[str]:
    """The manager is company-level and administers throwaway rows of their own, so fuzzing the
    administration pages (deactivate, new password, move out, role change) never takes a fuzzing
    client's account, unit or department away. Their pages are seeds: the crawler meets these
    forms before the same forms for anyone else."""
    from datetime import date

    from portal.models import Building, Category, Department, Estate, Relation, Residency, Unit

    people["manager"].company_wide = True
    estate = Estate(name="试验小区")
    building = Building(estate=estate, name="试验楼")
    unit = Unit(building=building, number="0001")
    dept = Department(code="fuzz-dept", name="试验部门", estate=estate)
    cat = Category(code="fuzz-cat", name="试验类别")
    staff = factories.user(Role.CLERK, name="试验客服")
    resident = factories.user(Role.RESIDENT, name="试验住户")
    db.session.add_all([estate, building, unit, dept, cat])
    db.session.flush()
    staff.estates = [estate]
    resident.unit_id = unit.id
    db.session.add(Residency(unit_id=unit.id, user_id=resident.id, relation=Relation.OWNER, moved_in=date(2020, 1, 1)))
    db.session.commit()
    return [f"/admin/estates/{estate.id}", f"/admin/estates/{estate.id}/units", f"/admin/units/{unit.id}",
            f"/admin/residents/{resident.id}", f"/admin/staff/{staff.id}", f"/admin/departments/{dept.id}",
            f"/admin/categories/{cat.id}"]


@contextlib.contextmanager
def world(database_url: str, tmp_path: Path):
    """A fresh app and database with the seeded world and one logged-in client per role."""
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.UPLOAD_DIR = str(tmp_path / "uploads")
    config.OUTBOX_DIR = str(tmp_path / "outbox")
    app = create_app(config)
    app.test_client_class = RequestScopedClient
    with app.app_context():
        db.create_all()
        try:
            people, seeds = _seed(app)
            clients = {"anonymous": app.test_client()}
            for role, who in PERSON.items():
                clients[role] = app.test_client()
                login_as(clients[role], people[who])
            tokens = {role: csrf_token(client) for role, client in clients.items()}
            yield World(app, people, clients, seeds, Path(config.UPLOAD_DIR), tokens)
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
