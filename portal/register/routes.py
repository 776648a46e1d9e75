"""The import screen: upload → preview → confirm, and the template downloads."""
from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import htmx
from portal.access import role_required
from portal.extensions import db
from portal.models import Estate, Role
from portal.register import bp, parse, service, store, template
from portal.register.forms import ConfirmForm, UploadForm
from portal.timeutil import local_now

SHOWN = 200  # changes and problems listed per section on the page (the counts are complete)
RELATIONS = {"owner": _l("Unit owner"), "family": _l("Family member"), "tenant": _l("Tenant")}
FIELDS = {"area": _l("Area (m²)"), "active": _l("In use"), "display_name": _l("Name"), "unit": _l("Home unit"),
          "relation": _l("Relation"), "moved_in": _l("Moved in")}


def _relation(value) -> str:
    value = getattr(value, "value", value)
    return str(RELATIONS.get(value, value))


def estates_for(user) -> list[Estate]:
    """The estates a manager may import into: all for a company-level manager, else their own."""
    if user.company_wide:
        return list(db.session.scalars(select(Estate).where(Estate.active.is_(True))
                                       .order_by(Estate.position, Estate.id)))
    return [e for e in user.estates if e.active]


def _page(form, status: int = 200, **context):
    return htmx.render("register/import.html", "register/_import.html", "register-import", status,
                       form=form, shown=SHOWN, relation_label=_relation,
                       field_label=lambda key: str(FIELDS.get(key, key)), **context)


def _read(storage) -> bytes:
    data = storage.stream.read(parse.MAX_BYTES + 1)
    if len(data) > parse.MAX_BYTES:
        raise parse.FileRefused(parse.too_large_message())
    return data


@bp.route("/register/import", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def upload():
    """The upload form; a posted file comes back as a preview of what importing it would change."""
    estates = estates_for(current_user)
    form = UploadForm(estates=estates)
    if request.method == "GET" and request.args.get("estate", type=int) in {e.id for e in estates}:
        form.estate.data = request.args.get("estate", type=int)  # from the estate's units screen
    if not form.validate_on_submit():
        return _page(form)
    estate = next(e for e in estates if e.id == form.estate.data)
    filename = (form.file.data.filename or "")[:200]
    try:
        register, plan = service.check(_read(form.file.data), filename, estate, local_now().date())
    except parse.FileRefused as refused:
        form.file.errors.append(str(refused))
        return _page(form)
    token = None
    if not plan.problems and (plan.created or plan.updated):
        token = store.save(register, user_id=current_user.id, estate_id=estate.id,
                           fingerprint=plan.fingerprint(), filename=filename)
    return _page(form, register=register, plan=plan, filename=filename,
                 confirm=ConfirmForm(formdata=None, token=token) if token else None)


@bp.route("/register/import/confirm", methods=["POST"])
@role_required(Role.MANAGER)
def confirm():
    """Apply the previewed plan in one transaction, if it still matches what the preview showed."""
    estates = estates_for(current_user)
    form = ConfirmForm()
    outcome = "gone"
    if form.validate_on_submit():
        doc_estates = {e.id for e in estates}
        outcome, _plan, counts = service.confirm(form.token.data, current_user, doc_estates, local_now().date())
        if outcome == "applied":
            try:
                db.session.commit()
            except IntegrityError:  # the same rows imported by another request at this moment
                db.session.rollback()
                outcome = "changed"
        if outcome == "applied":
            store.discard(form.token.data)
            flash(_("Register imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.",
                    **counts), "success")
            return redirect(url_for("register.upload"))
    message = (_("The estate's units or residents changed since the preview. Upload the file again to see "
                 "what it would change now.") if outcome == "changed" else
               _("This preview has expired or is not yours. Upload the file again."))
    db.session.rollback()
    return _page(UploadForm(formdata=None, estates=estates), notice=message)


@bp.route("/register/template.xlsx")
@role_required(Role.MANAGER)
def template_xlsx():
    """The register template as an Excel workbook."""
    return _download(template.xlsx_bytes(), "xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/register/template.csv")
@role_required(Role.MANAGER)
def template_csv():
    """The register template as CSV (UTF-8 with BOM, which Excel opens correctly)."""
    return _download(template.csv_bytes(), "csv", "text/csv; charset=utf-8")


def _download(data: bytes, ext: str, mimetype: str) -> Response:
    from urllib.parse import quote
    name = f"房产台账模板.{ext}"
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=register-template.{ext}; filename*=UTF-8''{quote(name)}"})


@bp.errorhandler(413)
def too_large(error):
    """A body beyond MAX_CONTENT_LENGTH: the upload form again, the message beside the file field."""
    if not current_user.is_authenticated or current_user.role != Role.MANAGER:
        return render_template("errors/error.html", code=413, message=parse.too_large_message()), 413
    form = UploadForm(formdata=None, estates=estates_for(current_user))
    form.file.errors = [parse.too_large_message()]
    return _page(form)
from portal.register import cli  # noqa: E402,F401  (registers `flask import-register`)
