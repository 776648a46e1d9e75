"""Managers' service-level pages: the policy table and the holiday schedule."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from portal import audit
from portal.access import role_required
from portal.admin.scope import chosen_estate
from portal.extensions import db
from portal.models import Kind, Role, SlaRule
from portal.sla import bp, calendar, policy
from portal.sla.forms import ScheduleForm, policy_form
from portal.timeutil import local_now

SOURCES = {"manual": _l("Entered by a manager"), "library": _l("Official data (built in)"),
           "weekends": _l("Weekends only — holidays and make-up days missing")}


def _kind() -> str:
    kind = request.args.get("kind") or Kind.COMPLAINT.value
    if kind not in {k.value for k in Kind}:
        abort(404)
    return kind


def save_changes(kind: str, form, actor=None, estate_id: int | None = None) -> int:
    """Store the cells that differ from the level in force (the company's, or in the estate), each audited;
    returns how many (the caller commits)."""
    changed = 0
    for severity, clock, amount_field, unit_field in form.cells():
        wanted = policy.Level(amount_field.amount, unit_field.data)
        current = policy.level(kind, severity, clock, estate_id)
        same = (wanted.amount is None and current.amount is None) or wanted == current
        if not same:
            policy.save(kind, severity, clock, wanted.amount, wanted.unit, estate_id=estate_id)
            audit.record(actor, "service_level", f"{kind}/{severity}/{clock}", "update",
                         before={"amount": current.amount, "unit": current.unit},
                         after={"amount": wanted.amount, "unit": wanted.unit}, estate_id=estate_id,
                         summary=f"{kind} {severity} {clock}")
            changed += 1
    return changed


@bp.route("/admin/deadlines", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def deadlines():
    """Service levels per kind: severities by clocks, defaults marked; bad cells come back kept."""
    kind = _kind()
    estate_id, estates = chosen_estate(current_user, request.args.get("estate", type=int))
    form = policy_form(kind, estate_id)
    if form.validate_on_submit():
        changed = save_changes(kind, form, current_user, estate_id)
        db.session.commit()
        flash(_("%(n)d service level(s) changed; new deadlines use them from now on.", n=changed), "success")
        return redirect(url_for("sla.deadlines", kind=kind, estate=estate_id))
    owner = SlaRule.estate_id.is_(None) if estate_id is None else SlaRule.estate_id == estate_id
    overridden = {(r.severity, r.clock) for r in db.session.scalars(select(SlaRule).where(SlaRule.kind == kind,
                                                                                          owner))}
    return render_template("sla/deadlines.html", form=form, kind=kind, kinds=list(Kind), estate_id=estate_id,
                           estates=estates, owner_args={"kind": kind}, owner_endpoint="sla.deadlines",
                           overridden=overridden, clocks=policy.POLICY_CLOCKS, clock_labels=policy.CLOCKS,
                           units=policy.UNITS, default=policy.default)


def _schedule_errors(form, year: int) -> bool:
    """Parse both boxes, putting each message beside its box; True when both are clean."""
    for field, working in ((form.holidays, False), (form.workdays, True)):
        try:
            calendar.parse_schedule(year, field.data or "", working)
        except calendar.ScheduleError as exc:
            field.errors = list(field.errors) + [str(exc.message)]
    return not (form.holidays.errors or form.workdays.errors)


@bp.route("/admin/calendar", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def calendar_page():
    """This year and the next two with where their working days come from; edit one year's schedule."""
    this_year = local_now().year
    years = [this_year, this_year + 1, this_year + 2]
    year = request.args.get("year", type=int) or next(
        (y for y in years if calendar.load().source(y) == "weekends"), this_year)
    if year not in years:
        abort(404)
    form = ScheduleForm()
    if form.validate_on_submit() and _schedule_errors(form, year):
        before = {"holidays": calendar.schedule_text(year, False), "workdays": calendar.schedule_text(year, True)}
        try:
            stored = calendar.save_schedule(year, form.holidays.data or "", form.workdays.data or "")
        except calendar.ScheduleError as exc:
            form.workdays.errors = list(form.workdays.errors) + [str(exc.message)]
        else:
            audit.record(current_user, "calendar", year, "update", before=before, after={
                "holidays": calendar.schedule_text(year, False), "workdays": calendar.schedule_text(year, True)},
                summary=str(year))
            db.session.commit()
            flash(_("Schedule for %(year)d saved: %(n)d day(s).", year=year, n=stored) if stored else
                  _("The schedule entered for %(year)d was removed.", year=year), "success")
            return redirect(url_for("sla.calendar_page", year=year))
    cal = calendar.load()
    if request.method == "GET" and cal.source(year) == "manual":
        form.holidays.data = calendar.schedule_text(year, False)
        form.workdays.data = calendar.schedule_text(year, True)
    rows = [(y, cal.source(y)) for y in years]
    return render_template("sla/calendar.html", form=form, year=year, rows=rows, sources=SOURCES,
                           source=cal.source(year))
