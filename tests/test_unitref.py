"""Reading a unit the way callers say it (portal.unitref), and the desk's resident search using it."""
import pytest
from hypothesis import given, strategies as st

from portal import unitref
from portal.unitref import UnitRef

SAID = [
    ("5栋0802", UnitRef("5", "0802")),
    ("5-0802", UnitRef("5", "0802")),
    ("5栋 802", UnitRef("5", "0802")),
    ("5号楼802", UnitRef("5", "0802")),
    ("5幢802室", UnitRef("5", "0802")),
    ("5#802", UnitRef("5", "0802")),
    ("5/802", UnitRef("5", "0802")),
    ("5 0802", UnitRef("5", "0802")),
    ("5栋-0802", UnitRef("5", "0802")),
    ("５栋０８０２", UnitRef("5", "0802")),  # full-width digits from a Chinese keyboard
    ("5栋8楼02", UnitRef("5", "0802")),
    ("5栋8层2号", UnitRef("5", "0802")),
    ("5栋2单元802", UnitRef("5", "0802")),
    ("05栋802", UnitRef("5", "0802")),
    ("12栋1201", UnitRef("12", "1201")),
    ("12-1201", UnitRef("12", "1201")),
    ("A座1201", UnitRef("A", "1201")),
    ("a座 1201", UnitRef("A", "1201")),
    ("  3栋1201  ", UnitRef("3", "1201")),
]


@pytest.mark.parametrize("text,expected", SAID)
def test_units_are_read_as_callers_say_them(text, expected):
    assert unitref.parse(text) == expected


@pytest.mark.parametrize("text", ["", "张三", "13800138000", "0802", "5栋", "5栋12", "0栋802", "5栋0楼2",
                                  "5栋802 张三", "水管漏水", "5栋12345"])
def test_text_that_is_not_a_unit_is_not_read_as_one(text):
    assert unitref.parse(text) is None


def test_candidates_cover_the_ways_the_register_names_them():
    ref = UnitRef("5", "0802")
    assert {"5栋", "5号楼", "5幢", "5座", "5"} <= set(unitref.building_names(ref))
    assert unitref.unit_numbers(ref) == ["0802", "802"]


FORMS = ["{b}栋{u}", "{b}-{u}", "{b}栋 {u}", "{b}号楼{u}", "{b}幢{u}室", "{b}#{u}", "{b}/{u}", "{b} {u}"]


@given(building=st.integers(1, 99), floor=st.integers(1, 40), door=st.integers(1, 9),
       form=st.sampled_from(FORMS), short=st.booleans())
def test_every_spoken_form_reads_the_same_unit(building, floor, door, form, short):
    unit = f"{floor:02d}{door:02d}"
    said = form.format(b=building, u=unit.lstrip("0") if short else unit)
    assert unitref.parse(said) == UnitRef(str(building), unit)


@given(st.text(max_size=60))
def test_any_text_is_read_or_refused_without_error(text):
    ref = unitref.parse(text)
    assert ref is None or (ref.building and len(ref.unit) == 4 and ref.unit.isdigit())
