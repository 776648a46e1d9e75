"""Photos in an S3-compatible bucket (a real S3-speaking server on loopback, see tests/s3_server.py):
stored, thumbnailed, served only after the access check (streamed or by a short-lived signed link),
removed again when the transaction rolls back."""
from __future__ import annotations

import io
import secrets
import urllib.request

import boto3
import pytest
from PIL import Image
from sqlalchemy import select

from portal.extensions import db
from portal.models import Attachment
from portal.storage import S3Storage, storage
from tests.conftest import post
from tests.helpers import tiny_png


def bucket_for(endpoint: str) -> str:
    """A fresh bucket on the test server."""
    name = f"photos-{secrets.token_hex(6)}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_app(app, s3_endpoint):
    """The test app with its photos in a bucket of its own."""
    app.config.update(PHOTO_STORAGE="s3", S3_ENDPOINT_URL=s3_endpoint, S3_BUCKET=bucket_for(s3_endpoint),
                      S3_ACCESS_KEY_ID="test", S3_SECRET_ACCESS_KEY="test", S3_REGION="us-east-1",
                      S3_PREFIX="portal/")
    app.extensions.pop("portal_storage", None)
    yield app
    app.extensions.pop("portal_storage", None)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 60, 200)).save(out, "JPEG")
    return out.getvalue()


def file_case(client, people, photos):
    return post(client, "/cases/new", {"kind": "complaint", "category_id": people["ref"]["water"].id,
                                       "location_type": "unit", "description": "水管漏水", "photos": photos},
                content_type="multipart/form-data")


def test_photos_and_thumbnails_live_in_the_bucket_and_are_streamed_after_the_access_check(s3_app, as_, people,
                                                                                          tmp_path):
    store = storage(s3_app)
    assert isinstance(store, S3Storage)
    assert file_case(as_("resident"), people, (io.BytesIO(jpeg()), "leak.jpg")).status_code == 302
    att = db.session.scalar(select(Attachment))
    assert store.keys() == sorted([att.stored_name, att.thumb_name])
    assert not any((tmp_path / "uploads").glob("*")), "nothing on the web server's disk"
    full = as_("resident").get(f"/attachments/{att.id}")
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(full.data)).size == (800, 600)
    thumb = as_("resident").get(f"/attachments/{att.id}?size=thumb")
    assert Image.open(io.BytesIO(thumb.data)).size == (320, 240)
    assert as_("other_resident").get(f"/attachments/{att.id}").status_code == 404


def test_signed_links_are_handed_out_only_after_the_access_check(s3_app, as_, people):
    s3_app.config.update(PHOTO_SERVE="presign", PHOTO_URL_SECONDS=60)
    s3_app.extensions.pop("portal_storage", None)
    assert file_case(as_("resident"), people, (io.BytesIO(jpeg()), "leak.jpg")).status_code == 302
    att = db.session.scalar(select(Attachment))
    r = as_("resident").get(f"/attachments/{att.id}")
    assert r.status_code == 302 and "X-Amz-Expires=60" in r.location
    assert "no-store" in r.headers["Cache-Control"]
    with urllib.request.urlopen(r.location, timeout=10) as fetched:
        assert Image.open(io.BytesIO(fetched.read())).size == (800, 600)
    refused = as_("other_resident").get(f"/attachments/{att.id}")
    assert refused.status_code == 404 and "Location" not in refused.headers


def test_objects_written_for_a_rolled_back_transaction_are_removed(s3_app, as_, people, monkeypatch):
    store = storage(s3_app)
    real, calls = S3Storage.put, []

    def second_fails(self, key, data, content_type):
        calls.append(key)
        if len(calls) == 2:
            raise OSError("the bucket went away")
        real(self, key, data, content_type)

    monkeypatch.setattr(S3Storage, "put", second_fails)
    r = file_case(as_("resident"), people, [(io.BytesIO(tiny_png()), "a.png"), (io.BytesIO(tiny_png()), "b.png")])
    assert r.status_code == 200 and len(calls) == 2
    assert "水管漏水" in r.get_data(as_text=True)
    assert store.keys() == [] and db.session.scalar(select(db.func.count(Attachment.id))) == 0
