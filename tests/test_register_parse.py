"""Reading and checking a property register: encodings, layouts, mobiles, dates, and every bad-row reason."""
from __future__ import annotations

from datetime import date

import pytest

from portal.models import Relation
from portal.register import parse
from portal.register.parse import FileRefused
from portal.register.validate import area_of, date_of, mobile_of, validate
from tests.register_files import HEADER, ROWS, csv_bytes, xlsx_bytes

TODAY = date(2026, 11, 30)


@pytest.fixture(autouse=True)
def english(app):
    """Messages made outside a request follow the default locale (Chinese); these tests read English."""
    from flask_babel import force_locale
    with force_locale("en"):
        yield


def check(data: bytes, filename: str = "register.csv"):
    return validate(parse.read(data, filename), TODAY)


@pytest.mark.parametrize("raw,expected", [
    ("13800001111", "13800001111"), ("+86 138 0000 1111", "13800001111"), ("0086-138-0000-1111", "13800001111"),
    ("138-0000-1111", "13800001111"), ("+8613800001111", "13800001111"), (13800001111, "13800001111"),
    (13800001111.0, "13800001111"), ("１３８００００１１１１", "13800001111"), ("(+86) 138 0000 1111", "13800001111"),
    ("1380000111", None), ("23800001111", None), ("138000011112", None), ("010-12345678", None), ("abc", None),
])
def test_mobiles_lose_country_code_spaces_and_dashes(raw, expected, app):
    assert mobile_of(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("2024-03-01", date(2024, 3, 1)), ("2024/3/1", date(2024, 3, 1)), ("2024.03.01", date(2024, 3, 1)),
    ("2024年3月1日", date(2024, 3, 1)), ("20240301", date(2024, 3, 1)), (45352, date(2024, 3, 1)),
    (date(2024, 3, 1), date(2024, 3, 1)),
])
def test_dates_in_the_forms_people_write(raw, expected):
    assert date_of(raw) == expected


@pytest.mark.parametrize("raw", ["2024-13-01", "yesterday", "2024-02-30", 5])
def test_nonsense_dates_are_refused(raw):
    with pytest.raises(ValueError):
        date_of(raw)


def test_areas_accept_units_and_refuse_nonsense():
    assert area_of("89.5㎡") == 89.5 and area_of(120) == 120.0 and area_of("1,200") == 1200.0
    for bad in ("-3", "0", "big", "nan", "1e9"):
        with pytest.raises(ValueError):
            area_of(bad)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_in_every_encoding_excel_saves(app, encoding):
    register = check(csv_bytes(encoding=encoding))
    assert not register.problems
    assert [r.label for r in register.rows] == ["1栋-0101", "1栋-0102", "2栋-1201"]
    first = register.rows[0]
    assert first.area == 89.5
    assert [(p.name, p.mobile, p.relation) for p in first.residents] == [
        ("张三", "13800001111", Relation.OWNER), ("李梅", "13900002222", Relation.FAMILY)]
    assert register.rows[1].residents[0].mobile == "13800003333"
    assert register.rows[1].residents[0].moved_in == date(2024, 3, 15)
    assert register.rows[2].residents[0].moved_in is None and register.rows[2].area is None


def test_xlsx_written_by_openpyxl_reads_like_the_csv(app):
    rows = [list(r) for r in ROWS]
    rows[0][1], rows[0][2], rows[0][6] = "0101", 89.5, date(2020, 5, 1)  # typed cells, a real date
    rows[2][4] = 13800004444  # a mobile stored as a number
    register = check(xlsx_bytes(rows), "register.xlsx")
    assert not register.problems
    assert register.rows[0].residents[0].moved_in == date(2020, 5, 1)
    assert register.rows[2].residents[0].mobile == "13800004444"


def test_english_headers_and_tab_separated_text(app):
    header = ["Building", "Unit", "Area (m²)", "Resident 1 name", "Resident 1 mobile", "Resident 1 relation",
              "Resident 1 moved in"]
    data = "\t".join(header) + "\n" + "\t".join(["A", "101", "70", "Li Lei", "13812345678", "tenant", "2023-1-2"])
    register = check(data.encode("utf-8"))
    assert not register.problems
    assert register.rows[0].residents[0].relation == Relation.TENANT


