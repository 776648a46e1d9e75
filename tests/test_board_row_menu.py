"""The board row's menu: labelled fields, no guessed severity, the first reply, dispatch once classified;
standard phrases by use with their placeholders filled."""
from __future__ import annotations

from portal.extensions import db
from portal.models import Phrase
from tests.conftest import htmx_get
from tests.helpers import html, make_case


def row_menu(client, case):
    return html(htmx_get(client, f"/board/rows/{case.id}/actions", "row-forms"))


def test_unclassified_row_offers_first_reply_and_classify_but_not_dispatch(as_, people):
    case = make_case(people)
    menu = row_menu(as_("clerk"), case)
    actions = [f.attrs["data-action"] for f in menu.all("form")]
    assert actions == ["acknowledge", "classify"]


def test_classified_row_offers_dispatch(as_, people):
    case = make_case(people, ["acknowledge", "classify"])
    actions = [f.attrs["data-action"] for f in row_menu(as_("clerk"), case).all("form")]
    assert "dispatch" in actions


def test_no_severity_is_chosen_for_an_unclassified_case(as_, people):
    case = make_case(people)
    select = row_menu(as_("clerk"), case).one("select", id=f"classify-severity-{case.id}")
    chosen = [o for o in select.all("option") if "selected" in o.attrs]
    assert [o.attrs["value"] for o in chosen] in ([], [""])
    assert select.all("option")[0].attrs["value"] == ""


def test_row_fields_have_visible_labels(as_, people):
    case = make_case(people)
    menu = row_menu(as_("clerk"), case)
    for control in menu.all("select") + menu.all("textarea"):
        label = menu.one("label", for_=control.attrs["id"])
        assert label.one("span", cls="row-label").text.strip()


def test_first_reply_from_the_row_offers_phrases_with_placeholders_filled(as_, people):
    db.session.add(Phrase(text="您好，{case} 已收到，经办人 {clerk}。", position=0, use="first_reply"))
    db.session.add(Phrase(text="已完成维修，请验收。", position=0, use="completion"))
    db.session.commit()
    case = make_case(people)
    chips = row_menu(as_("clerk"), case).one(data_testid=f"phrases-acknowledge-{case.id}").all("button")
    texts = [c.attrs["data-insert"] for c in chips]
    assert f"您好，{case.number} 已收到，经办人 {people['clerk'].display_name}。" in texts
    assert "我们会及时把处理结果通知您。" in texts  # a phrase for any reply
    assert "已完成维修，请验收。" not in texts  # for completion only
    assert all(c.attrs["data-into"] == f"acknowledge-note-{case.id}" for c in chips)


def test_estate_phrases_replace_the_companys_for_that_estate(as_, people):
    estate = people["ref"]["estate"]
    db.session.add(Phrase(text="本小区专用：{department}", use="plan", estate_id=estate.id))
    db.session.commit()
    case = make_case(people, ["acknowledge", "classify", "dispatch", "accept"])
    page = html(as_("eng").get(f"/cases/{case.id}"))
    chips = page.one(data_testid="phrases-plan").all("button")
    assert [c.attrs["data-insert"] for c in chips] == ["本小区专用：工程部"]


def test_a_manager_sets_what_a_phrase_is_for(as_, people):
    from tests.conftest import post
    r = post(as_("manager"), "/admin/phrases", {"new-text": "预计 {promised} 完成", "new-use": "plan", "new-position": "1"})
    assert r.status_code == 302
    phrase = db.session.query(Phrase).filter_by(text="预计 {promised} 完成").one()
    assert phrase.use == "plan"
