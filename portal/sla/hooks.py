"""What happens around every lifecycle action: clocks, immediate escalations, resident notices."""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from portal.extensions import db
from portal.models import Case, CaseEvent, Kind, Severity, Status
from portal.notify import outbox
from portal.sla import alerts, deadlines

RESIDENT_NOTICES = {"acknowledge", "plan", "complete", "mark_invalid"}


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


def _resident_notice(case: Case, name: str, event: CaseEvent) -> None:
    if case.resident is None or name not in RESIDENT_NOTICES:
        return
    with force_locale("zh_Hans_CN"):
        subjects = {
            "acknowledge": _("Your case %(number)s has been received", number=case.number),
            "plan": _("Plan for your case %(number)s", number=case.number),
            "complete": _("Your case %(number)s is resolved: please confirm", number=case.number),
            "mark_invalid": _("Your case %(number)s was judged invalid", number=case.number),
        }
        subject = subjects[name]
    kind = "resident_invalid" if name == "mark_invalid" else f"resident_{name}"
    outbox.notify([case.resident], kind, subject, event.note or "", f"event:{event.id}", case.id)


def on_action(case: Case, name: str, user, before: Status | None, event: CaseEvent) -> None:
    """Called by `perform` and `register_case` after the event is recorded; the caller commits."""
    if name in ("register", "classify"):
        case.repeat = case.repeat or detect_repeat(case)
    deadlines.after_action(case, name, user, before, event.public)
    db.session.flush()
    rules = immediate_rules(case)
    if rules:
        alerts.fire([alerts.firing_for(case, rule) for rule in rules])
    _resident_notice(case, name, event)
