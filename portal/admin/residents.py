"""Residents: search by name, mobile or unit; add, edit, move out, deactivate; their cases."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.access import role_required
from portal.admin import bp, households, scope
from portal.admin.changes import log_change
from portal.admin.forms import ButtonForm
from portal.admin.listing import like, list_args, list_filter, page_of, whole_page
from portal.admin.people_forms import AddResidentForm, HouseholdForm, MoveOutForm, ResidentFilter, ResidentForm
from portal.audit import snapshot
from portal.extensions import db
from portal.forms import get_by_id
from portal.htmx import render
from portal.labels import RELATION, choices, opts
from portal.models import Building, Case, Relation, Residency, Role, Unit, User
from portal.timeutil import local_now


def _household_choices(form, unit: Unit | None = None) -> None:
    form.estate_id.choices = opts([(e.id, e.name) for e in scope.estates(current_user, active_only=True)])
    form.relation.choices = choices(RELATION)
    if unit is not None and request.method == "GET":
        form.estate_id.data = unit.building.estate_id
        form.unit.data = unit.label


def _unit_from(form) -> Unit | None:
    """The unit the form names within an estate this manager administers (message beside the field if not)."""
    if not scope.may_administer(current_user, form.estate_id.data):
        form.estate_id.errors.append(_("Choose an estate."))
        return None
    unit = households.find_unit(form.estate_id.data, form.unit.data)
    if unit is None or not unit.active:
        form.unit.errors.append(_("No such unit in this estate: write it as building-number, e.g. 1栋-0101."))
        return None
    return unit


@bp.route("/admin/residents", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def residents():
    """Current residents of this manager's estates (search by name, mobile or unit); add one."""
    form = AddResidentForm(prefix="new")
    preset = get_by_id(Unit, request.args.get("unit"))
    preset = preset if preset and scope.may_administer(current_user, preset.building.estate_id) else None
    _household_choices(form, preset)
    if request.method == "GET":
        form.moved_in.data = local_now().date()
    if form.validate_on_submit():
        mobile = households.normalise_mobile(form.mobile.data)
        if mobile is None:
            form.mobile.errors.append(households.message_bad_mobile())
        unit = _unit_from(form)
        if mobile and unit:
            person = households.resident_by_mobile(mobile)
            if person is not None and households.lives_there(person, unit, form.moved_in.data):
                form.unit.errors.append(_("This resident already lives in this unit."))
            else:
                _residency, created, person = households.add_resident(
                    current_user, form.name.data.strip(), mobile, unit, Relation(form.relation.data),
                    form.moved_in.data)
                db.session.commit()
                flash(_("%(name)s added to %(unit)s.", name=person.display_name, unit=unit.label) if created else
                      _("%(name)s (already registered with this mobile) added to %(unit)s.",
                        name=person.display_name, unit=unit.label), "success")
                return redirect(url_for("admin.resident", resident_id=person.id))
    filters, values = list_filter(ResidentFilter)
    today = local_now().date()
    stmt = (select(Residency).join(Residency.user).join(Residency.unit).join(Unit.building)
            .where(scope.estate_clause(current_user, Building.estate_id))
            .order_by(Building.name, Unit.number, Residency.moved_in))
    if not values.get("inactive"):
        stmt = stmt.where(households.current_clause(today))
    if values.get("q"):
        text = values["q"].strip()
        pattern = like(text)
        digits = households.normalise_mobile(text) or "".join(c for c in text if c.isascii() and c.isdigit())
        cond = (User.display_name.ilike(pattern, escape="\\") | Unit.number.ilike(pattern, escape="\\")
                | (Building.name + "-" + Unit.number).ilike(pattern, escape="\\"))
        if len(digits) >= 3:
            cond = cond | User.phone.like(f"%{digits}%")
        stmt = stmt.where(cond)
    return render("admin/residents.html", "admin/_residents.html", "resident-list", form=form, filters=filters,
                  page=page_of(stmt), args=list_args(values), today=today)


def _resident_or_404(user_id: int) -> User:
    person = db.session.get(User, user_id)
    if person is None or person.role != Role.RESIDENT:
        abort(404)
    if not scope.is_company(current_user):
        ids = scope.estate_ids(current_user)
        mine = db.session.scalar(select(Residency.id).join(Residency.unit).join(Unit.building).where(
            Residency.user_id == person.id, Building.estate_id.in_(ids or [-1])).limit(1))
        if mine is None:
            abort(404)
    return person


