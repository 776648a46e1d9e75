"""CSV of any board view and the XLSX behind a monthly report (XlsxWriter, rows streamed to a temp file)."""
from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import datetime
from typing import IO, Iterable, Iterator

import xlsxwriter
from flask_babel import gettext as _
from sqlalchemy import select

from portal import labels
from portal.extensions import db, looked_up
from portal.models import Building, CallbackRecord, CallbackTask, Case, Category, Department, Unit
from portal.reports import stats
from portal.reports.periods import Scope
from portal.reports.stats import case_scope, task_site
from portal.timeutil import local_now, to_local

CHUNK = 1000
READ = 64 * 1024


def case_header() -> list[str]:
    return [_("Case number"), _("Kind"), _("Channel"), _("Status"), _("Severity"), _("Category"), _("Department"),
            _("Building"), _("Received"), _("Resolved"), _("Closed"), _("Working hours to resolve"),
            _("Reopened"), _("Repeat")]


def _local(value: datetime | None) -> datetime | None:
    """A stored time as a naive local time: spreadsheets have no zones."""
    local = to_local(value)
    return local.replace(tzinfo=None) if local else None


# What a case's export row shows, as plain columns: tuples, not ORM objects with their relations
# (a month at a million cases is ~40k of them; 1,000 loaded Case objects held ~10 MB).
EXPORT_COLUMNS = (
    Case.id, Case.number, Case.kind, Case.channel, Case.status, Case.severity,
    looked_up(Category.name, Category.id == Case.category_id, "category_name"),
    looked_up(Department.name, Department.id == Case.department_id, "department_name"),
    looked_up(Building.name, (Building.id == Unit.building_id) & (Unit.id == Case.unit_id), "building_name"),
    Case.received_at, Case.resolved_at, Case.closed_at, Case.resolve_work_seconds, Case.reopen_count, Case.repeat,
)


def case_values(c) -> list:
    """One exported case (a row of EXPORT_COLUMNS) as typed values: no resident name, phone or texts
    (exports leave the portal)."""
    hours = round(c.resolve_work_seconds / 3600, 2) if c.resolve_work_seconds is not None else None
    return [c.number, labels.label(labels.KIND, c.kind), labels.label(labels.CHANNEL, c.channel),
            labels.label(labels.STATUS, c.status), labels.label(labels.SEVERITY, c.severity),
            c.category_name or "", c.department_name or "", c.building_name or "",
            _local(c.received_at), _local(c.resolved_at), _local(c.closed_at), hours, c.reopen_count,
            _("yes") if c.repeat else ""]


def case_row(c) -> list:
    """One case as CSV cells (times as local text)."""
    return ["" if v is None else v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v
            for v in case_values(c)]


