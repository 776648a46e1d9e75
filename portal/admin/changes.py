"""Audited edits: snapshot before, apply, record only what changed (portal.audit)."""
from __future__ import annotations

from portal import audit


def action_for(before: dict, after: dict) -> str:
    """"deactivate"/"reactivate" when the edit switched `active`, else "update"."""
    if "active" in before and before.get("active") != after.get("active"):
        return "reactivate" if after.get("active") else "deactivate"
    return "update"


def log_change(actor, object_type: str, obj, fields: tuple[str, ...], before: dict, *,
               estate_id: int | None = None, summary: str = ""):
    """Record the difference between `before` and the object's fields now; nothing when equal."""
    after = audit.snapshot(obj, fields)
    changed = {k for k in fields if before.get(k) != after.get(k)}
    if not changed:
        return None
    return audit.record(actor, object_type, obj.id, action_for(before, after),
                        before={k: before.get(k) for k in changed}, after={k: after[k] for k in changed},
                        estate_id=estate_id, summary=summary)


def log_create(actor, object_type: str, obj, fields: tuple[str, ...], *, estate_id: int | None = None,
               summary: str = ""):
    """Record a new row with its fields."""
    return audit.record(actor, object_type, obj.id, "create", after=audit.snapshot(obj, fields),
                        estate_id=estate_id, summary=summary)