def _resident_page(person, edit=None, household=None, moving=None):
    today = local_now().date()
    ids = scope.estate_ids(current_user)
    stmt = (select(Residency).join(Residency.unit).join(Unit.building).where(Residency.user_id == person.id)
            .order_by(Residency.moved_out.is_not(None), Residency.moved_in.desc()))
    if ids is not None:
        stmt = stmt.where(Building.estate_id.in_(ids or [-1]))
    rows = [(r, moving if moving is not None and moving.residency_id == r.id else
             MoveOutForm(formdata=None, prefix=f"r{r.id}", moved_out=today)) for r in db.session.scalars(stmt)]
    cases = select(Case).where(Case.resident_id == person.id).order_by(Case.received_at.desc()).limit(20)
    if ids is not None:
        cases = cases.where(Case.estate_id.in_(ids or [-1]))
    if household is None:
        household = HouseholdForm(formdata=None, prefix="hh", moved_in=today)
        _household_choices(household)
    return whole_page("admin/resident.html", person=person, today=today, rows=rows,
                      cases=list(db.session.scalars(cases)), button=ButtonForm(),
                      edit=edit or ResidentForm(formdata=None, name=person.display_name, mobile=person.phone,
                                                wechat_openid=person.wechat_openid),
                      household=household)


@bp.route("/admin/residents/<int:resident_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def resident(resident_id: int):
    """One resident: name and mobile, households (move in, move out), the account, their cases."""
    person = _resident_or_404(resident_id)
    form = ResidentForm()
    if form.validate_on_submit():
        mobile = households.normalise_mobile(form.mobile.data)
        if mobile is None:
            form.mobile.errors.append(households.message_bad_mobile())
        elif households.mobile_taken(mobile, person):
            form.mobile.errors.append(_("Another resident already has this mobile number."))
        elif households.openid_taken(form.wechat_openid.data, person):
            form.wechat_openid.errors.append(_("Another account is already linked to this WeChat openid."))
        else:
            before = snapshot(person, households.RESIDENT_FIELDS)
            person.display_name, person.phone = form.name.data.strip(), mobile
            person.wechat_openid = form.wechat_openid.data or None
            log_change(current_user, "resident", person, households.RESIDENT_FIELDS, before,
                       estate_id=_an_estate(person), summary=person.display_name)
            db.session.commit()
            flash(_("Resident saved."), "success")
            return redirect(url_for("admin.resident", resident_id=person.id))
    return _resident_page(person, edit=form if request.method == "POST" else None)


def _an_estate(person) -> int | None:
    """The estate an entry about this resident is filed under (their home unit's, else one they held)."""
    return db.session.scalar(select(Building.estate_id).join(Unit).join(Residency, Residency.unit_id == Unit.id)
                             .where(Residency.user_id == person.id)
                             .order_by((Unit.id == person.unit_id).desc(), Residency.moved_in.desc()).limit(1))


@bp.route("/admin/residents/<int:resident_id>/units", methods=["POST"])
@role_required(Role.MANAGER)
def add_household(resident_id: int):
    """The resident moves into (another) unit."""
    person = _resident_or_404(resident_id)
    form = HouseholdForm(prefix="hh")
    _household_choices(form)
    if form.validate_on_submit():
        unit = _unit_from(form)
        if unit is not None and households.lives_there(person, unit, form.moved_in.data):
            form.unit.errors.append(_("This resident already lives in this unit."))
        elif unit is not None:
            households.add_residency(current_user, person, unit, Relation(form.relation.data), form.moved_in.data)
            db.session.commit()
            flash(_("%(name)s added to %(unit)s.", name=person.display_name, unit=unit.label), "success")
            return redirect(url_for("admin.resident", resident_id=person.id))
    return _resident_page(person, household=form)


@bp.route("/admin/residencies/<int:residency_id>/move-out", methods=["POST"])
@role_required(Role.MANAGER)
def move_out(residency_id: int):
    """The resident leaves the unit: no longer current there from that day."""
    residency = db.session.get(Residency, residency_id) or abort(404)
    scope.require(current_user, residency.unit.building.estate_id)
    person = _resident_or_404(residency.user_id)
    form = MoveOutForm(prefix=f"r{residency.id}")
    form.residency_id = residency.id
    if form.validate_on_submit():
        if residency.moved_out is not None:
            form.moved_out.errors.append(_("This resident has already moved out."))
        elif form.moved_out.data < residency.moved_in:
            form.moved_out.errors.append(_("The move-out date cannot be before the move-in date."))
        else:
            households.move_out(current_user, residency, form.moved_out.data)
            db.session.commit()
            flash(_("%(name)s moved out of %(unit)s.", name=person.display_name, unit=residency.unit.label),
                  "success")
            return redirect(url_for("admin.resident", resident_id=person.id))
    return _resident_page(person, moving=form)


@bp.route("/admin/residents/<int:resident_id>/account", methods=["POST"])
@role_required(Role.MANAGER)
def resident_account(resident_id: int):
    """Deactivate the resident's account (its sessions end at once), or reactivate it."""
    person = _resident_or_404(resident_id)
    form = ButtonForm()
    if form.validate_on_submit():
        households.set_active(current_user, person, not person.active, _an_estate(person))
        db.session.commit()
        flash(_("Account reactivated.") if person.active else _("Account deactivated; its sessions have ended."),
              "success")
    return redirect(url_for("admin.resident", resident_id=person.id))
