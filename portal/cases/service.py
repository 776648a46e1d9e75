"""Applying a submitted action form to a case: validation, locking, commit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone

from flask import g
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError

from portal.access import own_estate_choices
from portal.cases.forms import ACTION_FORMS, AssignForm, ClassifyForm, DispatchForm, NewCaseForm
from portal.cases.lifecycle import ACTIONS, TransitionError, perform
from portal import org, stamp
from portal.cases.uploads import UploadError, check_photos, save_photos
from portal.extensions import db
from portal.labels import opts
from portal.models import Case, Category, Department, User
from portal.scopes import department_staff, estate_ids
from portal.timeutil import local_now, local_zone


def _estates_of(user: User | None) -> tuple[int, ...] | None:
    """The estates whose own categories and departments the user may see; None: every one."""
    ids = estate_ids(user) if user is not None else None
    return None if ids is None else tuple(sorted(ids))


def _scoped_choices(model, user: User | None) -> list[tuple[int, str]]:
    """Active rows of `model` (Category, Department) in the managers' order; given a member of staff of some
    estates, the company's and those estates' own (another estate's own are not theirs to see)."""
    ids = _estates_of(user)
    query = select(model.id, model.name).where(model.active.is_(True))
    if ids is not None:
        query = query.where(or_(model.estate_id.is_(None), model.estate_id.in_(ids)))
    return _choices((model.__tablename__, ids), query.order_by(model.position, model.id))


def category_choices(user: User | None = None) -> list[tuple[int, str]]:
    """Active categories (for a user: theirs, see _scoped_choices); read once per change of listed data."""
    return _scoped_choices(Category, user)


def department_choices(user: User | None = None) -> list[tuple[int, str]]:
    """Active departments (for a user: theirs); a deactivated one is offered nowhere."""
    return _scoped_choices(Department, user)


def estate_choices(user: User | None = None) -> list[tuple[int, str]]:
    """Sites (estates); given a user, only those they work for (portal.access)."""
    from portal.models import Estate
    found = _choices(("estate_choices",), select(Estate.id, Estate.name).order_by(Estate.name))
    return found if user is None else own_estate_choices(user, found)


def estate_options(kind: str, estate_id: int | None) -> list[tuple[int, str]]:
    """(id, name) of the departments or categories offered in an estate (portal.org): once per request,
    from the cache kept under the reference stamp."""
    memo = g.setdefault("estate_options", {})
    if (kind, estate_id) not in memo:
        def read():
            rows = org.departments_for(estate_id) if kind == "departments" else org.categories_for(estate_id)
            return tuple((r.id, r.name) for r in rows)
        memo[(kind, estate_id)] = stamp.reference_cached(("estate_options", kind, estate_id, stamp.minute()), read)
    return list(memo[(kind, estate_id)])


def _choices(key: tuple, query) -> list[tuple[int, str]]:
    """(id, name) pairs: once per request, from the cache kept under the reference stamp."""
    memo = g.setdefault("choices", {})
    if key not in memo:
        memo[key] = stamp.reference_cached(key + (stamp.minute(),), lambda: tuple(
            (row_id, row_name) for row_id, row_name in db.session.execute(query)))
    return list(memo[key])


def action_form(name: str, case: Case, submitted: bool = False):
    """The form for one action; bound to the request only when it was the one submitted."""
    cls = ACTION_FORMS[name]
    form = cls(prefix=name) if submitted else cls(formdata=None, prefix=name)
    formdata = True if submitted else None
    if isinstance(form, ClassifyForm):
        form.category_id.choices = opts([(0, _("— choose —"))] + estate_options("categories", case.estate_id))
        if formdata is None:
            form.category_id.data = case.category_id or 0
            form.severity.data = case.severity.value if case.severity else ""  # never guessed for the clerk
            form.urgent.data = case.urgent
            form.group_complaint.data = case.group_complaint
            form.agitated.data = case.agitated
    if isinstance(form, DispatchForm):
        form.department_id.choices = opts([(0, _("— choose —"))] + estate_options("departments", case.estate_id))
        if formdata is None:
            default = org.default_department(case.category, case.estate_id)
            form.department_id.data = default.id if default else 0
    if isinstance(form, AssignForm):
        staff = [(u.id, u.display_name) for u in department_staff(case.department_id, case.estate_id)
                 if not (name == "hand_over" and u.id == case.assignee_id)]
        form.assignee_id.choices = opts([(0, _("— choose —"))] + staff)
        if formdata is None:
            form.assignee_id.data = 0
    if formdata is None:
        form.version.data = str(case.version_id)
    return form


def current_units(user: User) -> list[tuple[int, str]]:
    """(unit id, label) of the units a resident lives in today, home unit first (else the home unit alone)."""
    from portal.models import Residency, Unit
    today = local_now().date()
    units = db.session.scalars(select(Unit).join(Residency, Residency.unit_id == Unit.id).where(
        Residency.user_id == user.id, Residency.moved_in <= today,
        (Residency.moved_out.is_(None)) | (Residency.moved_out > today)).distinct()).all()
    units = sorted(units, key=lambda u: (u.id != user.unit_id, u.id)) or ([user.unit] if user.unit else [])
    return [(u.id, u.label) for u in units]


def new_case_form(user: User, blank: bool = False) -> NewCaseForm:
    """The resident's form: their current units, and the categories of their home unit's estate (portal.org).
    `blank`: not bound to the request (whose body may be unreadable)."""
    from portal.cases.intake import site_of
    form = NewCaseForm(formdata=None) if blank else NewCaseForm()
    estate_id = site_of(user.unit_id) if user.unit_id else None
    form.category_id.choices = opts([(0, _("— choose —"))] + estate_options("categories", estate_id))
    form.unit_id.choices = current_units(user)
    return form


def desk_categories(user: User) -> list[tuple[int, str]]:
    """Categories offered in any estate the member of staff works for (every estate when company-level)."""
    estate_ids = [e.id for e in user.estates] if not user.company_wide else []
    estate_ids = estate_ids or None  # company-level, or no estate yet: the case's estate is not known
    return [(c.id, c.name) for c in org.categories_for_any(estate_ids)]


@dataclass
class Outcome:
    ok: bool
    form: object
    conflict: bool = False


def _data(form) -> dict:
    data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "version", "photos", "photos_before")}
    if data.get("promised_at") is not None:
        data["promised_at"] = data["promised_at"].replace(tzinfo=local_zone()).astimezone(timezone.utc)
    return data


