"""Service levels per kind and severity (SPEC §3): built-in defaults, company rules, estate rules."""
from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l

from portal import settings
from portal.extensions import db
from portal.models import Kind, Severity, SlaRule
from portal.sla.calendar import SECTION as CAL_SECTION

SECTION = _l("Deadlines and reminders")
settings.define("reminder_percent", 75, _l("Remind the assignee at this share of the allowed time (%)"),
                "percent", SECTION, min=10, max=99)
settings.define("urgent_dispatch_minutes", 15, _l("Urgent repairs: dispatch within (minutes)"),
                "int", SECTION, min=0, max=240)
settings.define("level2_working_days", 1,
                _l("Escalate to the site manager when resolution is still overdue after (working days)"),
                "int", SECTION, min=0, max=20)
settings.define("scan_seconds", 60, _l("Check deadlines every (seconds, without Redis)"), "int", CAL_SECTION,
                min=10, max=3600)

# Clocks in the order a case meets them.
CLOCKS = {
    "first_reply": _l("First reply"),
    "dispatch": _l("Dispatch"),
    "investigation": _l("Investigation"),
    "proposal": _l("Solution proposal"),
    "resolution": _l("Resolution"),
    "promise": _l("Promised finish"),
    "invalid_notice": _l("Invalid-verdict notice"),
    "callback": _l("Callback"),
    "callback_reply": _l("Promised reply"),
}
# Clocks a manager sets per kind and severity (the promise is the department's own date).
POLICY_CLOCKS = ("first_reply", "dispatch", "investigation", "proposal", "resolution", "invalid_notice",
                 "callback")
UNITS = {
    "minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days"),
    "working_hours": _l("working hours"), "working_days": _l("working days"),
}
SEVERITIES = ("", Severity.MAJOR.value, Severity.IMPORTANT.value, Severity.MINOR.value)

_FIRST = {"": (2, "hours"), "major": (2, "hours"), "important": (1, "working_days"), "minor": (2, "hours")}
_RESOLVE = {"": (3, "working_days"), "major": (3, "working_days"), "important": (2, "working_days"),
            "minor": (1, "working_days")}


@dataclass(frozen=True)
class Level:
    amount: float | None
    unit: str

    @property
    def active(self) -> bool:
        return self.amount is not None


def default(kind: str, severity: str, clock: str) -> Level:
    """SPEC §3 and the general rules: 24 h investigation, 48 h proposal, 1 working day
    invalid notice, 3 working days to call back, repairs to engineering within 2 hours."""
    if clock == "first_reply":
        return Level(*_FIRST[severity])
    if clock == "resolution":
        return Level(*_RESOLVE[severity])
    if clock == "dispatch":
        return Level(2, "hours") if kind == Kind.REPAIR.value else Level(None, "hours")
    if clock == "investigation":
        return Level(24, "hours")
    if clock == "proposal":
        return Level(48, "hours")
    if clock == "invalid_notice":
        return Level(1, "working_days")
    if clock == "callback":
        # SPEC §6: complaints and repairs are called back within 3 days (repairs when drawn).
        return Level(3, "working_days") if kind in (Kind.COMPLAINT.value, Kind.REPAIR.value) else Level(None, "working_days")
    raise KeyError(clock)


def _overrides() -> dict[tuple[int | None, str, str, str], Level]:
    cached = g.get("_sla_rules") if has_app_context() else None
    if cached is None:
        cached = {(r.estate_id, r.kind, r.severity, r.clock): Level(r.amount, r.unit)
                  for r in db.session.scalars(db.select(SlaRule))}
        if has_app_context():
            g._sla_rules = cached
    return cached


def level(kind, severity, clock: str, estate_id: int | None = None) -> Level:
    """The level in force for a case of this kind and severity in the estate: the estate's rule,
    else the company's (estate_id NULL), else the built-in default."""
    kind = getattr(kind, "value", kind)
    severity = getattr(severity, "value", severity) or ""
    rules = _overrides()
    found = rules.get((estate_id, kind, severity, clock)) if estate_id is not None else None
    return found or rules.get((None, kind, severity, clock)) or default(kind, severity, clock)


def budget(lvl: Level, day_seconds: float) -> tuple[str, float]:
    """(metric, seconds): clock units count wall time, working units count working time."""
    amount = float(lvl.amount or 0)
    return {
        "minutes": ("clock", amount * 60),
        "hours": ("clock", amount * 3600),
        "days": ("clock", amount * 86400),
        "working_hours": ("work", amount * 3600),
        "working_days": ("work", amount * day_seconds),
    }[lvl.unit]


def save(kind: str, severity: str, clock: str, amount: float | None, unit: str,
         estate_id: int | None = None) -> None:
    """Store one manager override, the company's or (estate_id) one estate's; the caller commits."""
    row = db.session.scalar(db.select(SlaRule).filter_by(estate_id=estate_id, kind=kind, severity=severity,
                                                         clock=clock))
    if row is None:
        row = SlaRule(estate_id=estate_id, kind=kind, severity=severity, clock=clock)
        db.session.add(row)
    row.amount, row.unit = amount, unit
    g.pop("_sla_rules", None)
