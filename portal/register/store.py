"""Between preview and confirm: the checked rows kept in a file under the upload folder.

The file is named by a random token that only the previewing manager's page holds; it records
who previewed, for which estate, when, and the plan's fingerprint. Confirm re-reads the rows
from here (never from the browser), rebuilds the plan against the database and applies it only
if it still matches what the preview showed. The upload folder is the one place every web
process shares (gunicorn workers, several hosts on one volume).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import time
from datetime import date
from pathlib import Path

from flask import current_app

from portal.models import Relation
from portal.register.validate import Register, Resident, UnitRow

LIFETIME = 3600  # seconds a preview can be confirmed
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _folder() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "register-previews"


def save(register: Register, *, user_id: int, estate_id: int, fingerprint: str, filename: str) -> str:
    """Keep the rows of a preview; returns the token the confirm form carries."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    _sweep(folder)
    token = secrets.token_urlsafe(32)
    doc = {"user_id": user_id, "estate_id": estate_id, "fingerprint": fingerprint, "filename": filename,
           "saved": time.time(),
           "rows": [[r.line, r.building, r.number, r.area,
                     [[p.name, p.mobile, p.relation.value, p.moved_in and p.moved_in.isoformat()]
                      for p in r.residents]] for r in register.rows]}
    path = folder / f"{token}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return token


def load(token: str, *, user_id: int) -> dict | None:
    """The saved preview, or None: unknown, expired, or someone else's."""
    if not isinstance(token, str) or not TOKEN.match(token):
        return None
    path = _folder() / f"{token}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if doc.get("user_id") != user_id or time.time() - doc.get("saved", 0) > LIFETIME:
        return None
    doc["register"] = Register([UnitRow(line, building, number, area, [
        Resident(name, mobile, Relation(relation), date.fromisoformat(moved_in) if moved_in else None)
        for name, mobile, relation, moved_in in residents]) for line, building, number, area, residents in doc["rows"]],
        [], [])
    return doc


def discard(token: str) -> None:
    if isinstance(token, str) and TOKEN.match(token):
        (_folder() / f"{token}.json").unlink(missing_ok=True)


def _sweep(folder: Path) -> None:
    """Previews nobody confirmed within the hour are removed when the next one is saved."""
    cutoff = time.time() - LIFETIME
    for path in folder.glob("*.json"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass
