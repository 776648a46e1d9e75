"""Photos: re-encoded with Pillow (no EXIF, capped size), thumbnails by a job, a per-user quota.

Every upload is decoded and written again, so what is stored carries no metadata
(a phone photo's EXIF holds the GPS position of the resident's home) and no payload
hidden after the image data. An image whose header claims more than PHOTO_MAX_PIXELS
is refused before it is decoded (a decompression bomb); one larger than
PHOTO_MAX_SIDE on a side is scaled down. See docs/photos.md.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal import settings
from portal.extensions import db
from portal.models import Attachment
from portal.storage import storage
from portal.timeutil import utcnow

if TYPE_CHECKING:  # Pillow is imported when a photo is handled, not in every process at start
    from PIL import Image

SECTION = _l("Photos")
QUOTA_MB = settings.define("photo_quota_mb_per_day", 100, _l("Photos: MB one person may upload per day"), "int",
                           SECTION, min=1, max=10000)
RATE = settings.define("photo_uploads_per_hour", 30, _l("Photos: photos one person may upload per hour"), "int",
                       SECTION, min=1, max=1000)

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


class PhotoError(ValueError):
    """A file that cannot be stored; the message is for the photo field."""


@dataclass
class Encoded:
    data: bytes
    content_type: str
    ext: str
    width: int
    height: int


def _open(data: bytes, name: str) -> Image.Image:
    """Open without decoding, refusing a header that claims too many pixels."""
    from PIL import Image, UnidentifiedImageError
    limit = current_app.config["PHOTO_MAX_PIXELS"]
    too_big = PhotoError(str(_l("%(name)s is too large: at most %(mp)d megapixels.", name=name, mp=limit // 10**6)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_big from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise PhotoError(str(_l("%(name)s is not a JPEG, PNG, GIF or WebP picture.", name=name))) from None
    if image.width * image.height > limit:
        raise too_big
    return image


def reencode(data: bytes, name: str) -> Encoded:
    """The picture decoded and written again: upright, without EXIF or text chunks, at most PHOTO_MAX_SIDE."""
    from PIL import Image, ImageOps
    image = _open(data, name)
    fmt = image.format
    try:
        image.load()
        image = ImageOps.exif_transpose(image)  # keep the photo upright once its EXIF is gone
    except (OSError, ValueError, SyntaxError):
        raise PhotoError(str(_l("%(name)s is damaged and cannot be read.", name=name))) from None
    # Nothing of the upload's metadata (EXIF, XMP, comments, text chunks) reaches the writer.
    image.info = {k: v for k, v in image.info.items() if k in ("transparency", "icc_profile")}
    side = current_app.config["PHOTO_MAX_SIDE"]
    if max(image.size) > side:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return _save(image, fmt, quality=85)


def _save(image: Image.Image, fmt: str, quality: int) -> Encoded:
    """Written in its own format (a GIF as its first frame in PNG); no metadata is passed on."""
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
        kind = ("image/jpeg", "jpg")
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=quality)
        kind = ("image/webp", "webp")
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
        kind = ("image/png", "png")
    return Encoded(out.getvalue(), kind[0], kind[1], image.width, image.height)


def thumbnail(data: bytes) -> Encoded:
    """A small copy for lists and case pages (PHOTO_THUMB_SIDE on its longer side)."""
    from PIL import Image
    image = Image.open(io.BytesIO(data))
    fmt = image.format
    image.load()
    side = current_app.config["PHOTO_THUMB_SIDE"]
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return _save(image, fmt, quality=75)


def make_thumbnail(attachment_id: int) -> None:
    """Job: write the attachment's thumbnail and record it; safe to run twice."""
    att = db.session.get(Attachment, attachment_id)
    if att is None or att.thumb_name:
        return
    store = storage()
    small = thumbnail(store.read(att.stored_name))
    name = f"{att.stored_name.rsplit('.', 1)[0]}-t.{small.ext}"
    store.put(name, small.data, small.content_type)
    att.thumb_name = name
    att.thumb_type = small.content_type
    db.session.commit()


def quota_problem(user_id: int, sizes: list[int], at: datetime | None = None) -> str | None:
    """Why these uploads would pass the user's daily quota or hourly rate, or None."""
    now = at or utcnow()
    mine = Attachment.uploaded_by_id == user_id
    day_bytes = db.session.scalar(select(func.coalesce(func.sum(Attachment.size), 0))
                                  .where(mine, Attachment.created_at > now - timedelta(days=1)))
    hour_count = db.session.scalar(select(func.count(Attachment.id))
                                   .where(mine, Attachment.created_at > now - timedelta(hours=1)))
    quota, rate = settings.get(QUOTA_MB.key), settings.get(RATE.key)
    if hour_count + len(sizes) > rate:
        return str(_l("You may upload at most %(n)d photos an hour; try again later or send without photos.",
                      n=rate))
    if day_bytes + sum(sizes) > quota * 2**20:
        return str(_l("You may upload at most %(mb)d MB of photos a day; try again tomorrow or send without photos.",
                      mb=quota))
    return None
