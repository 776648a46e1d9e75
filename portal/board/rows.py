"""Case-list rows as plain values: the columns one query selects, formatted once per page.

`ROW_COLUMNS` is what a row shows, selected from the case table alone with a
scalar subquery per name; `row_view` turns one result row (or a Case object,
via `case_row`, when one row is re-rendered after an inline action) into a
`RowView` of display strings that `board/_row.html` prints as they are.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func

from portal import labels
from portal.cases.lifecycle import ACTIONS
from portal.extensions import looked_up
from portal.models import Building, Case, Category, Department, Role, Unit, User
from portal.messages import render
from portal.models.cases import place_label
from portal.sla.deadlines import urgency_of
from portal.templating import TimeLeft, clock_label
from portal.timeutil import fmt_dt
from portal.timeutil import utcnow

# What a row's "act" menu offers, by role and state (portal.board.routes.row_forms builds the forms):
# in the department's queue a technician takes (抢单) and the head assigns without opening the case.
ROW_ACTIONS = ("acknowledge", "classify", "dispatch", "accept", "take", "assign", "close")


def actionable_statuses(role: Role) -> frozenset:
    """States in which a row offers this role its "act" menu."""
    return frozenset(s for name in ROW_ACTIONS if role in ACTIONS[name].roles for s in ACTIONS[name].sources)


@dataclass(slots=True)
class RowView:
    """One list row, every value already formatted for the viewer's language and clock."""

    id: int
    number: str
    reopen_count: int
    summary: str
    received: str
    kind: str
    channel: str
    category: str
    place: str
    resident: str
    severity: str  # enum value, '' when not classified
    severity_label: str
    urgent: bool
    status: str
    status_label: str
    department: str
    urgency: str  # 'overdue' / 'warn' / 'ok' / 'paused' / ''
    due_clock: str
    time_left: str
    promised: str
    actionable: bool
    assignee: str  # the department's technician, '' when unassigned


def _truncate(text: str | None, length: int = 60, leeway: int = 5) -> str:
    """Jinja's `truncate(60)`: whole when within the leeway, else cut at a word with "..."."""
    text = text or ""
    if len(text) <= length + leeway:
        return text
    return text[: length - 3].rsplit(" ", 1)[0] + "..."


# Column rows: what RowView needs, in one SELECT of the case table with a scalar subquery per
# name. Not outer joins: PostgreSQL plans a six-table join afresh for every page (~5 ms,
# more than running it); subqueries on primary keys plan in well under a millisecond and
# run only for the page's rows.
ROW_COLUMNS = (
    Case.id, Case.number, Case.reopen_count, func.substr(Case.description, 1, 66).label("summary"),
    Case.description_msg,
    Case.received_at, Case.kind, Case.channel, Case.location_type, Case.location, Case.contact_name,
    Case.severity, Case.urgent, Case.status, Case.due_at, Case.remind_at, Case.due_clock, Case.sla_paused,
    Case.promised_at, Case.misconduct,
    looked_up(Category.name, Category.id == Case.category_id, "category_name"),
    looked_up(Department.name, Department.id == Case.department_id, "department_name"),
    looked_up(Unit.number, Unit.id == Case.unit_id, "unit_number"),
    looked_up(Building.name, (Building.id == Unit.building_id) & (Unit.id == Case.unit_id), "building_name"),
    looked_up(User.display_name, User.id == Case.resident_id, "resident_name"),
    looked_up(User.display_name, User.id == Case.assignee_id, "assignee_name"),
)


class _CaseValues:
    """A Case object seen through the column names of ROW_COLUMNS (one row re-rendered after an action)."""

    def __init__(self, case: Case):
        self._case = case

    def __getattr__(self, name):
        case = self._case
        if name == "summary":
            return (case.description or "")[:66]
        if name == "category_name":
            return case.category.name if case.category else None
        if name == "department_name":
            return case.department.name if case.department else None
        if name == "building_name":
            return case.unit.building.name if case.unit else None
        if name == "unit_number":
            return case.unit.number if case.unit else None
        if name == "resident_name":
            return case.resident.display_name if case.resident else None
        if name == "assignee_name":
            return case.assignee.display_name if case.assignee else None
        return getattr(case, name)


class Labels:
    """The enum label tables and time phrases of the current language, looked up once per page."""

    def __init__(self):
        self.kind, self.channel = labels.table(labels.KIND), labels.table(labels.CHANNEL)
        self.severity, self.status = labels.table(labels.SEVERITY), labels.table(labels.STATUS)
        self.time_left = TimeLeft()
        self.withheld = _("Withheld (complaint about staff)")


def row_view(c, now: datetime, actionable: frozenset, t: Labels, withhold: bool = False) -> RowView:
    """The row's display values from column values (or a Case via _CaseValues).

    `withhold`: the viewer is a department, which must not learn who complained about one of its
    staff (SPEC §9, portal.privacy): on a misconduct complaint the place and the resident are withheld."""
    severity, status = c.severity, c.status
    hidden = withhold and c.misconduct
    u = urgency_of(status, c.sla_paused, c.due_at, c.remind_at, now)
    # A description the system wrote (portal.messages) reads in the viewer's language; people's as typed.
    summary = render(c.description_msg)[:66] if c.description_msg else c.summary
    return RowView(
        id=c.id, number=c.number, reopen_count=c.reopen_count or 0, summary=_truncate(summary),
        received=fmt_dt(c.received_at, "%m-%d %H:%M"),
        kind=t.kind[c.kind.value], channel=t.channel[c.channel.value],
        category=c.category_name or "—",
        place=t.withheld if hidden else place_label(c.location_type, c.building_name, c.unit_number, c.location) or "—",
        resident=t.withheld if hidden else c.resident_name or c.contact_name or "—",
        severity=severity.value if severity else "", severity_label=t.severity[severity.value] if severity else "",
        urgent=bool(c.urgent), status=status.value, status_label=t.status[status.value],
        department=c.department_name or "—", urgency=u,
        due_clock=clock_label(c.due_clock) if u and u != "paused" else "",
        time_left=t.time_left(c.due_at, now) if u and u != "paused" else "",
        promised=fmt_dt(c.promised_at, "%m-%d %H:%M") if c.promised_at else "",
        actionable=c.status in actionable, assignee=c.assignee_name or "",
    )


def case_row(case: Case, role: Role) -> RowView:
    return row_view(_CaseValues(case), utcnow(), actionable_statuses(role), Labels(), withhold=role == Role.DEPARTMENT)


class UrlPattern:
    """url_for once per list, then one concatenation per row (same URL, with any script root)."""

    SENTINEL = 2147483647

    def __init__(self, endpoint: str, **values):
        self.prefix, self.suffix = url_for(endpoint, case_id=self.SENTINEL, **values).split(str(self.SENTINEL))

    def __call__(self, case_id: int) -> str:
        return f"{self.prefix}{case_id}{self.suffix}"


def row_urls() -> dict:
    return {"case": UrlPattern("cases.detail"), "actions": UrlPattern("board.row_actions")}
