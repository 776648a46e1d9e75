"""A photo that cannot be stored (a full disk) is refused beside the field, with nothing saved or left behind."""
from __future__ import annotations

import io
import os
from pathlib import Path

from portal.extensions import db
from portal.models import Attachment, Case
from tests.conftest import login_as, post
from tests.helpers import tiny_png

PNG = tiny_png()


def _full_disk(monkeypatch):
    real = Path.write_bytes

    def write_bytes(self, data):
        real(self, data[:3])  # the disk fills part-way through the file
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def _files(app) -> list[str]:
    folder = app.config["UPLOAD_DIR"]
    return os.listdir(folder) if os.path.isdir(folder) else []


def test_resident_upload_onto_a_full_disk(app, client, people, monkeypatch):
    login_as(client, people["resident"])
    _full_disk(monkeypatch)
    r = post(client, "/cases/new", {"kind": "complaint", "category_id": people["ref"]["water"].id,
                                    "location_type": "unit", "description": "厨房水管漏水，已经三天了",
                                    "photos": (io.BytesIO(PNG), "leak.png")},
             content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "空间不足" in html and "厨房水管漏水，已经三天了" in html
    assert db.session.scalar(db.select(db.func.count(Case.id))) == 0
    assert _files(app) == []


def test_a_second_photo_failing_removes_the_first(app, client, people, monkeypatch):
    login_as(client, people["resident"])
    real = Path.write_bytes
    calls = []

    def second_fails(self, data):
        calls.append(self)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(self, data)

    monkeypatch.setattr(Path, "write_bytes", second_fails)
    r = post(client, "/cases/new", {"kind": "complaint", "category_id": people["ref"]["water"].id,
                                    "location_type": "unit", "description": "两张照片",
                                    "photos": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(PNG), "b.png")]},
             content_type="multipart/form-data")
    assert r.status_code == 200 and len(calls) == 2
    assert _files(app) == [] and db.session.scalar(db.select(db.func.count(Attachment.id))) == 0


def test_stored_photos_stay_after_a_commit(app, client, people):
    login_as(client, people["resident"])
    r = post(client, "/cases/new", {"kind": "complaint", "category_id": people["ref"]["water"].id,
                                    "location_type": "unit", "description": "有照片",
                                    "photos": (io.BytesIO(PNG), "ok.png")},
             content_type="multipart/form-data")
    assert r.status_code == 302
    (att,) = db.session.scalars(db.select(Attachment)).all()
    assert sorted(_files(app)) == sorted([att.stored_name, att.thumb_name])  # the photo and its thumbnail
