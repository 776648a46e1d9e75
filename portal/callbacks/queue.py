"""The callback queue: tabs and filters over pending and finished tasks, one count per tab."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import joinedload
from wtforms import IntegerField, SearchField, SelectField
from wtforms.validators import NumberRange, Optional

from portal import labels as base_labels, textquery
from portal.access import estate_ids, in_estates, task_estate
from portal.callbacks import labels
from portal.extensions import db
from portal.forms import validated
from portal.models import (
    Building, CallbackRecord, CallbackTask, Case, Role, TaskStatus, Unit, User,
)
from portal.pagination import Page, paginate
from portal.timeutil import local_now, utcnow

TABS = {
    "open": _l("All to do"), "today": _l("Due today"), "overdue": _l("Overdue"), "upcoming": _l("Upcoming"),
    "done": _l("Done"), "unreachable": _l("Unreachable"),
}
CALLERS = {"clerk": _l("Clerks' pool"), "manager": _l("Managers"), "mine": _l("Recorded by me")}


def _blank(pairs):
    return base_labels.opts([("", _l("All"))] + list(pairs))


class QueueFilter(FlaskForm):
    class Meta:
        csrf = False  # GET filters change nothing

    tab = SelectField(_l("Show"), choices=base_labels.opts(TABS.items()), default="open", validators=[Optional()])
    kind = SelectField(_l("Kind"), choices=_blank((k.value, v) for k, v in labels.KIND.items()),
                       validators=[Optional()])
    caller = SelectField(_l("Caller"), choices=_blank(CALLERS.items()), validators=[Optional()])
    building = SelectField(_l("Building"), validators=[Optional()])
    q = SearchField(_l("Search"), validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1)], default=1)


def building_choices(user: User):
    """Buildings of the user's estates."""
    return _blank((str(b.id), b.name) for b in db.session.scalars(
        select(Building).where(in_estates(user, Building.estate_id)).order_by(Building.id)))


def _end_of_today() -> datetime:
    today = local_now()
    return datetime.combine(today.date() + timedelta(days=1), time.min, tzinfo=today.tzinfo)


def tab_clause(tab: str, now: datetime):
    pending = CallbackTask.status == TaskStatus.PENDING
    started = or_(CallbackTask.not_before.is_(None), CallbackTask.not_before <= now)
    if tab == "today":
        return pending & started & (CallbackTask.due_at >= now) & (CallbackTask.due_at < _end_of_today())
    if tab == "overdue":
        return pending & (CallbackTask.due_at < now)
    if tab == "upcoming":
        return pending & ((CallbackTask.due_at >= _end_of_today()) | ~started)
    if tab == "done":
        return CallbackTask.status == TaskStatus.DONE
    if tab == "unreachable":
        return CallbackTask.status == TaskStatus.UNREACHABLE
    return pending


def base_query(values: dict, user: User):
    """Tasks of the user's estates matching every filter but the tab."""
    stmt = select(CallbackTask)
    if estate_ids(user) is not None:
        stmt = stmt.where(in_estates(user, task_estate()))
    if values.get("kind"):
        stmt = stmt.where(CallbackTask.kind == values["kind"])
    caller = values.get("caller")
    if caller in ("clerk", "manager"):
        stmt = stmt.where(CallbackTask.assignee_role == Role(caller))
    elif caller == "mine":
        stmt = stmt.where(exists().where(CallbackRecord.task_id == CallbackTask.id,
                                         CallbackRecord.caller_id == user.id))
    if values.get("building"):
        stmt = stmt.where(CallbackTask.unit_id.in_(select(Unit.id).where(Unit.building_id == values["building"])))
    if textquery.clean(values.get("q")):
        like, esc = textquery.contains(values["q"]), textquery.ESCAPE
        stmt = stmt.where(or_(
            CallbackTask.case_id.in_(select(Case.id).where(Case.number.ilike(like, escape=esc)
                                                           | Case.contact_name.ilike(like, escape=esc))),
            CallbackTask.resident_id.in_(select(User.id).where(User.display_name.ilike(like, escape=esc)
                                                               | User.phone.ilike(like, escape=esc))),
            CallbackTask.unit_id.in_(select(Unit.id).join(Building).where(
                Unit.number.ilike(like, escape=esc) | (Building.name + "-" + Unit.number).ilike(like, escape=esc))),
        ))
    return stmt


def counts(stmt) -> dict[str, int]:
    """How many tasks each tab would show under the other filters."""
    now = utcnow()
    return {tab: db.session.scalar(select(func.count()).select_from(stmt.where(tab_clause(tab, now)).subquery()))
            for tab in ("today", "overdue", "upcoming")}


def page_of(stmt, tab: str, page: int, size: int) -> Page:
    """One page of the tab's tasks, with their case, resident and unit."""
    order = (CallbackTask.closed_at.desc(),) if tab in ("done", "unreachable") else (CallbackTask.due_at.asc(),)
    stmt = stmt.where(tab_clause(tab, utcnow()))
    return paginate(stmt.options(joinedload(CallbackTask.case), joinedload(CallbackTask.resident),
                                 joinedload(CallbackTask.unit).joinedload(Unit.building))
                    .order_by(*order, CallbackTask.id), page, size)


def queue_context(args, user: User, size: int = 20) -> dict:
    """Everything the queue templates need, from the query string."""
    form = QueueFilter(formdata=args)
    form.building.choices = building_choices(user)
    if not args.get("caller") and "caller" not in args and user.role == Role.CLERK:
        form.caller.data = "clerk"  # a clerk's default view is the pool
    form.validate()
    values = validated(form)
    if values.get("building"):
        values["building"] = int(values["building"]) if str(values["building"]).isdigit() else None
    stmt = base_query(values, user)
    tab = values.get("tab") if values.get("tab") in TABS else "open"
    page = page_of(stmt, tab, values.get("page") or 1, size)
    list_args = {k: v for k, v in values.items() if k != "page" and v not in (None, "")}
    return {"filters": form, "tab": tab, "page": page, "tab_counts": counts(stmt), "tabs": TABS,
            "list_args": list_args, "now": utcnow(), "L": labels}


def next_task(user: User, done: CallbackTask) -> CallbackTask | None:
    """The task to call after `done`: the earliest due of the user's to-do list (a clerk's: the pool)."""
    values = {"caller": "clerk"} if user.role == Role.CLERK else {}
    stmt = base_query(values, user).where(tab_clause("open", utcnow()), CallbackTask.id != done.id)
    return db.session.scalar(stmt.order_by(CallbackTask.due_at.asc(), CallbackTask.id).limit(1))
