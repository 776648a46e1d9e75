"""Dashboard, monthly report, exports and the residents' disclosure page."""
from __future__ import annotations

import os

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import settings
from portal.access import (
    ALL_ROLES, STAFF, estate_ids, get_estate_row_or_404, public, role_required, visible_cases_clause,
)
from portal.board.filters import filter_form, filter_values
from portal.board.query import filtered
from portal.extensions import db
from portal.htmx import render, targets
from portal.models import ImprovementAction, ReportRun, Role, RunStatus
from portal.reports import bp, disclosure, export, report, stats
from portal.reports import commands  # noqa: F401  (CLI)
from portal.reports.forms import ActionForm, FollowUpForm, GenerateForm, ScopeForm, site_choices
from portal.reports.periods import Scope, current_month, parse_month, shift

MANAGER = (Role.MANAGER,)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The board filter behind each rate tile (the figures themselves cover the month's cases).
BOARD_ARGS = {"first_reply": {}, "resolution": {}, "callback_complaint": {"kind": "complaint"},
              "callback": {}, "satisfaction": {}, "solved": {}, "adoption": {"kind": "suggestion"}}


def _scope(default_month: str | None = None) -> tuple[Scope, ScopeForm]:
    """The month and site from the query string (bad values fall back to this month, all sites)."""
    form = ScopeForm(request.args)
    form.site.choices = site_choices(current_user)
    form.validate()
    month = parse_month(form.month.data if not form.month.errors else None, default_month)
    site = int(form.site.data) if not form.site.errors and str(form.site.data or "").strip().isdigit() else None
    if site is None and estate_ids(current_user) is not None:  # an estate manager: their (first) site
        site = int(form.site.choices[0].value) if form.site.choices else abort(403)
        form.site.data = str(site)
    form.month.data = month
    return Scope(month, site), form


def _board_url(scope: Scope, **filters) -> str:
    """The board filtered to the cases behind a figure (received in the month)."""
    args = {k: v for k, v in filters.items() if v not in (None, "")}
    if scope.estate_id:
        args.setdefault("site", scope.estate_id)
    return url_for("board.board", date_from=scope.start.date().isoformat(),
                   date_to=scope.last_day.isoformat(), **args)


def _common(scope: Scope, form: ScopeForm) -> dict:
    return {"scope": scope, "scope_form": form, "names": stats.names(), "board_url": _board_url,
            "rate_labels": stats.RATE_LABELS, "board_args": BOARD_ARGS}


@bp.route("/reports")
@role_required(*MANAGER)
def dashboard():
    """The month at a glance against the targets, with lists and staff performance."""
    scope, form = _scope()
    data = report.build(scope, with_trend=False, with_previous=False)
    return render_template("reports/dashboard.html", data=data, **_common(scope, form))


@bp.route("/reports/trend")
@role_required(*MANAGER)
def trend():
    """The 12-month trend panel, loaded when the dashboard shows it (the slowest aggregation)."""
    scope, form = _scope()
    return render("reports/trend.html", "reports/_trend.html", "trend-box", points=stats.trend(scope),
                  **_common(scope, form))


@bp.route("/reports/monthly")
@role_required(*MANAGER)
def monthly():
    """The printable monthly analysis report (last generated snapshot) with improvement actions."""
    scope, form = _scope(shift(current_month(), -1))
    return _monthly_page(scope, form)


def _monthly_page(scope: Scope, form: ScopeForm, failed: FollowUpForm | None = None):
    """The report page; a follow-up that failed validation comes back in place, filled, with its messages."""
    run = report.latest_run(scope)

    def follow_up_form(prefix: str, obj):
        if failed is not None and failed._prefix == f"{prefix}-":
            return failed
        return FollowUpForm(formdata=None, prefix=prefix, obj=obj)

    return render_template("reports/monthly.html", run=run, data=report.snapshot(run),
                           actions=report.actions(scope), follow_ups=report.follow_ups(scope),
                           action_form=ActionForm(formdata=None) if failed is not None else ActionForm(),
                           generate_form=GenerateForm(), follow_up_form=follow_up_form,
                           scope_endpoint="reports.monthly", **_common(scope, form))


@bp.route("/reports/monthly/generate", methods=["POST"])
@role_required(*MANAGER)
def generate():
    """Queue the report generation; the page shows its progress."""
    scope, _form = _scope()
    if GenerateForm().validate_on_submit():
        report.start_run(scope, current_user)
        db.session.commit()
    return redirect(url_for("reports.monthly", month=scope.month, site=scope.estate_id or ""))


@bp.route("/reports/runs/<int:run_id>/progress")
@role_required(*MANAGER)
def progress(run_id: int):
    """Polled while a generation runs; a finished run refreshes the page."""
    run = get_estate_row_or_404(ReportRun, run_id)
    response = render("reports/progress.html", "reports/_progress.html", "report-progress", run=run)
    if targets("report-progress") and run.status in (RunStatus.DONE, RunStatus.FAILED):
        response.headers["HX-Refresh"] = "true"
    return response


@bp.route("/reports/actions", methods=["POST"])
@role_required(*MANAGER)
def add_action():
    """A manager writes an improvement action for the month."""
    scope, _form = _scope()
    form = ActionForm()
    if form.validate_on_submit():
        report.add_action(scope, current_user, form.data)
        db.session.commit()
        flash(_("Improvement action saved."), "success")
    else:
        flash(_("Write the problem and the action."), "error")
    return redirect(url_for("reports.monthly", month=scope.month, site=scope.estate_id or "") + "#actions")


@bp.route("/reports/actions/<int:action_id>", methods=["POST"])
@role_required(*MANAGER)
def update_action(action_id: int):
    """Follow an improvement action up: status and what happened."""
    row = get_estate_row_or_404(ImprovementAction, action_id)
    form = FollowUpForm(prefix=f"a{row.id}")
    back = parse_month(request.form.get("month") or row.month)
    if not form.validate_on_submit():
        flash(_("The follow-up was not saved: see the marked field."), "error")
        scope_form = _scope(back)[1]
        scope_form.site.data = str(row.estate_id) if row.estate_id else ""
        return _monthly_page(Scope(back, row.estate_id), scope_form, failed=form)
    report.follow_up(row, form.data)
    db.session.commit()
    flash(_("Follow-up saved."), "success")
    return redirect(url_for("reports.monthly", month=back, site=row.estate_id or "") + "#actions")


@bp.route("/reports/monthly.xlsx")
@role_required(*MANAGER)
def monthly_xlsx():
    """The cases and callbacks behind a month's report, as a workbook."""
    scope, _form = _scope(shift(current_month(), -1))
    path = export.month_file(scope)
    name = f"report-{scope.month}{'-site' + str(scope.estate_id) if scope.estate_id else ''}-{export.stamp()}.xlsx"
    response = Response(export.stream(path), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename={name}", "Content-Length": str(os.path.getsize(path))})
    response.call_on_close(lambda: export.remove(path))
    return response


@bp.route("/board/export.csv")
@role_required(*STAFF, Role.DEPARTMENT)
def board_csv():
    """The board's current view (same filters, same visibility) as CSV."""
    form = filter_form(request.args, current_user)
    stmt = filtered(visible_cases_clause(current_user), filter_values(form), current_user.id)
    return Response(stream_with_context(export.csv_lines(stmt)), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=cases-{export.stamp()}.csv"})


def _disclosure(scope: Scope):
    return render_template("reports/disclosure.html", scope=scope, data=disclosure.aggregates(scope),
                           months=[shift(current_month(), -k) for k in range(0, 12)])


@bp.route("/disclosure")
@role_required(*ALL_ROLES)
def disclosure_page():
    """Complaint handling disclosed to residents: anonymous aggregates of the month."""
    month = parse_month(request.args.get("month"), shift(current_month(), -1))
    if current_user.role == Role.RESIDENT:
        site = disclosure.resident_site(current_user)
    else:  # staff: their (first) site unless they work for the whole company
        mine = site_choices(current_user)
        site = None if estate_ids(current_user) is None or not mine else int(mine[0].value)
    return _disclosure(Scope(month, site))


@bp.route("/public/disclosure")
@public
def public_disclosure():
    """The same page without login when managers publish it; otherwise the logged-in page."""
    if not settings.get("disclosure_public"):
        return redirect(url_for("reports.disclosure_page", month=request.args.get("month")))
    return _disclosure(Scope(parse_month(request.args.get("month"), shift(current_month(), -1))))
