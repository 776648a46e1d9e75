"""The deadline area's lifecycle subscribers: clocks, immediate escalations, resident notices."""
from __future__ import annotations

from datetime import datetime

from portal.cases.lifecycle import acted
from portal.extensions import db
from portal.models import Case, CaseEvent, Kind, Severity, Status
from portal.notify.jobs import delivered
from portal.sla import alerts, clocks, deadlines, notices


def detect_repeat(case: Case) -> bool:
    """The resident's previous complaint was about the same category at the same place."""
    if case.kind != Kind.COMPLAINT or case.resident_id is None or case.category_id is None:
        return False
    prev = db.session.scalar(
        db.select(Case).where(Case.resident_id == case.resident_id, Case.id != case.id,
                              Case.kind == Kind.COMPLAINT, Case.received_at <= case.received_at)
        .order_by(Case.received_at.desc(), Case.id.desc()).limit(1)
    )
    return (prev is not None and prev.category_id == case.category_id and prev.unit_id == case.unit_id
            and prev.location_type == case.location_type
            and (prev.location or "").strip() == (case.location or "").strip())


def immediate_rules(case: Case) -> list[str]:
    """Rules that notify the manager at once (SPEC §5)."""
    rules = []
    if case.kind == Kind.COMPLAINT and case.severity == Severity.MAJOR:
        rules.append("major")
    if case.group_complaint:
        rules.append("group")
    if case.agitated:
        rules.append("agitated")
    if case.repeat:
        rules.append("repeat")
    if case.reopen_count >= 2:
        rules.append("reopened_twice")
    return rules


def on_action(name: str, *, case: Case, user, before: Status | None, event: CaseEvent, at: datetime) -> None:
    """Subscriber to every lifecycle action: repeat flag, clocks, immediate escalations."""
    if name in ("register", "classify"):
        case.repeat = case.repeat or detect_repeat(case)
    clocks.apply(case, name, user, before, event.public, at)
    db.session.flush()
    rules = immediate_rules(case)
    if rules:
        alerts.fire([alerts.firing_for(case, rule) for rule in rules], at)


def on_notice_delivered(kind: str, *, notification, **_kw) -> None:
    """A delivered invalid-verdict notice answers the case's notice deadline."""
    if notification.case is not None:
        deadlines.meet(notification.case, {"invalid_notice"}, notification.sent_at)
        deadlines.summarise(notification.case)


def init_app(app) -> None:
    """Connect the deadline and resident-notice subscribers (called by `create_app`)."""
    acted.connect(on_action, weak=False)
    delivered.connect(on_notice_delivered, sender="resident_invalid", weak=False)
    for name in notices.RESIDENT_NOTICES:
        acted.connect(notices.notify_resident, sender=name, weak=False)
