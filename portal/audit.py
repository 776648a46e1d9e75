"""The administration audit log: one call per change, before → after (SPEC §9)."""
from __future__ import annotations

import json
from datetime import date, datetime
from enum import Enum

from portal.extensions import db
from portal.models import AuditEntry
from portal.timeutil import utcnow


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def snapshot(obj, fields: tuple[str, ...]) -> dict:
    """The named attributes of an object as JSON-ready values (the "before" of a change)."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def record(actor, object_type: str, object_id, action: str, *, before: dict | None = None,
           after: dict | None = None, estate_id: int | None = None, summary: str = "",
           at: datetime | None = None, summary_msg=None) -> AuditEntry | None:
    """Append one audit entry with only the fields that changed; nothing when nothing changed.

    `summary_msg`: a summary the system wrote, as message items (portal.messages) shown in the reader's
    language; `summary` is then its text in the writer's language (kept for old readers and search)."""
    before, after = dict(before or {}), dict(after or {})
    if action == "update":
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        if not changed:
            return None
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    entry = AuditEntry(
        at=at or utcnow(), actor_id=getattr(actor, "id", actor), object_type=object_type,
        object_id=str(object_id or ""), action=action, estate_id=estate_id, summary=summary[:200],
        summary_msg=summary_msg or None,
        before=json.dumps(before, ensure_ascii=False, sort_keys=True) if before else "",
        after=json.dumps(after, ensure_ascii=False, sort_keys=True) if after else "",
    )
    db.session.add(entry)
    return entry
