"""The reference stamp: category, department and estate changes move it, case changes do not; what is
kept under it (choices, filter and bulk forms) shows a change at once, in every process, cache on or off."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from portal import stamp
from portal.extensions import db
from portal.models import Category, CategoryOverride, DataStamp, Department, Estate, Role
from tests import factories
from tests.conftest import login_as
from tests.test_list_cache import two_apps  # noqa: F401  (the fixture: two app instances, one database)


def stamps() -> tuple[int, int]:
    db.session.expire_all()
    found = dict(db.session.execute(select(DataStamp.id, DataStamp.n)).all())
    return found[stamp.LISTS], found[stamp.REFERENCE]


def test_case_changes_move_the_data_stamp_only(people):
    lists, reference = stamps()
    case = factories.case(people["resident"])
    db.session.commit()
    case.location = "东门岗亭"
    db.session.commit()
    assert stamps() == (lists + 2, reference)


@pytest.mark.parametrize("change", ["category", "department", "estate", "override", "bulk"])
def test_reference_changes_move_both_stamps(people, change):
    ref = people["ref"]
    lists, reference = stamps()
    if change == "category":
        ref["water"].name = "给排水"
    elif change == "department":
        db.session.add(Department(code="green", name="绿化部"))
    elif change == "estate":
        db.session.get(Estate, ref["estate"].id).name = "测试花园二期"
    elif change == "override":  # the estate switches a company category off: its cases are offered less
        db.session.add(CategoryOverride(estate_id=ref["estate"].id, category_id=ref["water"].id, active=False))
    else:  # a bulk statement, not through the unit of work
        db.session.execute(update(Category).where(Category.id == ref["water"].id).values(position=9))
    db.session.commit()
    assert stamps() == (lists + 1, reference + 1)


def test_a_rolled_back_reference_change_moves_nothing(people):
    before = stamps()
    people["ref"]["water"].name = "不要了"
    db.session.flush()
    db.session.rollback()
    assert stamps() == before


@pytest.mark.parametrize("list_cache", [256, 0])
def test_a_renamed_category_shows_at_once_in_the_filters_and_the_bulk_form(app, as_, people, list_cache):
    app.config["LIST_CACHE_SIZE"] = list_cache
    manager = as_("manager")
    first = manager.get("/board").get_data(as_text=True)
    assert first.count(people["ref"]["water"].name) >= 2  # the filter's and the bulk form's options
    assert app.extensions["portal_reference_cache"]._items  # kept, with or without the render cache
    factories.case(people["resident"])  # a case change: the kept forms are used again
    db.session.commit()
    hits = stamp.reference_cache().hits
    assert people["ref"]["water"].name in manager.get("/board").get_data(as_text=True)
    assert stamp.reference_cache().hits > hits
    db.session.get(Category, people["ref"]["water"].id).name = "给排水维修"
    db.session.commit()
    after = manager.get("/board").get_data(as_text=True)
    assert after.count("给排水维修") >= 2


def test_the_reference_cache_can_be_turned_off(app, as_, people):
    app.config["REFERENCE_CACHE_SIZE"] = 0
    assert people["ref"]["water"].name in as_("manager").get("/board").get_data(as_text=True)
    assert not stamp.reference_cache()._items and stamp.reference_cache().hits == 0


def test_a_rename_in_one_process_shows_in_the_others_kept_filters(two_apps):  # noqa: F811
    a, b = two_apps
    ref = factories.reference()
    manager = factories.user(Role.MANAGER)
    db.session.commit()
    water_id = ref["water"].id
    viewer = a.test_client()
    login_as(viewer, manager)
    assert ref["water"].name in viewer.get("/board").get_data(as_text=True)
    assert a.extensions["portal_reference_cache"]._items
    with b.app_context():  # b renames the category (as the admin screen in another process would)
        db.session.get(Category, water_id).name = "给排水维修"
        db.session.commit()
    assert "给排水维修" in viewer.get("/board").get_data(as_text=True)


def test_the_case_page_reads_the_choice_lists_once_per_reference_change(app, as_, people):
    from tests.test_board_queries import count_statements
    app.config["LIST_CACHE_SIZE"] = 0  # the case page's forms reuse the kept lists with the render cache off
    case = factories.case(people["resident"])
    db.session.commit()
    clerk = as_("clerk")
    first = count_statements(clerk, f"/cases/{case.id}")
    again = count_statements(clerk, f"/cases/{case.id}")
    assert again < first  # the classify and dispatch forms' category and department lists are kept
    case.location = "东门岗亭"  # a case change: still kept
    db.session.commit()
    assert count_statements(clerk, f"/cases/{case.id}") == again
    db.session.get(Category, people["ref"]["water"].id).position = 5  # a reference change: read again
    db.session.commit()
    assert count_statements(clerk, f"/cases/{case.id}") == first