def iter_cases(stmt) -> Iterator:
    """The cases a SELECT of Case picks, in id order, as rows of EXPORT_COLUMNS, a chunk at a time."""
    columns = stmt.with_only_columns(*EXPORT_COLUMNS, maintain_column_froms=False).select_from(Case)
    last = 0
    while True:
        rows = db.session.execute(columns.where(Case.id > last).order_by(None).order_by(Case.id).limit(CHUNK)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


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


def callback_rows(scope: Scope) -> Iterator[list]:
    """Callback tasks due in the month with their latest answer, a chunk at a time."""
    from portal.callbacks.labels import KIND, METHOD, SATISFACTION, STATUS as TASK_STATUS
    # Plain columns, not ORM objects: a month at a million cases holds ~12k tasks.
    stmt = (select(CallbackTask.id, CallbackTask.kind, CallbackTask.status, CallbackTask.due_at,
                   CallbackTask.attempts, Case.number).outerjoin(Case, Case.id == CallbackTask.case_id)
            .where(CallbackTask.due_at >= scope.start, CallbackTask.due_at < scope.end, task_site(scope))
            .order_by(CallbackTask.id))
    last = 0
    while True:
        tasks = db.session.execute(stmt.where(CallbackTask.id > last).limit(CHUNK)).all()
        if not tasks:
            return
        latest = {}
        for rec in db.session.execute(
                select(CallbackRecord.task_id, CallbackRecord.at, CallbackRecord.method, CallbackRecord.reached,
                       CallbackRecord.satisfaction)
                .where(CallbackRecord.task_id.in_([t.id for t in tasks])).order_by(CallbackRecord.id)):
            latest[rec.task_id] = rec
        for task in tasks:
            rec = latest.get(task.id)
            yield [task.id, labels.label(KIND, task.kind), task.number or "", labels.label(TASK_STATUS, task.status),
                   _local(task.due_at), task.attempts, _local(rec.at) if rec else None,
                   labels.label(METHOD, rec.method) if rec else "",
                   (_("yes") if rec.reached else _("no")) if rec else "",
                   labels.label(SATISFACTION, rec.satisfaction) if rec and rec.satisfaction else ""]
        last = tasks[-1].id


def summary_rows(scope: Scope) -> list[list]:
    """The month's figures against the targets: one row per rate, then the case counts by kind."""
    fig = stats.figures(scope)
    rows = [[_("Measure"), _("Hits"), _("Total"), _("Percent"), _("Target (%)"), _("Met")]]
    for key, rate in fig["rates"].items():
        met = "" if rate["met"] is None else _("yes") if rate["met"] else _("no")
        rows.append([str(stats.RATE_LABELS[key]), rate["hits"], rate["total"],
                     None if rate["percent"] is None else rate["percent"] / 100,
                     rate["target"], met])
    rows.append([])
    rows.append([_("Cases received"), fig["total"]])
    for kind, n in fig["counts"]["kind"]:
        rows.append([labels.label(labels.KIND, kind), n])
    return rows


# Width in characters per column of each sheet (Chinese characters count about two).
WIDTHS = {"cases": [16, 8, 10, 10, 8, 16, 14, 14, 17, 17, 17, 12, 8, 8],
          "callbacks": [8, 12, 16, 10, 17, 8, 17, 10, 8, 12],
          "summary": [24, 10, 10, 10, 10, 8]}


def _table(book, sheet, header: list, rows: Iterable[list], widths: list[int], formats: dict) -> None:
    """Header in bold, frozen and filtered; cells by type (dates and numbers stay numbers)."""
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    sheet.write_row(0, 0, header, formats["head"])
    sheet.freeze_panes(1, 0)
    n = 0
    for n, row in enumerate(rows, 1):
        for col, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, datetime):
                sheet.write_datetime(n, col, value, formats["date"])
            elif isinstance(value, bool):
                sheet.write_boolean(n, col, value)
            elif isinstance(value, (int, float)):
                sheet.write_number(n, col, value)
            else:
                sheet.write_string(n, col, str(value))
    sheet.autofilter(0, 0, max(n, 1), len(header) - 1)


def write_month(scope: Scope, out: IO[bytes] | str) -> None:
    """Summary, cases and callbacks of a month into a workbook written row by row (constant memory)."""
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "tmpdir": tempfile.gettempdir()})
    formats = {"head": book.add_format({"bold": True, "bg_color": "#E8F1EE", "bottom": 1}),
               "date": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
               "percent": book.add_format({"num_format": "0.0%"})}
    summary = book.add_worksheet(_("Summary")[:31])
    rows = summary_rows(scope)
    for col, width in enumerate(WIDTHS["summary"]):
        summary.set_column(col, col, width)
    summary.write(0, 0, _("Month %(month)s", month=scope.month), formats["head"])
    summary.write_row(2, 0, rows[0], formats["head"])
    for r, row in enumerate(rows[1:], 3):
        for col, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                summary.write_number(r, col, value, formats["percent"] if col == 3 else None)
            else:
                summary.write_string(r, col, str(value))
    cases = select(Case).where(case_scope(scope))
    _table(book, book.add_worksheet(_("Cases")[:31]), case_header(),
           (case_values(c) for c in iter_cases(cases)), WIDTHS["cases"], formats)
    _table(book, book.add_worksheet(_("Callbacks")[:31]), callback_header(), callback_rows(scope),
           WIDTHS["callbacks"], formats)
    book.close()


def month_file(scope: Scope) -> str:
    """The month's workbook written to a temp file; returns its path (the caller streams and removes it)."""
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="report-")
    os.close(fd)
    try:
        write_month(scope, path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def stream(path: str) -> Iterator[bytes]:
    """A file's bytes a block at a time; the file is removed once opened (POSIX keeps it readable)."""
    with open(path, "rb") as fh:
        remove(path)
        while block := fh.read(READ):
            yield block


def remove(path: str) -> None:
    """Drop a temp file; also called when the response closes unread."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def stamp() -> str:
    """Now in the portal's time zone, for file names."""
    return local_now().strftime("%Y%m%d-%H%M")