def test_every_bad_row_is_named_with_line_column_and_reason(app):
    rows = [
        ["1栋", "", "", "张三", "13800001111", "业主", "", "", "", "", ""],  # line 2: missing unit number
        ["1栋", "0101", "abc", "张三", "13800001111", "业主", "", "", "", "", ""],  # 3: bad area
        ["1栋", "0102", "", "王五", "1380000333", "业主", "", "", "", "", ""],  # 4: malformed mobile
        ["1栋", "0103", "", "赵六", "13800004444", "房东", "", "", "", "", ""],  # 5: unknown relation
        ["1栋", "0104", "", "钱七", "13800005555", "租户", "2024-02-30", "", "", "", ""],  # 6: bad date
        ["1栋", "0101", "", "孙八", "13800006666", "业主", "", "", "", "", ""],  # 7: duplicate of line 3? (bad) no
        ["1栋", "0105", "", "孙八", "13800006666", "业主", "", "", "", "", ""],  # 8: fine
        ["1栋", "0105", "", "周九", "13800007777", "业主", "", "", "", "", ""],  # 9: duplicate unit
        ["1栋", "0106", "", "吴十", "13800006666", "业主", "", "", "", "", ""],  # 10: mobile of 孙八
        ["1栋", "0107", "", "", "13800008888", "业主", "", "", "", "", ""],  # 11: missing name
    ]
    register = check(csv_bytes(rows))
    found = {(p.line, p.column): p.message for p in register.problems}
    assert "missing unit number" in found[(2, "B 房号")]
    assert "area" in found[(3, "C 面积(㎡)")]
    assert "mobile" in found[(4, "E 住户1手机")]
    assert "relation" in found[(5, "F 住户1关系")]
    assert "move-in date" in found[(6, "G 住户1入住日期")]
    assert "already on line 8" in found[(9, "B 房号")]
    assert "belongs to 孙八 on line 7" in found[(10, "D 住户1姓名")]
    assert "missing name" in found[(11, "D 住户1姓名")]
    assert register.bad_lines == [2, 3, 4, 5, 6, 9, 10, 11]
    assert [r.line for r in register.rows] == [7, 8]


def test_a_unit_listed_twice_with_the_same_data_is_a_duplicate(app):
    register = check(csv_bytes([ROWS[0], ROWS[0]]))
    assert [(p.line, p.column) for p in register.problems] == [(3, "B 房号")]


@pytest.mark.parametrize("data,filename,phrase", [
    (b"", "x.csv", "empty"),
    (b"   \r\n\r\n", "x.csv", "empty"),
    ("楼栋,房号\r\n".encode("utf-8"), "x.csv", "no units"),
    ("姓名,电话\r\n张三,13800001111\r\n".encode("utf-8"), "x.csv", "楼栋"),
    (b"PK\x03\x04broken zip", "x.xlsx", "damaged"),
    (b"not a zip at all", "x.xlsx", "damaged"),
    (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "x.xls", ".xls"),
    (bytes(range(256)) * 4, "x.csv", "UTF-8 or GBK"),
    ("楼栋,房号,房号\r\n1栋,1,2\r\n".encode("utf-8"), "x.csv", "twice"),
    ('楼栋,房号\r\n1栋,"0101\r\n'.encode("utf-8") + b"x" * 200_000, "x.csv", "malformed"),
])
def test_unusable_files_are_refused_with_a_message(app, data, filename, phrase):
    with pytest.raises(FileRefused) as refused:
        check(data, filename)
    assert phrase in str(refused.value)


def test_an_empty_workbook_is_refused(app):
    from openpyxl import Workbook
    import io
    out = io.BytesIO()
    Workbook().save(out)
    with pytest.raises(FileRefused, match="empty"):
        check(out.getvalue(), "x.xlsx")


def test_size_and_row_limits(app, monkeypatch):
    with pytest.raises(FileRefused, match="5 MB"):
        check(b"x" * (parse.MAX_BYTES + 1))
    monkeypatch.setattr(parse, "MAX_ROWS", 3)
    rows = [["1栋", f"{n:04d}", "", f"住户{n}", f"138{n:08d}", "业主", "", "", "", "", ""] for n in range(4)]
    with pytest.raises(FileRefused, match="more than 3 units"):
        check(csv_bytes(rows))
    assert len(check(csv_bytes(rows[:3])).rows) == 3


def test_a_register_of_owners_without_a_relation_column(app):
    for header in ("业主姓名,业主手机", "姓名,手机"):
        register = check(f"楼栋,房号,{header}\r\n1栋,0101,张三,13800001111\r\n".encode("gbk"))
        assert not register.ignored
        assert register.rows[0].residents[0].relation == Relation.OWNER


def test_unknown_columns_are_reported_not_fatal(app):
    register = check(csv_bytes([r + ["备注"] for r in ROWS], HEADER + ["备注"]))
    assert register.ignored == ["备注"] and not register.problems
