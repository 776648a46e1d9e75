"""Reading a register file (XLSX or CSV) into raw rows of text; nothing about units yet.

Limits are checked here, before anything is decoded into rows: size, row count, columns.
Every refusal is a `FileRefused` whose message is shown beside the upload field.
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _

MAX_BYTES = 5 * 1024 * 1024  # 5 MB: a 20,000-unit register with three residents each is under 3 MB
MAX_ROWS = 20_000  # data rows (units), not counting the header
MAX_COLUMNS = 64
MAX_CELL = 200  # characters kept from one cell; longer values are refused by validation
MAX_LINES = 100_000  # rows read at all, blank ones included (a sheet "used" down to row 1,048,576)

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and password-protected .xlsx)


class FileRefused(ValueError):
    """The whole file cannot be used; the message says why, in the user's language."""


@dataclass
class Sheet:
    """The header row and the data rows, each cell as stripped text; `lines` are 1-based row numbers."""
    header: list[str]
    header_line: int
    rows: list[tuple[int, list]]  # (line, cells): cells are str, int, float, date or None


def read(data: bytes, filename: str = "") -> Sheet:
    """The sheet in an XLSX or CSV file; FileRefused for anything unusable."""
    if len(data) > MAX_BYTES:
        raise FileRefused(too_large_message())
    if not data.strip():
        raise FileRefused(_("The file is empty."))
    name = (filename or "").lower()
    if data.startswith(OLE_MAGIC) or name.endswith(".xls"):
        raise FileRefused(_("This is an old Excel .xls file (or a password-protected one). "
                            "Save it as .xlsx or CSV and upload again."))
    if data.startswith(XLSX_MAGIC):
        rows = _xlsx_rows(data)
    elif name.endswith((".xlsx", ".xlsm")):
        raise FileRefused(_("This .xlsx file is damaged and cannot be read. Open it in Excel, save it again "
                            "and upload it, or save it as CSV."))
    else:
        rows = _csv_rows(data)
    return _sheet(rows)


def too_large_message() -> str:
    return _("The file is larger than %(mb)d MB. Split the register into several files (by building) "
             "and import them one after another.", mb=MAX_BYTES // (1024 * 1024))


def _xlsx_rows(data: bytes):
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001  (openpyxl raises many kinds for a broken file)
        if isinstance(error, (MemoryError, RecursionError)):
            raise FileRefused(_("This .xlsx file is too complex to read.")) from None
        raise FileRefused(_("This .xlsx file is damaged and cannot be read. Open it in Excel, save it again "
                            "and upload it, or save it as CSV.")) from None
    try:
        if not book.worksheets:
            raise FileRefused(_("The workbook has no sheet."))
        sheet = book.worksheets[0]
        # The sheet's recorded width, when it has one, saves padding every row to MAX_COLUMNS cells.
        width = sheet.max_column if isinstance(sheet.max_column, int) and sheet.max_column > 0 else MAX_COLUMNS
        for line, values in enumerate(sheet.iter_rows(max_col=min(width, MAX_COLUMNS), values_only=True), start=1):
            yield line, [_cell(v) for v in values]
    except FileRefused:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError, SyntaxError):
        raise FileRefused(_("This .xlsx file is damaged and cannot be read. Open it in Excel, save it again "
                            "and upload it, or save it as CSV.")) from None
    finally:
        book.close()


def _cell(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, (date, int, float)) and not isinstance(value, bool):
        return value
    text = str(value).replace("\x00", "").strip()
    return text[: MAX_CELL + 1] or None


def decode(data: bytes) -> str:
    """CSV text: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else GB18030 (GBK)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if "\x00" not in text:  # binary junk that happens to decode
                return text
    raise FileRefused(_("The file is neither an .xlsx workbook nor a CSV file in UTF-8 or GBK. In Excel choose "
                        "Save As → \"CSV UTF-8\" (or \"CSV\") and upload again."))


def _csv_rows(data: bytes):
    text = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for line, values in enumerate(reader, start=1):
            if len(values) > MAX_COLUMNS:
                values = values[:MAX_COLUMNS]
            yield line, [_cell(v) for v in values]
    except csv.Error:
        raise FileRefused(_("The CSV file is malformed near line %(line)d (an unclosed quote or a cell "
                            "that is far too long).", line=reader.line_num)) from None


def _sheet(rows) -> Sheet:
    header, header_line, body = None, 0, []
    for line, cells in rows:
        if line > MAX_LINES:
            raise FileRefused(_("The sheet runs to more than %(n)s rows (blank rows included). Delete the "
                                "rows below the register and upload again.", n=f"{MAX_LINES:,}"))
        if not any(c not in (None, "") for c in cells):
            continue  # blank rows anywhere are skipped
        if header is None:
            header, header_line = [str(c) if c is not None else "" for c in cells], line
            continue
        if len(body) >= MAX_ROWS:
            raise FileRefused(_("The file has more than %(n)s units. Split the register into several files "
                                "(by building) and import them one after another.", n=f"{MAX_ROWS:,}"))
        body.append((line, cells))
    if header is None:
        raise FileRefused(_("The file has no rows: the first sheet is empty."))
    if not body:
        raise FileRefused(_("The file has a header row but no units under it."))
    return Sheet(header, header_line, body)
