"""Photos: sniffed by content, capped in size, stored outside static/."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.models import Attachment, Case, CaseEvent, User

SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


class UploadError(ValueError):
    """A file that cannot be stored; the message is for the photo field."""


_WRITTEN = "portal_written_uploads"


@event.listens_for(Session, "after_soft_rollback")
def _remove_written(session: Session, previous_transaction) -> None:
    """Files written for a transaction that rolled back would be orphans: remove them."""
    for path in session.info.pop(_WRITTEN, ()):
        path.unlink(missing_ok=True)


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


def validate_photos(files: list[FileStorage] | None) -> list[str]:
    """Messages for a photo field; empty when every file is acceptable."""
    files = real_files(files)
    errors = []
    cap = current_app.config["MAX_PHOTOS"]
    if len(files) > cap:
        errors.append(str(_l("At most %(n)d photos.", n=cap)))
    limit = current_app.config["MAX_PHOTO_BYTES"]
    for f in files:
        data = f.stream.read(limit + 1)
        f.stream.seek(0)
        if len(data) > limit:
            errors.append(str(_l("%(name)s is larger than %(mb)d MB.", name=f.filename, mb=limit // 2**20)))
        elif sniff(data[:16]) is None:
            errors.append(str(_l("%(name)s is not a JPEG, PNG, GIF or WebP picture.", name=f.filename)))
    return errors


def save_photos(case: Case, user: User, files, event: CaseEvent | None = None) -> list[Attachment]:
    """Store validated files under UPLOAD_DIR and add their rows. The caller commits."""
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for f in real_files(files):
        data = f.stream.read()
        kind = sniff(data[:16])
        if kind is None:
            raise UploadError(str(_l("%(name)s is not a JPEG, PNG, GIF or WebP picture.", name=f.filename)))
        stored = f"{secrets.token_hex(16)}.{kind[1]}"
        path = folder / stored
        db.session.info.setdefault(_WRITTEN, []).append(path)
        try:
            path.write_bytes(data)
        except OSError as exc:  # a full disk: no half-written file, a message beside the field
            path.unlink(missing_ok=True)
            raise UploadError(str(_l("The photos could not be stored (the server is out of space). "
                                     "Nothing was saved; try again later or send the case without photos."))) from exc
        att = Attachment(case=case, uploaded_by_id=user.id, filename=Path(f.filename).name[:200] or stored,
                         content_type=kind[0], size=len(data), stored_name=stored)
        if event is not None:
            if event.id is None:
                db.session.flush()
            att.event_id = event.id
        db.session.add(att)
        saved.append(att)
    return saved


def path_of(att: Attachment) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / att.stored_name
