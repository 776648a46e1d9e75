"""Photos: sniffed by content, capped in size, stored outside static/."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
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
    pass


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
            raise UploadError(f.filename)
        stored = f"{secrets.token_hex(16)}.{kind[1]}"
        (folder / stored).write_bytes(data)
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
