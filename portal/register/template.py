"""The downloadable template: the column layout with three example units (XLSX and CSV)."""
from __future__ import annotations

import csv
import io
from datetime import date

GROUPS = 3  # resident column groups shown; up to validate.MAX_GROUPS are read
PARTS = ("姓名", "手机", "关系", "入住日期")
HEADER = ["楼栋", "房号", "面积(㎡)"] + [f"住户{n}{p}" for n in range(1, GROUPS + 1) for p in PARTS]
EXAMPLES = [
    ["1栋", "0101", 89.5, "张三", "13800001111", "业主", date(2020, 5, 1),
     "李梅", "139 0000 2222", "家属", date(2020, 5, 1), "张小明", "+86 137-0000-5555", "家属", date(2021, 9, 1)],
    ["1栋", "0102", 120, "王五", "13800003333", "租户", date(2024, 3, 15)],
    ["2栋", "1201", None, "赵六", "138-0000-4444", "业主", None],
]
NOTES = [
    "每行一户（一个房号）。楼栋、房号必填；面积可空。",
    "每户可填多名住户：住户1、住户2、住户3……（最多10组，按同样的列名继续往右加）。",
    "关系：业主、家属、租户（也接受 owner / family / tenant）。",
    "手机：11位大陆手机号；+86、0086、空格和横线会被去掉。",
    "入住日期：如 2024-03-01；空着则按导入当天，已有住户保留原日期。",
    "房号请保持文本格式（0101 不要变成 101）。",
    "同一文件再次导入不会重复创建；导入从不删除或迁出住户。",
    "文件不超过 5 MB、20,000 户；CSV 可为 UTF-8 或 GBK 编码。",
]


def csv_bytes() -> bytes:
    """UTF-8 with a BOM, so Excel in China opens it with the right characters."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in EXAMPLES:
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, date) else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes() -> bytes:
    import xlsxwriter
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet = book.add_worksheet("房产台账")
    sheet.write_row(0, 0, HEADER, bold)
    sheet.freeze_panes(1, 2)
    for index, title in enumerate(HEADER):
        fmt = text if title in ("楼栋", "房号") or title.endswith(("手机", "姓名", "关系")) else \
            day if title.endswith("日期") else None
        sheet.set_column(index, index, 14 if title.endswith(("手机", "日期")) else 10, fmt)
    for r, row in enumerate(EXAMPLES, start=1):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(r, c, value, day)
            elif value is not None:
                sheet.write(r, c, value, text if isinstance(value, str) else None)
    notes = book.add_worksheet("说明")
    notes.set_column(0, 0, 80)
    for r, line in enumerate(NOTES):
        notes.write(r, 0, line)
    book.close()
    return out.getvalue()
