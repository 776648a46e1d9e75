"""Departments and categories: create, edit, reorder, deactivate; estates' overrides of company categories."""
from __future__ import annotations

import secrets

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.access import role_required
from portal.admin import bp, scope
from portal.admin.changes import log_change, log_create
from portal.admin.forms import CategoryForm, DepartmentForm, OverrideForm
from portal.admin.listing import like, list_args, list_filter, page_of, whole_page
from portal.audit import record, snapshot
from portal.extensions import db
from portal.htmx import render
from portal.labels import opts
from portal.models import Category, CategoryOverride, Department, Estate, Role

DEPARTMENT_FIELDS = ("name", "estate_id", "position", "active")
CATEGORY_FIELDS = ("name", "estate_id", "default_department_id", "position", "active")
OVERRIDE_FIELDS = ("default_department_id", "active")


def _estate_choices(form) -> None:
    """Company-wide (company managers only) and the estates this manager administers."""
    pairs = [(0, _("Company-wide (every estate)"))] if scope.is_company(current_user) else []
    form.estate_id.choices = opts(pairs + [(e.id, e.name) for e in scope.estates(current_user, active_only=True)])


def department_options(estate_id: int | None, blank: str) -> list:
    """Active departments that can serve an estate (its own and company-wide), in their order."""
    stmt = select(Department).where(Department.active.is_(True)).order_by(Department.position, Department.id)
    stmt = stmt.where(Department.estate_id.is_(None) | (Department.estate_id == estate_id)) if estate_id else \
        stmt.where(Department.estate_id.is_(None) | scope.estate_clause(current_user, Department.estate_id))
    return opts([(0, blank)] + [(d.id, d.name if d.estate is None else f"{d.name} · {d.estate.name}")
                                for d in db.session.scalars(stmt)])


def _rows_list(model, values):
    stmt = select(model).where(model.estate_id.is_(None) | scope.estate_clause(current_user, model.estate_id))
    stmt = stmt.order_by(model.active.desc(), model.position, model.id)
    if values.get("q"):
        stmt = stmt.where(model.name.ilike(like(values["q"]), escape="\\"))
    if not values.get("inactive"):
        stmt = stmt.where(model.active.is_(True))
    return stmt


