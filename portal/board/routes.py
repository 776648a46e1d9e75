"""The complaint board for clerks and managers, and the row actions every work list shares."""
from flask import abort, flash, get_template_attribute, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from markupsafe import Markup

from portal.access import STAFF, get_case_or_404, role_required
from portal.board import bp
from portal.board.bulk import run_bulk
from portal.board.forms import BulkForm, DeleteViewForm, SaveViewForm
from portal.board.listing import case_list
from portal.board.views import WORKING, save_view, tabs, too_many
from portal.board.rows import ROW_ACTIONS, case_row, row_urls
from portal.cases.service import action_form, action_phrases, category_choices, department_choices
from portal import stamp
from portal.extensions import db
from portal.forms import get_by_id
from portal.htmx import respond, targets
from portal.labels import choices, opts, SEVERITY
from portal.models import SavedView
from portal.cases.lifecycle import can
from portal.models import Role
from portal.scopes import scope_key

# What a row offers, filtered by role and state: the desk classifies, dispatches
# and closes; a department accepts from its queue without opening the case.
ROW_ROLES = (Role.CLERK, Role.MANAGER, Role.DEPARTMENT)


def row_forms(case, failed=None, failed_name=None) -> dict:
    """Inline forms for a row: those of ROW_ACTIONS this user may take now."""
    forms = {}
    for name in ROW_ACTIONS:
        if failed is not None and name == failed_name:
            forms[name] = failed  # shown even if the action lost a race, with its message
        elif name == "dispatch" and (case.category_id is None or case.severity is None):
            continue  # dispatch is offered once the case is classified
        elif can(current_user, case, name):
            forms[name] = action_form(name, case)
    return forms


def render_row(case, failed_form=None, failed_name=None, notice=None):
    """One board row after an inline action; a failed one comes back open with its message."""
    forms = row_forms(case, failed_form, failed_name) if failed_form is not None else {}
    staff = current_user.role in STAFF
    row = get_template_attribute("board/_row.html", "row")
    labels = get_template_attribute("board/_labels.html", "L")
    return row(case_row(case, current_user.role), labels, row_urls(), staff, staff, True,
               row_forms=forms, notice=notice, row_phrases=action_phrases(case, current_user, forms))


@bp.route("/board/rows/<int:case_id>/actions")
@role_required(*ROW_ROLES)
def row_actions(case_id: int):
    """The inline forms of one board row, loaded when its menu is opened."""
    case = get_case_or_404(case_id)
    forms = row_forms(case)
    return render_template("board/_row_forms.html", case=case, row_forms=forms,
                           row_phrases=action_phrases(case, current_user, forms))


def bulk_form() -> BulkForm:
    """The bulk-action form with the categories, severities and departments of the user's estates."""
    form = BulkForm()
    form.category_id.choices = opts([(0, _("— choose —"))] + category_choices(current_user))
    form.severity.choices = opts([("", _("— choose —"))]) + choices(SEVERITY)
    form.department_id.choices = opts([(0, _("— the category's department —"))] + department_choices(current_user))
    return form


def bulk_fields(bulk: BulkForm | None) -> Markup:
    """The bulk form's fields: as submitted (values and errors kept), or the empty form, which depends only
    on the category and department lists of the user's estates and the language: kept under the reference stamp."""
    if bulk is not None:
        return Markup(render_template("board/_bulk_fields.html", bulk=bulk))
    key = ("bulk", stamp.minute(), str(get_locale()), scope_key(current_user))
    return Markup(stamp.reference_cached(key, lambda: render_template(
        "board/_bulk_fields.html", bulk=bulk_form())))


def board_context(results=None, bulk=None) -> dict:
    """What the board page shows around the list: view tabs, the save-view and bulk forms."""
    return {"view_tabs": tabs(current_user, request.args), "save_form": SaveViewForm(formdata=None),
            "delete_form": DeleteViewForm(formdata=None), "bulk": bulk, "bulk_fields": bulk_fields(bulk),
            "results": results}


@bp.route("/board")
@role_required(*STAFF)
def board():
    """The desk's working view (open cases, nearest deadline first), other views, filters, paging, bulk actions."""
    return case_list(current_user, "board.board", "board/board.html", board=True, defaults=WORKING,
                     page_context=board_context)


@bp.route("/board/bulk", methods=["POST"])
@role_required(*STAFF)
def bulk():
    """Classify or dispatch the selected cases, one by one through the action table; report each."""
    form = bulk_form()
    results = None
    if form.validate_on_submit():
        data = {"category_id": form.category_id.data or None, "severity": form.severity.data or None,
                "department_id": form.department_id.data or None, "note": form.note.data or ""}
        results = run_bulk(current_user, form.action.data, form.case_ids.data, data)
    if targets("bulk-results"):
        response = respond(render_template("board/_bulk_results.html", results=results, bulk=form))
        response.headers["HX-Trigger"] = "cases-changed"
        return response
    return case_list(current_user, "board.board", "board/board.html", board=True, defaults=WORKING,
                     page_context=lambda: board_context(results, form))


@bp.route("/board/views", methods=["POST"])
@role_required(*STAFF)
def save_board_view():
    """Save the board's current filters under a name, for this user only."""
    form = SaveViewForm()
    if form.validate_on_submit():
        name = form.name.data.strip()
        if too_many(current_user) and db.session.scalar(
                db.select(SavedView.id).where(SavedView.user_id == current_user.id, SavedView.name == name)) is None:
            flash(_("You already have 20 saved views: remove one first."), "error")
        else:
            view = save_view(current_user, name, form.query.data or "")
            db.session.commit()
            flash(_("View “%(name)s” saved.", name=name), "success")
            return redirect(url_for("board.board") + ("?" + view.query if view.query else ""))
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    query = form.query.data or ""
    return redirect(url_for("board.board") + ("?" + query if query else ""))


@bp.route("/board/views/<int:view_id>/delete", methods=["POST"])
@role_required(*STAFF)
def delete_board_view(view_id: int):
    """Remove one of the user's own saved views."""
    view = get_by_id(SavedView, view_id)
    if view is None or view.user_id != current_user.id:
        abort(404)
    if DeleteViewForm().validate_on_submit():
        db.session.delete(view)
        db.session.commit()
        flash(_("View removed."), "success")
    return redirect(url_for("board.board"))
