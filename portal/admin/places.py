"""Estates, buildings and units: create, rename, deactivate and reactivate (never delete)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.access import role_required
from portal.admin import bp, scope
from portal.admin.changes import log_change, log_create
from portal.admin.forms import BuildingForm, EstateForm, UnitForm
from portal.admin.listing import like, list_args, list_filter, page_of, whole_page
from portal.audit import snapshot
from portal.extensions import db
from portal.htmx import render
from portal.labels import opts
from portal.models import Building, Estate, Residency, Role, Unit

ESTATE_FIELDS = ("name", "position", "active")
BUILDING_FIELDS = ("name", "active")
UNIT_FIELDS = ("building_id", "number", "area", "active")


def _estate_or_404(estate_id: int) -> Estate:
    estate = db.session.get(Estate, estate_id) or abort(404)
    scope.require(current_user, estate.id)
    return estate


def _taken(model, column, value, exclude_id=None, **same) -> bool:
    stmt = select(func.count()).select_from(model).where(column == value)
    for name, v in same.items():
        stmt = stmt.where(getattr(model, name) == v)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    return bool(db.session.scalar(stmt))


@bp.route("/admin/estates", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def estates():
    """The estates this manager administers (search, pages); a company manager adds one."""
    form = EstateForm(prefix="new")
    company = scope.is_company(current_user)
    if company and form.validate_on_submit():
        name = form.name.data.strip()
        if _taken(Estate, Estate.name, name):
            form.name.errors.append(_("An estate with this name already exists."))
        else:
            estate = Estate(name=name, position=form.position.data or 0, active=True)
            db.session.add(estate)
            db.session.flush()
            log_create(current_user, "estate", estate, ESTATE_FIELDS, estate_id=estate.id, summary=name)
            db.session.commit()
            flash(_("Estate %(name)s added.", name=name), "success")
            return redirect(url_for("admin.estate", estate_id=estate.id))
    filters, values = list_filter()
    stmt = select(Estate).where(scope.estate_clause(current_user, Estate.id)).order_by(Estate.position, Estate.id)
    if values.get("q"):
        stmt = stmt.where(Estate.name.ilike(like(values["q"]), escape="\\"))
    if not values.get("inactive"):
        stmt = stmt.where(Estate.active.is_(True))
    return render("admin/estates.html", "admin/_estates.html", "estate-list", form=form, company=company,
                  filters=filters, page=page_of(stmt), args=list_args(values))


@bp.route("/admin/estates/<int:estate_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def estate(estate_id: int):
    """One estate: rename, reorder, deactivate or reactivate; its buildings."""
    estate = _estate_or_404(estate_id)
    form = EstateForm(obj=estate)
    if form.validate_on_submit():
        name = form.name.data.strip()
        if _taken(Estate, Estate.name, name, exclude_id=estate.id):
            form.name.errors.append(_("An estate with this name already exists."))
        else:
            before = snapshot(estate, ESTATE_FIELDS)
            estate.name, estate.position, estate.active = name, form.position.data or 0, form.active.data
            log_change(current_user, "estate", estate, ESTATE_FIELDS, before, estate_id=estate.id, summary=name)
            db.session.commit()
            flash(_("Estate saved."), "success")
            return redirect(url_for("admin.estate", estate_id=estate.id))
    return _estate_page(estate, form=form)


def _estate_page(estate, form=None, new_building=None, edited=None):
    buildings = list(db.session.scalars(select(Building).where(Building.estate_id == estate.id)
                                        .order_by(Building.active.desc(), Building.name)))
    rows = [(b, edited if edited is not None and edited.edited_id == b.id else
             BuildingForm(formdata=None, obj=b, prefix=f"b{b.id}")) for b in buildings]
    counts = dict(db.session.execute(select(Unit.building_id, func.count()).join(Building)
                                     .where(Building.estate_id == estate.id).group_by(Unit.building_id)).all())
    return whole_page("admin/estate.html", estate=estate,
                  form=form or EstateForm(formdata=None, obj=estate), rows=rows, counts=counts,
                  new_building=new_building or BuildingForm(formdata=None, prefix="nb"))


@bp.route("/admin/estates/<int:estate_id>/buildings", methods=["POST"])
@role_required(Role.MANAGER)
def add_building(estate_id: int):
    """Add a building to an estate."""
    estate = _estate_or_404(estate_id)
    form = BuildingForm(prefix="nb")
    if form.validate_on_submit():
        name = form.name.data.strip()
        if _taken(Building, Building.name, name, estate_id=estate.id):
            form.name.errors.append(_("This estate already has a building with this name."))
        else:
            building = Building(estate_id=estate.id, name=name, active=True)
            db.session.add(building)
            db.session.flush()
            log_create(current_user, "building", building, BUILDING_FIELDS, estate_id=estate.id,
                       summary=f"{estate.name} {name}")
            db.session.commit()
            flash(_("Building %(name)s added.", name=name), "success")
            return redirect(url_for("admin.estate", estate_id=estate.id))
    return _estate_page(estate, new_building=form)


@bp.route("/admin/buildings/<int:building_id>", methods=["POST"])
@role_required(Role.MANAGER)
def edit_building(building_id: int):
    """Rename a building, or deactivate or reactivate it."""
    building = db.session.get(Building, building_id) or abort(404)
    estate = _estate_or_404(building.estate_id)
    form = BuildingForm(prefix=f"b{building.id}")
    form.edited_id = building.id
    if form.validate_on_submit():
        name = form.name.data.strip()
        if _taken(Building, Building.name, name, exclude_id=building.id, estate_id=estate.id):
            form.name.errors.append(_("This estate already has a building with this name."))
        else:
            before = snapshot(building, BUILDING_FIELDS)
            building.name, building.active = name, form.active.data
            log_change(current_user, "building", building, BUILDING_FIELDS, before, estate_id=estate.id,
                       summary=f"{estate.name} {name}")
            db.session.commit()
            flash(_("Building saved."), "success")
            return redirect(url_for("admin.estate", estate_id=estate.id))
    return _estate_page(estate, edited=form)


def _building_choices(estate) -> list:
    return opts([(0, _("— choose —"))] + [
        (b.id, b.name if b.active else _("%(name)s (deactivated)", name=b.name))
        for b in db.session.scalars(select(Building).where(Building.estate_id == estate.id)
                                    .order_by(Building.active.desc(), Building.name))])


@bp.route("/admin/estates/<int:estate_id>/units", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def units(estate_id: int):
    """The estate's units (search by building and number, pages); add one."""
    estate = _estate_or_404(estate_id)
    form = UnitForm(prefix="nu")
    form.building_id.choices = _building_choices(estate)
    if form.validate_on_submit():
        unit = _save_unit(estate, form, None)
        if unit is not None:
            flash(_("Unit %(label)s added.", label=unit.label), "success")
            return redirect(url_for("admin.units", estate_id=estate.id))
    filters, values = list_filter()
    stmt = (select(Unit).join(Building).where(Building.estate_id == estate.id)
            .order_by(Building.name, Unit.number))
    if values.get("q"):
        pattern = like(values["q"])
        stmt = stmt.where(Unit.number.ilike(pattern, escape="\\") | Building.name.ilike(pattern, escape="\\")
                          | (Building.name + "-" + Unit.number).ilike(pattern, escape="\\"))
    if not values.get("inactive"):
        stmt = stmt.where(Unit.active.is_(True))
    page = page_of(stmt)
    residents = _current_counts([u.id for u in page.items])
    return render("admin/units.html", "admin/_units.html", "unit-list", estate=estate, form=form,
                  filters=filters, page=page, args=list_args(values), residents=residents,
                  can_import="register.upload" in current_app.view_functions)


