"""Photos are re-encoded (no EXIF, no bombs), thumbnailed by a job, limited per person, and refused
beside the field with everything typed kept."""
from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta

import time_machine

from PIL import Image
from sqlalchemy import select

from portal import settings
from portal.extensions import db
from portal.models import Attachment, Case, Job
from portal.storage import storage
from tests.conftest import post
from tests.helpers import html, textarea_value, tiny_png

GPS_IFD = 0x8825
TYPED = "楼道灯坏了三天，晚上看不见台阶"


def gps_jpeg(size=(64, 48)) -> bytes:
    """A phone photo: a JPEG with the home's GPS position and the camera model in its EXIF."""
    exif = Image.Exif()
    exif[0x0110] = "PhoneCam X"  # Model
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 14.0, 3.5), 3: "E", 4: (121.0, 28.0, 9.25)})
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def bomb_png(side=60000) -> bytes:
    """A few hundred bytes whose header claims side x side pixels (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def file_case(client, people, photos, **extra):
    data = {"kind": "complaint", "category_id": people["ref"]["water"].id, "location_type": "unit",
            "description": TYPED, "photos": photos, **extra}
    return post(client, "/cases/new", data, content_type="multipart/form-data")


def photo_errors(response) -> list[str]:
    return [p.text for p in html(response).field_container("photos").all("p", cls="error")]


def test_exif_and_gps_are_gone_from_a_stored_photo(app, as_, people):
    original = gps_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD), "the upload does carry a GPS position"
    r = file_case(as_("resident"), people, (io.BytesIO(original), "home.jpg"))
    assert r.status_code == 302
    att = db.session.scalar(select(Attachment))
    for key in (att.stored_name, att.thumb_name):
        stored = storage(app).read(key)
        image = Image.open(io.BytesIO(stored))
        assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
        assert b"Exif" not in stored and b"PhoneCam" not in stored
    served = as_("resident").get(f"/attachments/{att.id}")
    assert served.status_code == 200 and b"Exif" not in served.data


def test_a_decompression_bomb_is_refused_beside_the_field_and_the_text_is_kept(app, as_, people):
    r = file_case(as_("resident"), people, (io.BytesIO(bomb_png()), "huge.png"))
    assert r.status_code == 200
    errors = photo_errors(r)
    assert any("huge.png" in e and "50" in e for e in errors), errors
    assert textarea_value(html(r).by_id("description")) == TYPED
    assert db.session.scalar(select(db.func.count(Case.id))) == 0 and storage(app).keys() == []


def test_a_large_photo_is_scaled_down_and_its_thumbnail_made_by_a_job(app, as_, people):
    big = io.BytesIO()
    Image.new("RGB", (3000, 1500), (10, 120, 60)).save(big, "PNG")
    r = file_case(as_("resident"), people, (io.BytesIO(big.getvalue()), "wide.png"))
    assert r.status_code == 302
    att = db.session.scalar(select(Attachment))
    assert Image.open(io.BytesIO(storage(app).read(att.stored_name))).size == (2560, 1280)
    assert db.session.scalar(select(Job.state).where(Job.path == "portal.photos.make_thumbnail")) == "done"
    thumb = as_("resident").get(f"/attachments/{att.id}?size=thumb")
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.data)).size == (320, 160)
    page = as_("resident").get(f"/cases/{att.case_id}").get_data(as_text=True)
    assert f'href="/attachments/{att.id}"' in page and f'src="/attachments/{att.id}?size=thumb"' in page


def test_the_hourly_rate_refuses_beside_the_field_with_the_text_kept(app, as_, people):
    settings.put("photo_uploads_per_hour", 2)
    db.session.commit()
    client = as_("resident")
    assert file_case(client, people, [(io.BytesIO(tiny_png()), "a.png"), (io.BytesIO(tiny_png()), "b.png")]
                     ).status_code == 302
    r = file_case(client, people, (io.BytesIO(tiny_png()), "c.png"))
    assert r.status_code == 200 and any("2" in e for e in photo_errors(r))
    assert textarea_value(html(r).by_id("description")) == TYPED
    assert file_case(as_("other_resident"), people, (io.BytesIO(tiny_png()), "d.png")).status_code == 302


def test_the_daily_quota_counts_megabytes(app, as_, people):
    settings.put("photo_quota_mb_per_day", 1)
    client = as_("resident")
    assert file_case(client, people, (io.BytesIO(tiny_png()), "a.png")).status_code == 302
    earlier = db.session.scalar(select(Attachment))
    earlier.size = 2**20 - 10  # as if this morning's photo had been nearly 1 MB
    db.session.commit()
    r = file_case(client, people, (io.BytesIO(tiny_png()), "b.png"))
    assert r.status_code == 200 and any("1 MB" in e for e in photo_errors(r)), photo_errors(r)
    with time_machine.travel(earlier.created_at + timedelta(days=1, minutes=1)):
        assert file_case(client, people, (io.BytesIO(tiny_png()), "c.png")).status_code == 302


def test_a_picture_that_is_not_one_is_refused(app, as_, people):
    r = file_case(as_("resident"), people, (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), "broken.png"))
    assert r.status_code == 200 and any("broken.png" in e for e in photo_errors(r))
