"""Register files for the import tests: CSV text in any encoding, XLSX written with openpyxl."""
from __future__ import annotations

import io

HEADER = ["楼栋", "房号", "面积(㎡)", "住户1姓名", "住户1手机", "住户1关系", "住户1入住日期",
          "住户2姓名", "住户2手机", "住户2关系", "住户2入住日期"]
ROWS = [
    ["1栋", "0101", "89.5", "张三", "13800001111", "业主", "2020-05-01", "李梅", "139 0000 2222", "家属", "2020-05-01"],
    ["1栋", "0102", "120", "王五", "+86 138-0000-3333", "租户", "2024/3/15", "", "", "", ""],
    ["2栋", "1201", "", "赵六", "0086 13800004444", "owner", "", "", "", "", ""],
]


def csv_bytes(rows=ROWS, header=HEADER, encoding="utf-8-sig") -> bytes:
    import csv
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows=ROWS, header=HEADER) -> bytes:
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
