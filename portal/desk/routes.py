"""Registering a case on a resident's behalf, from any channel."""
from datetime import timezone

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import org
from portal.access import STAFF, estate_ids, get_case_or_404, role_required, sees_estate
from portal.cases.intake import find_residents, register_case, site_of
from portal.cases.service import desk_categories, estate_choices
from portal.cases.uploads import Photos, check_photos, commit_with_photos, real_files, too_large_message
from portal.desk import bp
from portal.desk.caller import caller_cases, duplicates, household, resident_in_scope
from portal.desk.forms import AppendForm, RegisterForm
from portal.desk.statements import append_statement
from portal.extensions import db
from portal.forms import get_by_id
from portal.labels import opts
from portal.models import Role, User
from portal.timeutil import local_zone


def _resident(form: RegisterForm) -> User | None:
    """The chosen resident, who must live in one of the clerk's estates."""
    user = get_by_id(User, form.resident_id.data) if form.resident_id.data else None
    outside = user is not None and not sees_estate(current_user, user.unit.building.estate_id if user.unit else None)
    if form.resident_id.data and (user is None or user.role != Role.RESIDENT or outside):
        form.resident_id.errors = list(form.resident_id.errors) + [_("Choose a resident from the search.")]
        return None
    return user


def _site(form: RegisterForm, resident: User | None) -> int | None:
    """A case in the resident's unit belongs to that unit's site; otherwise the clerk's choice (or their only site)."""
    if resident is not None and resident.unit_id and form.location_type.data == "unit":
        return None  # register_case takes it from the unit
    mine = estate_choices(current_user)
    site = form.estate_id.data or (mine[0][0] if len(mine) == 1 and estate_ids(current_user) is not None else None)
    if site is None and estate_ids(current_user) is not None:
        form.estate_id.errors = list(form.estate_id.errors) + [_("Choose the site.")]
    return site


def _register_form(**kwargs) -> RegisterForm:
    """The registration form with the clerk's categories and sites."""
    form = RegisterForm(**kwargs)
    form.category_id.choices = opts([(0, _("— choose —"))] + desk_categories(current_user))
    form.estate_id.choices = opts([(0, _("— from the resident's unit —"))] + estate_choices(current_user))
    return form


@bp.route("/desk/new", methods=["GET", "POST"])
@role_required(*STAFF)
def register():
    """Register a case for a resident; the receipt with its number follows at once."""
    form = _register_form()
    valid = form.validate_on_submit()
    resident = _resident(form) if request.method == "POST" else None
    photos = check_photos(form.photos.data, current_user) if valid else Photos()
    site = _site(form, resident) if valid else None
    estate = site or site_of(resident.unit_id if resident is not None else None)
    if valid and not form.resident_id.errors and not org.offers(form.category_id.data, estate):
        form.category_id.errors = list(form.category_id.errors) + [_("Choose a category.")]
    ready = (valid and not form.resident_id.errors and not form.estate_id.errors and not form.category_id.errors
             and not photos.errors)
    similar = []
    if ready and not form.new_anyway.data:
        similar = duplicates(current_user, category_id=form.category_id.data, location_type=form.location_type.data,
                             unit_id=resident.unit_id if resident is not None else None, estate_id=estate,
                             location=form.location.data or "")
    if ready and not similar:
        received = form.received_at.data
        case = register_case(
            actor=current_user, resident=resident, kind=form.kind.data, channel=form.channel.data,
            description=form.description.data, location_type=form.location_type.data,
            location=form.location.data or "", request=form.request.data or "",
            category_id=form.category_id.data, severity=form.severity.data or None, urgent=form.urgent.data,
            subject=form.subject.data or "", misconduct=form.misconduct.data, witnesses=form.witnesses.data or "",
            evidence=form.evidence.data or "", contact_name=form.contact_name.data or "",
            contact_phone=form.contact_phone.data or "",
            received_at=received.replace(tzinfo=local_zone()).astimezone(timezone.utc) if received else None,
            estate_id=site,
        )
        photos.errors = commit_with_photos(case, current_user, photos)
        if not photos.errors:
            return redirect(url_for("cases.receipt", case_id=case.id))
    form.photos.errors = list(form.photos.errors) + photos.errors
    # A browser never sends chosen files again: when the offer comes back, say so beside the photo field.
    dropped = len(real_files(form.photos.data)) if similar and request.method == "POST" else 0
    return render_template("desk/register.html", form=form, resident=resident, similar=similar, dropped=dropped,
                           resident_q=request.form.get("resident_q", ""),
                           **(_caller(resident) if resident is not None else {}))


@bp.errorhandler(413)
def too_large(error):
    """A body beyond MAX_CONTENT_LENGTH cannot be read: the form again, the limits beside the photo field."""
    if not current_user.is_authenticated or current_user.role not in STAFF or request.endpoint != "desk.register":
        return render_template("errors/error.html", code=413, message=too_large_message()), 413
    form = _register_form(formdata=None)
    form.photos.errors = [too_large_message()]
    return render_template("desk/register.html", form=form, resident=None, resident_q="", similar=[]), 413


def _caller(resident: User) -> dict:
    """The caller panel's context: household, open and earlier cases (scoped to the clerk)."""
    open_cases, earlier = caller_cases(resident, current_user)
    return {"caller_user": resident, "household": household(resident), "open_cases": open_cases, "earlier": earlier}


@bp.route("/desk/caller/<int:resident_id>")
@role_required(*STAFF)
def caller(resident_id: int):
    """The caller's household, open and earlier cases beside the form (a fragment; 404 outside the clerk's estates)."""
    resident = get_by_id(User, resident_id)
    if not resident_in_scope(current_user, resident):
        abort(404)
    return render_template("desk/_caller.html", **_caller(resident))


@bp.route("/desk/append/<int:case_id>", methods=["POST"])
@role_required(*STAFF)
def append(case_id: int):
    """Add the caller's statement (the registration form as typed) to an open case instead of a duplicate."""
    case = get_case_or_404(case_id)
    form = AppendForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return redirect(url_for("cases.detail", case_id=case.id))
    photos = check_photos(form.photos.data, current_user)
    if photos.errors:  # the registration form again, the message beside its photo field, nothing typed lost
        return _refused_photos(case, photos.errors)
    event, problem = append_statement(case, current_user, contact=form.contact_name.data or "",
                                      phone=form.contact_phone.data or "", channel=form.channel.data or "",
                                      statement=form.description.data)
    if problem is not None:
        flash(problem, "error")
        return redirect(url_for("cases.detail", case_id=case.id))
    errors = commit_with_photos(case, current_user, photos, event)  # the photos on the statement's event
    if errors:
        return _refused_photos(case, errors)
    flash(_("The caller's statement was added to case %(number)s.", number=case.number), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


def _refused_photos(case, errors: list[str]):
    """The registration form as typed, the offer of the case again and why its photos were refused."""
    form = _register_form()
    form.photos.errors = errors
    resident = _resident(form)
    return render_template("desk/register.html", form=form, resident=resident, similar=[case], dropped=0,
                           resident_q=request.form.get("resident_q", ""),
                           **(_caller(resident) if resident is not None else {}))


@bp.route("/desk/residents")
@role_required(*STAFF)
def residents():
    """Active search for a resident by name, unit or phone (a fragment)."""
    q = request.args.get("q") or request.args.get("resident_q", "")
    return render_template("desk/_residents.html", residents=find_residents(q, current_user), q=q,
                           chosen=request.args.get("resident_id", type=int))
