"""Photo fields: checked (count, size, picture, quota), re-encoded, stored with the case's rows.

The one way a view stores photos: `check_photos` before the domain call, then
`commit_with_photos` writes them, commits with the rest and, if storing fails,
rolls everything back and returns the message for the photo field. Objects
written for a transaction that rolled back are removed (no orphans).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from flask import Response, abort, current_app, redirect
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from portal import jobs
from portal.extensions import db
from portal.models import Attachment, Case, CaseEvent, User
from portal.photos import Encoded, PhotoError, quota_problem, reencode
from portal.storage import storage

UploadError = PhotoError
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)
_WRITTEN = "portal_written_uploads"


@event.listens_for(Session, "after_soft_rollback")
def _remove_written(session: Session, previous_transaction) -> None:
    """Objects written for a transaction that rolled back would be orphans: remove them."""
    for store, key in session.info.pop(_WRITTEN, ()):
        try:
            store.delete(key)
        except Exception:  # the storage itself may be what failed; never mask the rollback
            current_app.logger.warning("could not remove orphan upload %s", key, exc_info=True)


@event.listens_for(Session, "after_commit")
def _keep_written(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_WRITTEN, None)


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the first bytes, never from the client's claim."""
    for magic, ctype, ext in SIGNATURES:
        if head.startswith(magic):
            return ctype, ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def real_files(files: list[FileStorage] | None) -> list[FileStorage]:
    return [f for f in (files or []) if f and f.filename]


@dataclass
class Photos:
    """A photo field's files, re-encoded and ready to store, or the messages why not."""
    ready: list[tuple[str, Encoded]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def not_a_picture(name: str) -> str:
    return str(_l("%(name)s is not a JPEG, PNG, GIF or WebP picture.", name=name))


def megabytes(limit: int) -> str:
    """8388608 -> "8"; 262144 -> "0.25"."""
    return f"{round(limit / 2**20, 2):g}"


def too_large_message() -> str:
    """What a body beyond MAX_CONTENT_LENGTH is told (it could not be read, so nothing typed came back)."""
    cfg = current_app.config
    return str(_l("The form with its photos was larger than %(total)s MB and could not be sent; nothing was "
                  "saved. Send at most %(n)d photos of %(mb)s MB each.", total=megabytes(cfg["MAX_CONTENT_LENGTH"]),
                  n=cfg["MAX_PHOTOS"], mb=megabytes(cfg["MAX_PHOTO_BYTES"])))


def check_photos(files: list[FileStorage] | None, user: User, at: datetime | None = None) -> Photos:
    """Count, size, content and the user's quota; every file re-encoded (no EXIF) when all pass."""
    files, out = real_files(files), Photos()
    cap, limit = current_app.config["MAX_PHOTOS"], current_app.config["MAX_PHOTO_BYTES"]
    if len(files) > cap:
        out.errors.append(str(_l("At most %(n)d photos.", n=cap)))
        return out
    for f in files:
        name = Path(f.filename).name[:200] or "photo"
        data = f.stream.read(limit + 1)
        if len(data) > limit:
            out.errors.append(str(_l("%(name)s is larger than %(mb)s MB.", name=name, mb=megabytes(limit))))
        elif sniff(data[:16]) is None:
            out.errors.append(not_a_picture(name))
        else:
            try:
                out.ready.append((name, reencode(data, name)))
            except PhotoError as exc:
                out.errors.append(str(exc))
    if files and not out.errors:
        problem = quota_problem(user.id, [len(e.data) for _n, e in out.ready], at)
        if problem:
            out.errors.append(problem)
    if out.errors:
        out.ready = []
    return out


def save_photos(case: Case, user: User, photos: Photos, event: CaseEvent | None = None) -> list[Attachment]:
    """Store checked photos and add their rows and thumbnail jobs. The caller commits."""
    store, saved = storage(), []
    for name, enc in photos.ready:
        key = f"{secrets.token_hex(16)}.{enc.ext}"
        db.session.info.setdefault(_WRITTEN, []).append((store, key))
        try:
            store.put(key, enc.data, enc.content_type)
        except OSError as exc:  # a full disk or unreachable storage: a message beside the field
            raise UploadError(str(_l("The photos could not be stored (the server is out of space). "
                                     "Nothing was saved; try again later or send the case without photos."))) from exc
        att = Attachment(case=case, uploaded_by_id=user.id, filename=name, content_type=enc.content_type,
                         size=len(enc.data), stored_name=key)
        if event is not None:
            if event.id is None:
                db.session.flush()
            att.event_id = event.id
        db.session.add(att)
        db.session.flush()
        jobs.after_commit("portal.photos.make_thumbnail", att.id)
        saved.append(att)
    return saved


def commit_with_photos(case: Case, user: User, photos: Photos, event: CaseEvent | None = None) -> list[str]:
    """Store the photos, commit them with the caller's changes; on failure roll all back and return why."""
    try:
        save_photos(case, user, photos, event)
        db.session.commit()
    except UploadError as exc:
        db.session.rollback()
        return [str(exc)]
    return []


def serve(att: Attachment, thumb: bool = False) -> Response:
    """The photo (or its thumbnail once the job made it) streamed, or a short-lived signed link."""
    key, ctype = att.stored_name, att.content_type
    if thumb and att.thumb_name:
        key, ctype = att.thumb_name, att.thumb_type or ctype
    store = storage()
    if store.presigns:
        response = redirect(store.url(key, ctype, att.filename))
        response.headers["Cache-Control"] = "private, no-store"  # the link expires; ask again
        return response
    try:
        chunks = store.open(key)
    except FileNotFoundError:
        abort(404)
    response = Response(chunks, mimetype=ctype)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(att.filename)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
