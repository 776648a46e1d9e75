"""Resident and shared views of a case: file, receipt, detail, actions, photos, slip."""
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import org
from portal.access import ALL_ROLES, get_attachment_or_404, get_case_or_404, may_act, role_required
from portal.board.listing import case_list
from portal.cases import bp
from portal.cases.forms import ACTION_FORMS
from portal.cases.intake import register_case
from portal.cases.lifecycle import ACTIONS, allowed_actions
from portal.cases.service import action_form, new_case_form, submit_action
from portal.cases.uploads import UploadError, path_of, save_photos, validate_photos
from portal.extensions import db
from portal.htmx import render, targets
from portal.models import Case, CaseEvent, Channel, Role
from sqlalchemy.orm import joinedload, selectinload


@bp.route("/my/cases")
@role_required(Role.RESIDENT)
def my_cases():
    """The resident's own cases, searchable and paged."""
    return case_list(current_user, "cases.my_cases", "cases/my_cases.html", row_menu=False)


@bp.route("/cases/new", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
def new_case():
    """A resident files a case; bad input comes back with everything kept."""
    form = new_case_form(current_user)
    if form.validate_on_submit():
        photo_errors = validate_photos(form.photos.data)
        if not photo_errors:
            case = register_case(
                actor=current_user, resident=current_user, kind=form.kind.data, channel=Channel.ONLINE,
                description=form.description.data, location_type=form.location_type.data,
                location=form.location.data or "", request=form.request.data or "",
                category_id=form.category_id.data or None, contact_phone=form.contact_phone.data or "",
                unit_id=form.chosen_unit(),
            )
            try:
                save_photos(case, current_user, form.photos.data)
                db.session.commit()
                return redirect(url_for("cases.receipt", case_id=case.id))
            except UploadError as exc:
                db.session.rollback()
                photo_errors = [str(exc)]
        form.photos.errors = list(form.photos.errors) + photo_errors
    if request.method == "POST" and not form.category_id.errors and not form.category_id.data:
        form.category_id.errors = [_("Choose a category.")]
    return render_template("cases/new.html", form=form)


@bp.route("/cases/<int:case_id>/receipt")
@role_required(*ALL_ROLES)
def receipt(case_id: int):
    """The acknowledgement receipt with the case number, shown right after filing."""
    return render_template("cases/receipt.html", case=get_case_or_404(case_id))


# What the case page shows, loaded with the case in five statements instead of one per relation.
DETAIL_LOADING = (
    joinedload(Case.category), joinedload(Case.department), joinedload(Case.unit), joinedload(Case.resident),
    selectinload(Case.events).joinedload(CaseEvent.actor), selectinload(Case.deadlines),
    selectinload(Case.attachments),
)


def _case_context(case, submitted=None):
    actions = [a for a in allowed_actions(current_user, case) if may_act(current_user, case, a.name)]
    if submitted is not None and submitted.meta_name not in {a.name for a in actions}:
        # The action lost a race: still show its message and everything typed.
        actions.append(ACTIONS[submitted.meta_name])
    forms = {a.name: (submitted if submitted is not None and submitted.meta_name == a.name
                      else action_form(a.name, case)) for a in actions}
    events = [e for e in case.events if e.public or current_user.role != Role.RESIDENT]
    phrases = []
    if any(a.name == "acknowledge" for a in actions):
        phrases = org.phrases_for(case.estate_id)
    return {"case": case, "actions": actions, "forms": forms, "events": events, "phrases": phrases,
            "open_action": submitted.meta_name if submitted is not None else None}


@bp.route("/cases/<int:case_id>")
@role_required(*ALL_ROLES)
def detail(case_id: int):
    """The case with its timeline and the actions this user may take."""
    case = get_case_or_404(case_id, *DETAIL_LOADING)
    return render("cases/detail.html", "cases/_case.html", "case-body", **_case_context(case))


@bp.route("/cases/<int:case_id>/act/<name>", methods=["POST"])
@role_required(*ALL_ROLES)
def act(case_id: int, name: str):
    """Apply one lifecycle action; answers with the row, the case body or a redirect."""
    case = get_case_or_404(case_id)
    if name not in ACTION_FORMS:
        abort(404)
    if not may_act(current_user, case, name):
        abort(403)
    form = action_form(name, case, submitted=True)
    form.meta_name = name
    outcome = submit_action(case, current_user, name, form)
    done = _("Done: %(action)s.", action=ACTIONS[name].label) if outcome.ok else None
    if targets(f"row-{case.id}"):
        from portal.board.routes import render_row
        return render_row(case, None if outcome.ok else form, name, notice=done)
    if outcome.ok and not targets("case-body"):
        flash(done, "success")
        return redirect(url_for("cases.detail", case_id=case.id, _anchor="case-actions"))
    response = render("cases/detail.html", "cases/_case.html", "case-body", notice=done,
                      **_case_context(case, None if outcome.ok else form))
    if outcome.ok:
        # On a phone the case body is taller than the screen: bring the confirmation into view.
        response.headers["HX-Reswap"] = "outerHTML show:#action-notice:top"
    return response


@bp.route("/attachments/<int:attachment_id>")
@role_required(*ALL_ROLES)
def attachment(attachment_id: int):
    """A photo, only to those who may see its case."""
    att = get_attachment_or_404(attachment_id)
    return send_file(path_of(att), mimetype=att.content_type, download_name=att.filename,
                     max_age=3600)


@bp.route("/cases/<int:case_id>/slip")
@role_required(Role.CLERK, Role.MANAGER, Role.DEPARTMENT)
def slip(case_id: int):
    """The numbered work contact slip 工作联系单, three copies on one printout."""
    case = get_case_or_404(case_id)
    copies = [_("Property company copy"), _("Engineering copy"), _("Customer-service centre copy")]
    return render_template("cases/slip.html", case=case, copies=copies)