def _current_counts(unit_ids) -> dict:
    from portal.timeutil import local_now
    today = local_now().date()
    return dict(db.session.execute(
        select(Residency.unit_id, func.count()).where(Residency.unit_id.in_(unit_ids or [-1]))
        .where(Residency.moved_in <= today)
        .where(Residency.moved_out.is_(None) | (Residency.moved_out > today)).group_by(Residency.unit_id)).all())


def _save_unit(estate, form, unit):
    """Create or change a unit from a valid form; None (with a message beside the field) on a clash."""
    building = db.session.get(Building, form.building_id.data)
    if building is None or building.estate_id != estate.id:
        form.building_id.errors.append(_("Choose a building."))
        return None
    number = form.number.data.strip()
    if _taken(Unit, Unit.number, number, exclude_id=unit.id if unit else None, building_id=building.id):
        form.number.errors.append(_("This building already has a unit with this number."))
        return None
    if unit is None:
        unit = Unit(building_id=building.id, number=number, area=form.area.data, active=True)
        db.session.add(unit)
        db.session.flush()
        log_create(current_user, "unit", unit, UNIT_FIELDS, estate_id=estate.id,
                   summary=f"{estate.name} {building.name}-{number}")
    else:
        before = snapshot(unit, UNIT_FIELDS)
        unit.building_id, unit.number, unit.area = building.id, number, form.area.data
        unit.active = form.active.data
        db.session.flush()
        log_change(current_user, "unit", unit, UNIT_FIELDS, before, estate_id=estate.id,
                   summary=f"{estate.name} {building.name}-{number}")
    db.session.commit()
    return unit


@bp.route("/admin/units/<int:unit_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def unit(unit_id: int):
    """One unit: move it to another building, renumber, change its area, deactivate; its households."""
    unit = db.session.get(Unit, unit_id) or abort(404)
    estate = _estate_or_404(unit.building.estate_id)
    form = UnitForm(obj=unit)
    form.building_id.choices = _building_choices(estate)
    if form.validate_on_submit() and _save_unit(estate, form, unit) is not None:
        flash(_("Unit saved."), "success")
        return redirect(url_for("admin.unit", unit_id=unit.id))
    households = list(db.session.scalars(select(Residency).where(Residency.unit_id == unit.id)
                                         .order_by(Residency.moved_out.is_not(None), Residency.moved_in.desc())))
    return whole_page("admin/unit.html", estate=estate, unit=unit, form=form,
                  households=households)
