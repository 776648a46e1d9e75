"""Firing reminders and escalations: once per (case, rule, level, round), whoever runs it.

The unique key on `alert` is the lock: rows the insert skips were fired before
(or by a racing worker), so only newly inserted alerts notify anyone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from portal.cases.lifecycle import record_escalations
from portal.extensions import db, insert_new
from portal.messages import lab, locale_of, msg, register, render
from portal.models import Alert, Role, User
from portal.notify import outbox
from portal.timeutil import to_local, utcnow

RULES = {
    "first_reply": _l("First reply overdue"),
    "dispatch": _l("Dispatch overdue"),
    "investigation": _l("Investigation overdue"),
    "proposal": _l("Solution proposal overdue"),
    "resolution": _l("Resolution overdue"),
    "promise": _l("Promised finish time passed"),
    "invalid_notice": _l("Invalid-verdict notice overdue"),
    "callback": _l("Callback overdue"),
    "callback_reply": _l("Reply promised during a callback is overdue"),
    "major": _l("Major complaint"),
    "group": _l("Group complaint"),
    "agitated": _l("Agitated resident"),
    "repeat": _l("Repeat complaint"),
    "reopened_twice": _l("Reopened twice"),
}
REMINDER = _l("Deadline approaching")
LEVELS = {0: _l("Reminder"), 1: _l("Customer-service manager"), 2: _l("Site manager")}
register(rule=RULES, level=LEVELS)


@dataclass(frozen=True)
class Firing:
    case_id: int
    case_number: str
    department_id: int | None
    registered_by_id: int | None
    owner_id: int | None
    rule: str
    level: int
    round: int
    due_at: datetime | None
    estate_id: int | None = None


def rule_label(rule: str, level: int) -> str:
    return str(REMINDER) if level == 0 else str(RULES.get(rule, rule))


def _insert_new(rows: list[dict]) -> list[tuple]:
    return insert_new(db.session, Alert.__table__, rows, ["case_id", "rule", "level", "round"],
                      ["id", "case_id", "rule", "level", "round"])


class Staff:
    """Everyone an alert can go to, read in two queries per scan."""

    def __init__(self):
        people = db.session.scalars(
            db.select(User).options(selectinload(User.estates))
            .where(User.active.is_(True), User.role.in_((Role.CLERK, Role.MANAGER, Role.DEPARTMENT)))
        ).all()
        self.by_id = {u.id: u for u in people}
        self.estates = {u.id: {e.id for e in u.estates} for u in people}
        self.clerks = [u for u in people if u.role == Role.CLERK]
        self.managers = {lvl: [u for u in people if u.role == Role.MANAGER and (u.manager_level or 1) == lvl]
                         for lvl in (1, 2)}
        self.departments: dict[int, list[User]] = {}
        for u in people:
            if u.role == Role.DEPARTMENT and u.department_id:
                self.departments.setdefault(u.department_id, []).append(u)

    def _of_estate(self, people: list[User], estate_id: int | None) -> list[User]:
        """Those working for the estate, else the company-level ones (everyone when the estate is unknown)."""
        if estate_id is None:
            return list(people)
        own = [u for u in people if not u.company_wide and estate_id in self.estates[u.id]]
        return own or [u for u in people if u.company_wide]

    def managers_for(self, estate_id: int | None, level: int) -> list[User]:
        """Escalation level 1 (customer-service manager) or 2 (site manager): the estate's own managers
        of that level, else the company-level ones; nobody at level 2 means level 1's. An escalation
        never goes unread: with nobody for the estate at all, every manager of the level gets it."""
        for lvl in dict.fromkeys((level, 1)):
            chosen = self._of_estate(self.managers.get(lvl, []), estate_id)
            if chosen:
                return chosen
        return list(self.managers.get(level) or self.managers.get(1) or [])

    def recipients(self, f: Firing) -> list[User]:
        if f.level >= 1:
            chosen = self.managers_for(f.estate_id, f.level)
            owner = self.by_id.get(f.owner_id)
            if owner is not None and owner not in chosen:
                chosen.append(owner)
            return chosen
        if f.rule in ("first_reply", "invalid_notice", "callback", "callback_reply", "dispatch") \
                or not f.department_id:
            clerk = self.by_id.get(f.registered_by_id)
            if clerk is not None and clerk.role == Role.CLERK:
                return [clerk]
            return self._of_estate(self.clerks, f.estate_id) or self.clerks
        return self.departments.get(f.department_id, [])


def fire(firings: list[Firing], now: datetime | None = None, staff: Staff | None = None) -> list[int]:
    """Record alerts, timeline events for escalations (through the lifecycle) and outbox rows; new alert ids."""
    if not firings:
        return []
    now = now or utcnow()
    created = _insert_new([
        {"case_id": f.case_id, "rule": f.rule, "level": f.level, "round": f.round, "due_at": f.due_at,
         "created_at": now, "note": ""} for f in firings
    ])
    if not created:
        return []
    by_key = {(f.case_id, f.rule, f.level, f.round): f for f in firings}
    staff = staff or Staff()
    events, sends = [], []
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):  # the stored notes: the house language (one switch)
        for alert_id, case_id, rule, level, rnd in created:
            f = by_key[(case_id, rule, level, rnd)]
            due = f"{to_local(f.due_at):%m-%d %H:%M}" if f.due_at else None
            title = msg("alert.reminder") if level == 0 else lab("rule", rule)
            subject = msg("alert.subject", number=f.case_number, title=title)
            body = msg("alert.due", rule=lab("rule", rule), time=due) if due else lab("rule", rule)
            if level >= 1:
                note = (msg("alert.escalation_due", level=lab("level", level), rule=lab("rule", rule), time=due)
                        if due else msg("alert.escalation", level=lab("level", level), rule=lab("rule", rule)))
                events.append((case_id, render(note), note))
            kind = "escalation" if level >= 1 else "reminder"
            for user in staff.recipients(f):
                for channel, address in outbox.channels_for(user, kind):
                    sends.append((user, channel, address, kind, subject, body, f"alert:{alert_id}", case_id,
                                  alert_id))
    rows = []
    for locale in sorted({locale_of(s[0]) for s in sends}):  # each recipient's language, one switch per language
        with force_locale(locale):
            texts: dict[int, tuple[str, str]] = {}
            for user, channel, address, kind, subject, body, key, case_id, alert_id in sends:
                if locale_of(user) != locale:
                    continue
                if alert_id not in texts:
                    texts[alert_id] = (render(subject), render(body))
                rows.append(outbox.row(user, channel, address, kind, *texts[alert_id], key, case_id, alert_id, now,
                                       subject_msg=subject, body_msg=body))
    record_escalations(events, now)
    outbox.queue_rows(rows)
    return [c[0] for c in created]


def firing_for(case, rule: str, level: int = 1, due_at=None) -> Firing:
    return Firing(case.id, case.number, case.department_id, case.registered_by_id, case.owner_id,
                  rule, level, case.reopen_count if rule == "reopened_twice" else 0, due_at, case.estate_id)


def acknowledge(alert: Alert, user: User, note: str = "", at: datetime | None = None) -> bool:
    """A manager has seen an escalation (the caller commits); False if it already was."""
    if alert.acknowledged_at is not None:
        return False
    alert.acknowledged_at, alert.acknowledged_by_id, alert.note = at or utcnow(), user.id, note.strip()[:500]
    return True