def submit_action(case: Case, user: User, name: str, form) -> Outcome:
    """Validate, check the version the user saw, perform, commit. Never loses input."""
    photos = getattr(form, "photos", None)
    before = getattr(form, "photos_before", None)  # completion: before and after the work
    valid = form.validate()
    checked = {}  # field name -> the photos checked and ready to store
    for field in (f for f in (before, photos) if f is not None):
        checked[field.name] = check_photos(field.data, user)
        field.errors = list(field.errors) + checked[field.name].errors
        valid = valid and not checked[field.name].errors
    if form.version.data != str(case.version_id):
        form.form_errors.append(_(
            "Someone else changed this case while you were working on it. "
            "Check the latest details below; what you typed is kept — submit again to apply it."))
        form.version.data = str(case.version_id)
        return Outcome(False, form, conflict=True)
    if not valid:
        return Outcome(False, form)
    try:
        event = perform(case, user, name, _data(form))
        if before is not None:
            for att in save_photos(case, user, checked[before.name], event):
                att.stage = "before"
        if photos is not None:
            for att in save_photos(case, user, checked[photos.name], event):
                att.stage = "after" if before is not None else ""
        db.session.commit()
    except UploadError as exc:
        db.session.rollback()
        photos.errors.append(str(exc))
        return Outcome(False, form)
    except TransitionError as exc:
        db.session.rollback()
        target = getattr(form, exc.field, None) if exc.field else None
        (target.errors.append if target is not None else form.form_errors.append)(str(exc.message))
        return Outcome(False, form)
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(case)
        form.form_errors.append(_(
            "Someone else saved this case at the same moment. What you typed is kept — "
            "check the latest details and submit again."))
        form.version.data = str(case.version_id)
        return Outcome(False, form, conflict=True)
    return Outcome(True, form)


def action_label(name: str) -> str:
    return str(ACTIONS[name].label)


# The text field of an action's form that a standard phrase is written into.
PHRASE_FIELD = {"acknowledge": "note", "plan": "plan", "complete": "note"}


def phrase_values(case: Case, user: User) -> dict:
    """What a phrase's placeholders stand for, for this case and the user writing."""
    from portal.timeutil import fmt_dt
    return {"case": case.number, "department": case.department.name if case.department else "",
            "promised": fmt_dt(case.promised_at, "%Y-%m-%d %H:%M") if case.promised_at else "",
            "clerk": user.display_name or ""}


def action_phrases(case: Case, user: User, names) -> dict[str, list[str]]:
    """For each offered action that takes a phrase: the estate's phrases for its use, placeholders filled."""
    wanted = [n for n in names if n in PHRASE_FIELD]
    if not wanted:
        return {}
    values = phrase_values(case, user)
    return {n: [org.fill_phrase(p.text, values) for p in org.phrases_for(case.estate_id, org.PHRASE_USE_OF_ACTION[n])]
            for n in wanted}
