"""Too many or too large photos, a 10 MB paste, a body over the server's limit: the form comes back
with a message naming the limit and (when the body could be read) everything typed kept; the same
category rule every time; the limits the browser checks are written on the fields."""
from __future__ import annotations

import io

from sqlalchemy import select

from portal.extensions import db
from portal.models import Case
from tests.conftest import post
from tests.helpers import html, make_case, textarea_value, tiny_png

TYPED = "电梯三号梯一直停在十楼不动"


def case_data(people, **extra):
    return {"kind": "complaint", "category_id": people["ref"]["water"].id, "location_type": "unit",
            "description": TYPED, "request": "请尽快修好", **extra}


def errors_of(page, field_id):
    return [p.text for p in page.field_container(field_id).all("p", cls="error")]


def test_too_many_photos_come_back_with_the_limit_and_the_text_kept(app, as_, people):
    photos = [(io.BytesIO(tiny_png()), f"p{i}.png") for i in range(6)]
    r = post(as_("resident"), "/cases/new", case_data(people, photos=photos), content_type="multipart/form-data")
    page = html(r)
    assert r.status_code == 200 and any("5" in e for e in errors_of(page, "photos"))
    assert textarea_value(page.by_id("description")) == TYPED and textarea_value(page.by_id("request")) == "请尽快修好"
    assert db.session.scalar(select(db.func.count(Case.id))) == 0


def test_a_photo_over_the_size_limit_is_named_with_the_limit(app, as_, people):
    app.config["MAX_PHOTO_BYTES"] = 2**18  # 0.25 MB
    big = (io.BytesIO(tiny_png() + b"\x00" * 2**18), "big.png")
    r = post(as_("resident"), "/cases/new", case_data(people, photos=big), content_type="multipart/form-data")
    page = html(r)
    assert any("big.png" in e and "0.25 MB" in e for e in errors_of(page, "photos")), errors_of(page, "photos")
    assert textarea_value(page.by_id("description")) == TYPED


def test_a_ten_megabyte_paste_comes_back_with_the_limit_not_a_bare_413(app, as_, people):
    paste = "漏" * (10 * 2**20 // 3)  # 10 MB of UTF-8
    r = post(as_("resident"), "/cases/new", case_data(people, description=paste))
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "4000" in text.split('id="description-error"')[1][:200]
    assert paste in text  # the paste itself is kept, to be cut down by the resident
    assert 'value="请尽快修好"' in text or "请尽快修好</textarea>" in text


def test_a_body_over_the_servers_limit_answers_the_form_with_the_limits(app, as_, people):
    app.config["MAX_CONTENT_LENGTH"] = 2**16
    big = (io.BytesIO(tiny_png() + b"\x00" * 2**17), "big.png")
    r = post(as_("resident"), "/cases/new", case_data(people, photos=big), content_type="multipart/form-data")
    page = html(r)
    assert r.status_code == 413 and page.by_id("description") is not None
    (message,) = errors_of(page, "photos")
    assert "0.06 MB" in message and "5" in message and "8" in message


def test_an_htmx_action_over_the_limit_gets_a_message_not_a_page(app, as_, people):
    case = make_case(people)
    app.config["MAX_CONTENT_LENGTH"] = 2**16
    r = post(as_("resident"), f"/cases/{case.id}/act/comment",
             {"comment-note": "补充照片", "comment-version": str(case.version_id),
              "comment-photos": (io.BytesIO(b"\x00" * 2**17), "big.png")},
             htmx_target="case-body", content_type="multipart/form-data")
    body = r.get_data(as_text=True)
    assert r.status_code == 413 and "<html" not in body and "MB" in body


def test_too_many_photos_on_an_htmx_comment_keep_the_note(app, as_, people):
    case = make_case(people)
    photos = [(io.BytesIO(tiny_png()), f"p{i}.png") for i in range(6)]
    r = post(as_("resident"), f"/cases/{case.id}/act/comment",
             {"comment-note": "补充六张照片", "comment-version": str(case.version_id), "comment-photos": photos},
             htmx_target="case-body", content_type="multipart/form-data")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body and "补充六张照片" in body
    assert any("5" in e for e in errors_of(html(r), "comment-photos"))


def test_the_category_is_asked_for_every_time(app, as_, people):
    client = as_("resident")
    for data in ({}, case_data(people, category_id=0, photos=(io.BytesIO(tiny_png()), "a.png"))):
        r = post(client, "/cases/new", data, content_type="multipart/form-data")
        assert r.status_code == 200 and errors_of(html(r), "category_id"), data
    assert db.session.scalar(select(db.func.count(Case.id))) == 0


def test_the_browser_checks_are_written_on_the_fields(app, as_, people):
    page = html(as_("resident").get("/cases/new"))
    photos, description = page.by_id("photos"), page.by_id("description")
    assert photos.attrs["data-max-files"] == "5" and photos.attrs["data-max-bytes"] == str(8 * 2**20)
    assert "8 MB" in photos.attrs["data-msg-size"] and "{name}" in photos.attrs["data-msg-size"]
    assert description.attrs["data-maxlength"] == "4000" and "maxlength" not in description.attrs


def test_the_improvement_action_form_uses_the_apps_messages(app, as_, people):
    page = as_("manager").get("/reports/monthly").get_data(as_text=True)
    form = page[page.index('class="no-print action-form"') - 10:][:400]
    assert "novalidate" in form


def test_the_desk_form_over_the_servers_limit_comes_back_with_the_limits(app, as_, people):
    app.config["MAX_CONTENT_LENGTH"] = 2**16
    r = post(as_("clerk"), "/desk/new", {"description": TYPED, "photos": (io.BytesIO(b"\x00" * 2**17), "big.png")},
             content_type="multipart/form-data")
    page = html(r)
    assert r.status_code == 413 and page.by_id("description") is not None
    assert "0.06 MB" in errors_of(page, "photos")[0]
    anonymous = app.test_client().post("/desk/new", data={"photos": (io.BytesIO(b"\x00" * 2**17), "big.png")},
                                       content_type="multipart/form-data")
    assert anonymous.status_code == 413 and 'id="photos"' not in anonymous.get_data(as_text=True)