def _code(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _may_edit(obj) -> bool:
    return scope.may_administer(current_user, obj.estate_id)


@bp.route("/admin/departments", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def departments():
    """Departments of this manager's estates and the company's (search, pages); add one."""
    form = DepartmentForm(prefix="new")
    _estate_choices(form)
    if form.validate_on_submit() and _place_estate(form):
        dept = _add(Department, "dept", "department", DEPARTMENT_FIELDS, form)
        flash(_("Department %(name)s added.", name=dept.name), "success")
        return redirect(url_for("admin.departments"))
    return _list_page(Department, "departments", "department-list", form)


def _add(model, prefix: str, kind: str, fields, form, **values):
    """A new active department or category from `form`'s common fields, written to the audit log."""
    obj = model(code=_code(prefix), name=form.name.data.strip(), estate_id=form.estate_id.data or None,
                position=form.position.data or 0, active=True, **values)
    db.session.add(obj)
    db.session.flush()
    log_create(current_user, kind, obj, fields, estate_id=obj.estate_id, summary=obj.name)
    db.session.commit()
    return obj


def _list_page(model, name: str, target: str, form):
    """The searchable, paged list of departments or categories with the add form above it."""
    filters, values = list_filter()
    return render(f"admin/{name}.html", f"admin/_{name}.html", target, form=form, filters=filters,
                  page=page_of(_rows_list(model, values)), args=list_args(values), may_edit=_may_edit)


def _place_estate(form) -> bool:
    """The chosen estate is one this manager administers (company-wide for company managers only)."""
    if not scope.may_administer(current_user, form.estate_id.data or None):
        form.estate_id.errors.append(_("Choose an estate you administer."))
        return False
    return True


@bp.route("/admin/departments/<int:department_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def department(department_id: int):
    """Rename, move, reorder, deactivate or reactivate a department."""
    dept = db.session.get(Department, department_id) or abort(404)
    scope.require(current_user, dept.estate_id)
    form = DepartmentForm(obj=dept)
    _estate_choices(form)
    if request.method == "GET":
        form.estate_id.data = dept.estate_id or 0
    if form.validate_on_submit() and _place_estate(form):
        before = snapshot(dept, DEPARTMENT_FIELDS)
        dept.name, dept.estate_id = form.name.data.strip(), form.estate_id.data or None
        dept.position, dept.active = form.position.data or 0, form.active.data
        log_change(current_user, "department", dept, DEPARTMENT_FIELDS, before,
                   estate_id=dept.estate_id or before["estate_id"], summary=dept.name)
        db.session.commit()
        flash(_("Department saved."), "success")
        return redirect(url_for("admin.departments"))
    return whole_page("admin/department.html", dept=dept, form=form)


@bp.route("/admin/categories", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def categories():
    """Company categories and those of this manager's estates (search, pages); add one."""
    form = CategoryForm(prefix="new")
    _estate_choices(form)
    form.default_department_id.choices = department_options(None, _("— none —"))
    if form.validate_on_submit() and _place_estate(form) and _department_fits(form):
        cat = _add(Category, "cat", "category", CATEGORY_FIELDS, form,
                   default_department_id=form.default_department_id.data or None)
        flash(_("Category %(name)s added.", name=cat.name), "success")
        return redirect(url_for("admin.categories"))
    return _list_page(Category, "categories", "category-list", form)


def _department_fits(form) -> bool:
    """An estate category's default department serves that estate (its own or a company-wide one).

    A company category may name any department (after an upgrade the company's categories point
    at the only estate's departments); other estates set their own with an override."""
    estate_id = form.estate_id.data or None
    dept = db.session.get(Department, form.default_department_id.data) if form.default_department_id.data else None
    if dept is None or estate_id is None or dept.estate_id in (None, estate_id):
        return True
    form.default_department_id.errors.append(_("Choose a department of this estate or a company-wide one."))
    return False


def _overrides(cat):
    """(estate, override or None, its form) for each estate this manager administers (company categories)."""
    if cat.estate_id is not None:
        return []
    have = {o.estate_id: o for o in db.session.scalars(select(CategoryOverride)
                                                       .where(CategoryOverride.category_id == cat.id))}
    rows = []
    for estate in scope.estates(current_user, active_only=True):
        o = have.get(estate.id)
        f = OverrideForm(formdata=None, prefix=f"o{estate.id}",
                         default_department_id=(o.default_department_id if o else None) or 0,
                         active=o.active if o else True)
        f.default_department_id.choices = department_options(estate.id, _("— the company default —"))
        rows.append((estate, o, f))
    return rows


def _category_page(cat, form, override=None):
    rows = [(e, o, override if override is not None and override.estate_id == e.id else f)
            for e, o, f in _overrides(cat)]
    return whole_page("admin/category.html", cat=cat, form=form, rows=rows)


@bp.route("/admin/categories/<int:category_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def category(category_id: int):
    """Rename, reorder, deactivate a category, set its default department; per-estate overrides."""
    cat = db.session.get(Category, category_id) or abort(404)
    editable = scope.may_administer(current_user, cat.estate_id)
    if not editable and cat.estate_id is not None:
        abort(404)
    form = CategoryForm() if request.method == "POST" else CategoryForm(formdata=None, obj=cat)
    _estate_choices(form)
    form.default_department_id.choices = department_options(cat.estate_id, _("— none —"))
    if request.method == "GET":
        form.estate_id.data, form.default_department_id.data = cat.estate_id or 0, cat.default_department_id or 0
    if editable and form.validate_on_submit() and _place_estate(form) and _department_fits(form):
        before = snapshot(cat, CATEGORY_FIELDS)
        cat.name, cat.estate_id = form.name.data.strip(), form.estate_id.data or None
        cat.default_department_id = form.default_department_id.data or None
        cat.position, cat.active = form.position.data or 0, form.active.data
        log_change(current_user, "category", cat, CATEGORY_FIELDS, before,
                   estate_id=cat.estate_id or before["estate_id"], summary=cat.name)
        db.session.commit()
        flash(_("Category saved."), "success")
        return redirect(url_for("admin.category", category_id=cat.id))
    return _category_page(cat, form if editable else None)


@bp.route("/admin/categories/<int:category_id>/estates/<int:estate_id>", methods=["POST"])
@role_required(Role.MANAGER)
def category_override(category_id: int, estate_id: int):
    """An estate's own default department for a company category, or the category switched off there."""
    cat = db.session.get(Category, category_id) or abort(404)
    estate = db.session.get(Estate, estate_id) or abort(404)
    scope.require(current_user, estate.id)
    if cat.estate_id is not None:
        abort(404)
    form = OverrideForm(prefix=f"o{estate.id}")
    form.estate_id = estate.id
    form.default_department_id.choices = department_options(estate.id, _("— the company default —"))
    if form.validate_on_submit():
        o = db.session.get(CategoryOverride, (estate.id, cat.id))
        before = snapshot(o, OVERRIDE_FIELDS) if o else {"default_department_id": None, "active": True}
        if o is None:
            o = CategoryOverride(estate_id=estate.id, category_id=cat.id)
            db.session.add(o)
        o.default_department_id, o.active = form.default_department_id.data or None, form.active.data
        after = snapshot(o, OVERRIDE_FIELDS)
        record(current_user, "category_override", f"{cat.id}:{estate.id}", "update", before=before, after=after,
               estate_id=estate.id, summary=f"{cat.name} @ {estate.name}")
        db.session.commit()
        flash(_("%(category)s at %(estate)s saved.", category=cat.name, estate=estate.name), "success")
        return redirect(url_for("admin.category", category_id=cat.id))
    return _category_page(cat, None if not scope.may_administer(current_user, None) else
                          _category_form(cat), override=form)


def _category_form(cat):
    form = CategoryForm(formdata=None, obj=cat)
    _estate_choices(form)
    form.default_department_id.choices = department_options(cat.estate_id, _("— none —"))
    form.estate_id.data, form.default_department_id.data = cat.estate_id or 0, cat.default_department_id or 0
    return form
