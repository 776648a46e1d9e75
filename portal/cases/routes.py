"""Resident and shared views of a case: file, receipt, detail, actions, photos, slip."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import privacy
from portal.access import ALL_ROLES, get_attachment_or_404, get_case_or_404, may_act, role_required
from portal.board.listing import case_list
from portal.cases import bp
from portal.cases.forms import ACTION_FORMS
from portal.cases.intake import register_case
from portal.cases.lifecycle import ACTIONS, allowed_actions
from portal.cases.service import action_form, action_phrases, new_case_form, submit_action
from portal.cases.slip import slip_context
from portal.cases.uploads import check_photos, commit_with_photos, serve, too_large_message
from portal.extensions import db
from portal.htmx import render, targets
from portal.models import Case, CaseEvent, Channel, Role
from portal.timeutil import utcnow
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
        photos = check_photos(form.photos.data, current_user)
        if not photos.errors:
            case = register_case(
                actor=current_user, resident=current_user, kind=form.kind.data, channel=Channel.ONLINE,
                description=form.description.data, location_type=form.location_type.data,
                location=form.location.data or "", request=form.request.data or "",
                category_id=form.category_id.data or None, contact_phone=form.contact_phone.data or "",
                unit_id=form.chosen_unit(),
            )
            photos.errors = commit_with_photos(case, current_user, photos)
            if not photos.errors:
                return redirect(url_for("cases.receipt", case_id=case.id))
        form.photos.errors = list(form.photos.errors) + photos.errors
    return render_template("cases/new.html", form=form)


@bp.errorhandler(413)
def too_large(error):
    """A body beyond MAX_CONTENT_LENGTH cannot be read: the form again, the limits beside the photo field."""
    message = too_large_message()
    if request.endpoint == "cases.new_case" and current_user.is_authenticated and current_user.role == Role.RESIDENT:
        form = new_case_form(current_user, blank=True)
        form.photos.errors = [message]
        return render_template("cases/new.html", form=form), 413
    page = "errors/_message.html" if request.headers.get("HX-Request") == "true" else "errors/error.html"
    return render_template(page, code=413, message=message), 413


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
    phrases = action_phrases(case, current_user, [a.name for a in actions])
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
    """A photo (`?size=thumb`: its thumbnail), only to those who may see its case."""
    return serve(get_attachment_or_404(attachment_id), thumb=request.args.get("size") == "thumb")


@bp.route("/cases/<int:case_id>/phone", methods=["POST"])
@role_required(Role.DEPARTMENT)
def reveal_phone(case_id: int):
    """Show department staff the complainant's number to dial, and log who did, when (SPEC §9)."""
    case = get_case_or_404(case_id)
    if not privacy.needs_reveal(current_user, case) or not privacy.phone_of(case):
        abort(404)
    number = privacy.reveal(current_user, case, utcnow(), request.remote_addr or "")
    db.session.commit()
    return render("cases/call.html", "cases/_phone.html", f"phone-{case.id}", case=case, number=number)


@bp.route("/cases/<int:case_id>/slip")
@role_required(Role.CLERK, Role.MANAGER, Role.DEPARTMENT)
def slip(case_id: int):
    """The numbered work contact slip 工作联系单, three copies on one printout."""
    case = get_case_or_404(case_id)
    copies = [_("Property company copy"), _("Engineering copy"), _("Customer-service centre copy")]
    return render_template("cases/slip.html", case=case, copies=copies, **slip_context(case))
