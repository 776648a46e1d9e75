"""Staff accounts: list, create (temporary password shown once), edit, deactivate, new password."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.access import role_required
from portal.admin import accounts, bp, scope
from portal.admin.forms import ButtonForm
from portal.admin.households import normalise_mobile
from portal.admin.listing import like, list_args, list_filter, page_of, whole_page
from portal.admin.people_forms import NewStaffForm, StaffFilter, StaffForm
from portal.extensions import db
from portal.htmx import render
from portal.labels import ROLE, opts
from portal.models import Department, Role, User, user_estate

def _role_choices():
    return opts((r.value, ROLE[r]) for r in accounts.STAFF_ROLES)


def _choices(form) -> None:
    form.role.choices = _role_choices()
    form.estates.choices = opts((e.id, e.name) for e in scope.estates(current_user, active_only=True))
    departments = select(Department).where(Department.active.is_(True)).order_by(Department.position, Department.id)
    ids = scope.estate_ids(current_user)
    if ids is not None:
        departments = departments.where(Department.estate_id.is_(None) | Department.estate_id.in_(ids or [-1]))
    form.department_id.choices = opts([(0, _("— none —"))] + [
        (d.id, d.name if d.estate is None else f"{d.name} · {d.estate.name}") for d in db.session.scalars(departments)])
    form.manager_level.choices = opts([(1, _("Customer-service manager (escalation level 1)")),
                                       (2, _("Site manager (escalation level 2)"))])


def _values(form) -> dict:
    phone = (form.phone.data or "").strip()
    return {"display_name": form.display_name.data.strip(), "phone": normalise_mobile(phone) or phone or None,
            "email": (form.email.data or "").strip() or None, "role": form.role.data,
            "estate_ids": list(form.estates.data or []), "department_id": form.department_id.data or None,
            "department_head": bool(form.department_head.data),
            "manager_level": form.manager_level.data or 1, "company_wide": bool(form.company_wide.data)}


def _place(form, exc: accounts.Refused) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    (target.errors.append if target is not None else form.form_errors.append)(exc.message)


@bp.route("/admin/staff")
@role_required(Role.MANAGER)
def staff():
    """The staff accounts this manager manages (search by name or user name, filter by role)."""
    filters, values = list_filter(StaffFilter, role=opts([("", _("All roles"))]) + _role_choices())
    stmt = select(User).where(User.role.in_(accounts.STAFF_ROLES)).order_by(User.active.desc(), User.display_name,
                                                                            User.id)
    ids = scope.estate_ids(current_user)
    if ids is not None:  # accounts of my estates only, never a company-level one
        theirs = select(user_estate.c.user_id).where(user_estate.c.estate_id.in_(ids or [-1]))
        stmt = stmt.where(User.company_wide.is_(False), User.id.in_(theirs))
    if values.get("q"):
        pattern = like(values["q"])
        stmt = stmt.where(User.display_name.ilike(pattern, escape="\\") | User.username.ilike(pattern, escape="\\")
                          | User.phone.ilike(pattern, escape="\\"))
    if values.get("role"):
        stmt = stmt.where(User.role == Role(values["role"]))
    if not values.get("inactive"):
        stmt = stmt.where(User.active.is_(True))
    return render("admin/staff.html", "admin/_staff.html", "staff-list", filters=filters, page=page_of(stmt),
                  args=list_args(values), manageable=lambda u: accounts.may_manage(current_user, u))


@bp.route("/admin/staff/new", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def new_staff():
    """Create a staff account; its temporary password is shown once, on the answer to this form."""
    form = NewStaffForm()
    _choices(form)
    if form.validate_on_submit():
        username = form.username.data.strip()
        if db.session.scalar(select(User.id).where(User.username == username)):
            form.username.errors.append(_("This user name is taken."))
        else:
            user = User(username=username, active=True, session_version=0)
            try:
                password = accounts.apply(current_user, user, _values(form), new=True)
            except accounts.Refused as exc:
                db.session.rollback()
                _place(form, exc)
            else:
                db.session.commit()
                return _account_page(user, password=password, created=True)
    return whole_page("admin/staff_new.html", form=form)


def _account_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not accounts.may_manage(current_user, user):
        abort(404)
    return user


def _account_page(user, form=None, password=None, created=False, problem=None):
    if form is None:
        form = StaffForm(formdata=None, display_name=user.display_name, phone=user.phone, email=user.email,
                         role=user.role.value, estates=[e.id for e in user.estates],
                         department_id=user.department_id or 0, department_head=user.department_head,
                         manager_level=user.manager_level or 1,
                         company_wide=user.company_wide)
        _choices(form)
    response = whole_page("admin/staff_account.html", account=user, form=form, button=ButtonForm(),
                          password=password, created=created, problem=problem)
    if password:  # shown once: never kept by a cache or the browser's history
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/admin/staff/<int:account_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def staff_account(account_id: int):
    """One staff account: name, role, estates, department, level; changing role or scope ends its sessions."""
    user = _account_or_404(account_id)
    form = StaffForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            accounts.apply(current_user, user, _values(form))
        except accounts.Refused as exc:
            db.session.rollback()
            _place(form, exc)
        else:
            db.session.commit()
            flash(_("Account saved."), "success")
            return redirect(url_for("admin.staff_account", account_id=user.id))
    return _account_page(user, form=form if request.method == "POST" else None)


@bp.route("/admin/staff/<int:account_id>/active", methods=["POST"])
@role_required(Role.MANAGER)
def staff_active(account_id: int):
    """Deactivate the account (every session ends at once) or reactivate it."""
    user = _account_or_404(account_id)
    if ButtonForm().validate_on_submit():
        try:
            accounts.set_active(current_user, user, not user.active)
        except accounts.Refused as exc:
            db.session.rollback()
            return _account_page(user, problem=exc.message)
        db.session.commit()
        flash(_("Account reactivated.") if user.active else _("Account deactivated; its sessions have ended."),
              "success")
    if user.id == current_user.id and not user.active:
        return redirect(url_for("auth.login"))
    return redirect(url_for("admin.staff_account", account_id=user.id))


@bp.route("/admin/staff/<int:account_id>/password", methods=["POST"])
@role_required(Role.MANAGER)
def staff_password(account_id: int):
    """Issue a new temporary password, shown once; the old one and every session stop working."""
    user = _account_or_404(account_id)
    if not ButtonForm().validate_on_submit() or not user.active:
        return redirect(url_for("admin.staff_account", account_id=user.id))
    password = accounts.reset_password(current_user, user)
    db.session.commit()
    return _account_page(user, password=password)
