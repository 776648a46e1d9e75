"""CSV of any board view and the XLSX behind a monthly report (written without extra packages)."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from typing import Iterable, Iterator
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal import labels
from portal.extensions import db
from portal.models import CallbackRecord, CallbackTask, Case, Unit
from portal.reports.periods import Scope
from portal.reports.stats import case_scope, task_site
from portal.timeutil import fmt_dt

CHUNK = 1000


def case_header() -> list[str]:
    return [_("Case number"), _("Kind"), _("Channel"), _("Status"), _("Severity"), _("Category"), _("Department"),
            _("Building"), _("Received"), _("Resolved"), _("Closed"), _("Working hours to resolve"),
            _("Reopened"), _("Repeat")]


def case_row(c: Case) -> list:
    """One case as cells: no resident name, phone or texts (exports leave the portal)."""
    hours = round(c.resolve_work_seconds / 3600, 2) if c.resolve_work_seconds is not None else ""
    return [c.number, labels.label(labels.KIND, c.kind), labels.label(labels.CHANNEL, c.channel),
            labels.label(labels.STATUS, c.status), labels.label(labels.SEVERITY, c.severity),
            c.category.name if c.category else "", c.department.name if c.department else "",
            c.unit.building.name if c.unit else "", fmt_dt(c.received_at), fmt_dt(c.resolved_at),
            fmt_dt(c.closed_at), hours, c.reopen_count, _("yes") if c.repeat else ""]


def iter_cases(stmt) -> Iterator[Case]:
    """Cases of a query in id order, a chunk at a time with their relations joined."""
    last = 0
    while True:
        rows = db.session.scalars(
            stmt.where(Case.id > last).order_by(None).order_by(Case.id).limit(CHUNK)
            .options(joinedload(Case.category), joinedload(Case.department),
                     joinedload(Case.unit).joinedload(Unit.building))).unique().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        db.session.expunge_all()


def csv_lines(stmt) -> Iterator[str]:
    """The board's cases as CSV text with a BOM, so spreadsheet programs read the Chinese right."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(case_header())
    yield "\ufeff" + buf.getvalue()
    for c in iter_cases(stmt):
        buf.seek(0)
        buf.truncate()
        writer.writerow(case_row(c))
        yield buf.getvalue()


def callback_header() -> list[str]:
    return [_("Task"), _("Kind"), _("Case number"), _("Status"), _("Due"), _("Attempts"), _("Answered"),
            _("Method"), _("Reached"), _("Satisfaction")]


def callback_rows(scope: Scope) -> Iterable[list]:
    """Callback tasks due in the month with their latest answer."""
    from portal.callbacks.labels import KIND, METHOD, SATISFACTION, STATUS as TASK_STATUS
    stmt = (select(CallbackTask, Case.number).outerjoin(Case, Case.id == CallbackTask.case_id)
            .where(CallbackTask.due_at >= scope.start, CallbackTask.due_at < scope.end, task_site(scope))
            .order_by(CallbackTask.due_at, CallbackTask.id))
    tasks = db.session.execute(stmt).all()
    latest = {}
    ids = [t.id for t, _n in tasks]
    for i in range(0, len(ids), CHUNK):
        for rec in db.session.scalars(select(CallbackRecord).where(CallbackRecord.task_id.in_(ids[i:i + CHUNK]))
                                      .order_by(CallbackRecord.id)):
            latest[rec.task_id] = rec
    for task, number in tasks:
        rec = latest.get(task.id)
        yield [task.id, labels.label(KIND, task.kind), number or "", labels.label(TASK_STATUS, task.status),
               fmt_dt(task.due_at), task.attempts, fmt_dt(rec.at) if rec else "",
               labels.label(METHOD, rec.method) if rec else "", (_("yes") if rec.reached else _("no")) if rec else "",
               labels.label(SATISFACTION, rec.satisfaction) if rec and rec.satisfaction else ""]


def _col(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _cell(ref: str, value) -> str:
    if isinstance(value, bool) or value is None:
        value = "" if value is None else int(value)
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    text = escape(str(value).replace("\x00", ""))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _sheet(rows: Iterable[list]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for r, row in enumerate(rows, 1):
        out.append(f'<row r="{r}">' + "".join(_cell(f"{_col(c)}{r}", v) for c, v in enumerate(row)) + "</row>")
    out.append("</sheetData></worksheet>")
    return "".join(out)


def xlsx(sheets: list[tuple[str, Iterable[list]]]) -> bytes:
    """A minimal Office Open XML workbook: inline strings, one sheet per (title, rows)."""
    ns = "http://schemas.openxmlformats.org"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{ns}/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.'
                      'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(1, len(sheets) + 1)) + "</Types>"))
        z.writestr("_rels/.rels", (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}/spreadsheetml/2006/main" '
            f'xmlns:r="{ns}/officeDocument/2006/relationships"><sheets>'
            + "".join(f'<sheet name="{escape(t[:31])}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, (t, _rows) in enumerate(sheets, 1)) + "</sheets></workbook>"))
        z.writestr("xl/_rels/workbook.xml.rels", (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{i}" Type="{ns}/officeDocument/2006/relationships/worksheet" '
                      f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(sheets) + 1))
            + "</Relationships>"))
        for i, (_title, rows) in enumerate(sheets, 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", _sheet(rows))
    return buf.getvalue()


def month_workbook(scope: Scope) -> bytes:
    """The cases and callbacks behind a month's report."""
    cases = select(Case).where(case_scope(scope))
    return xlsx([(_("Cases"), [case_header(), *(case_row(c) for c in iter_cases(cases))]),
                 (_("Callbacks"), [callback_header(), *callback_rows(scope)])])


def stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M")
