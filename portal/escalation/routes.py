"""The escalation board: open manager alerts, acknowledged or acted on in place."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.access import can_view, role_required, visible_cases_clause
from portal.cases.lifecycle import can
from portal.cases.service import action_form, action_label, submit_action
from portal.escalation import bp
from portal.escalation.forms import AcknowledgeForm, BulkAcknowledgeForm, EscalationFilterForm
from portal.extensions import db
from portal.forms import validated
from portal.htmx import render, targets
from portal.models import Alert, Case, CaseEvent, Role
from portal.models.cases import OPEN_STATUSES
from portal.pagination import Page, paginate
from portal.sla import alerts
from portal.templating import TimeLeft
from portal.timeutil import as_utc, utcnow

CASE_ACTIONS = ("take_over", "reassign", "instruct")


def alert_query(values: dict, user):
    """Escalations (level ≥ 1) on cases the user may see, narrowed by the validated filter values."""
    stmt = select(Alert).join(Case, Alert.case_id == Case.id).where(Alert.level >= 1, visible_cases_clause(user))
    show = values.get("show") or "open"
    if show in ("open", "unacknowledged"):
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    if show == "open":
        stmt = stmt.where(Case.status.in_(OPEN_STATUSES))
    elif show == "acknowledged":
        stmt = stmt.where(Alert.acknowledged_at.is_not(None))
    if values.get("level"):
        stmt = stmt.where(Alert.level == int(values["level"]))
    if values.get("rule"):
        stmt = stmt.where(Alert.rule == values["rule"])
    # Unanswered ones oldest first (they have waited longest); history newest first.
    order = ((Alert.level.desc(), Alert.created_at.asc()) if show in ("open", "unacknowledged")
             else (Alert.created_at.desc(),))
    return stmt.order_by(*order, Alert.id)


def alert_page(stmt, page: int, size: int) -> Page:
    """One count and one page query; cases, departments and owners joined."""
    return paginate(stmt.options(
        joinedload(Alert.case).joinedload(Case.department), joinedload(Alert.case).joinedload(Case.owner),
        joinedload(Alert.acknowledged_by)), page, size)


def latest_instructions(case_ids) -> dict[int, CaseEvent]:
    """The newest manager instruction of each case, in one query."""
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(set(case_ids)),
                                                        CaseEvent.action == "instruct")
                                .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())).all()
    latest: dict[int, CaseEvent] = {}
    for e in events:
        latest.setdefault(e.case_id, e)
    return latest


def overdue_for(alert: Alert, now=None) -> str:
    """How long the missed deadline behind the escalation is overdue ("overdue 2d 4h"), not the row's age.

    The escalation's own deadline (due_at) is the one the rule watched; an old row without one
    falls back to the case's current deadline.
    """
    due = alert.due_at or alert.case.due_at
    return TimeLeft()(as_utc(due), now or utcnow()) if due else "—"


def row_forms(alert: Alert, failed: tuple[str, object] | None = None) -> dict:
    """The forms a row offers now; a failed one comes back with its messages and input."""
    case, forms = alert.case, {}
    if alert.acknowledged_at is None:
        forms["acknowledge"] = AcknowledgeForm(formdata=None, prefix=f"ack{alert.id}")
    for name in CASE_ACTIONS:
        if can(current_user, case, name) and not (name == "take_over" and case.owner_id == current_user.id):
            forms[name] = action_form(name, case)
    if "reassign" in forms:
        forms["reassign"].department_id.data = 0  # a reassignment is a choice, never a default
    if failed is not None:
        forms[failed[0]] = failed[1]
    return forms


def row_context(failed_alert: int | None = None, failed=None) -> dict:
    return {"overdue_for": overdue_for, "rule_label": alerts.rule_label, "levels": alerts.LEVELS,
            "row_forms": lambda a: row_forms(a, failed if a.id == failed_alert else None),
            "open_row": failed_alert}


def board_context(failed_alert: int | None = None, failed=None) -> dict:
    """Filters, the page of alerts and what each row needs, from the query string."""
    form = EscalationFilterForm(formdata=request.args)
    form.validate()
    values = validated(form)
    page = alert_page(alert_query(values, current_user), values.get("page", 1), current_app.config["BOARD_PAGE_SIZE"])
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return {"filters": form, "page": page, "bulk_ack": BulkAcknowledgeForm(formdata=None), "list_args": args, "filters_open": bool(args),
            "instructions": latest_instructions(a.case_id for a in page.items),
            **row_context(failed_alert, failed)}


@bp.route("/escalations")
@role_required(Role.MANAGER)
def escalations():
    """Open escalations with their case, rule, level, age and owner; filter, page, act in place."""
    return render("escalation/escalations.html", "escalation/_list.html", "escalation-list", **board_context())


def _get_alert_or_404(alert_id: int) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None or alert.level < 1 or not can_view(current_user, alert.case):
        abort(404)
    return alert


def _answer(alert: Alert, ok: bool, name: str, form, notice: str | None):
    """The row for htmx, else a redirect (done) or the whole board with the form open (failed)."""
    failed = None if ok else (name, form)
    if targets(f"alert-{alert.id}"):
        instructions = latest_instructions([alert.case_id])
        return render_template("escalation/_row.html", alert=alert, notice=notice, instructions=instructions,
                               **row_context(alert.id, failed))
    if ok:
        flash(notice, "success")
        return redirect(url_for("escalation.escalations"))
    return render("escalation/escalations.html", "escalation/_list.html", "escalation-list",
                  **board_context(alert.id, failed))


@bp.route("/escalations/<int:alert_id>/acknowledge", methods=["POST"])
@role_required(Role.MANAGER)
def acknowledge(alert_id: int):
    """Mark an escalation as seen, with an optional note; who and when are recorded."""
    alert = _get_alert_or_404(alert_id)
    form = AcknowledgeForm(prefix=f"ack{alert.id}")
    ok = form.validate_on_submit()
    if ok:
        done = alerts.acknowledge(alert, current_user, form.note.data or "")
        db.session.commit()
        notice = _("Acknowledged.") if done else _("Already acknowledged by %(who)s.",
                                                    who=alert.acknowledged_by.display_name)
        return _answer(alert, True, "acknowledge", form, notice)
    return _answer(alert, False, "acknowledge", form, None)


@bp.route("/escalations/acknowledge", methods=["POST"])
@role_required(Role.MANAGER)
def acknowledge_bulk():
    """Acknowledge the selected escalations (each scope-checked); say how many, and which were already seen."""
    form = BulkAcknowledgeForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
        return redirect(url_for("escalation.escalations", **request.args))
    done = already = missing = 0
    for alert_id in list(dict.fromkeys(form.alert_ids.data))[:500]:
        alert = db.session.get(Alert, alert_id) if 0 < alert_id < 2**31 else None
        if alert is None or alert.level < 1 or not can_view(current_user, alert.case):
            missing += 1
        elif alerts.acknowledge(alert, current_user, form.note.data or ""):
            done += 1
        else:
            already += 1
    db.session.commit()
    flash(_("%(n)d escalations acknowledged.", n=done), "success")
    if already:
        flash(_("%(n)d were already acknowledged.", n=already), "info")
    if missing:
        flash(_("%(n)d were not found.", n=missing), "error")
    return redirect(url_for("escalation.escalations", **request.args))


@bp.route("/escalations/<int:alert_id>/act/<any(take_over, reassign, instruct):action>", methods=["POST"])
@role_required(Role.MANAGER)
def act(alert_id: int, action: str):
    """Take over, reassign or instruct on the alert's case through the case lifecycle."""
    alert = _get_alert_or_404(alert_id)
    form = action_form(action, alert.case, submitted=True)
    outcome = submit_action(alert.case, current_user, action, form)
    notice = _("Done: %(action)s.", action=action_label(action)) if outcome.ok else None
    return _answer(alert, outcome.ok, action, form, notice)
