"""Integration keys: issuing (shown once, stored hashed), checking, revoking, and the per-key rate limit."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal import settings
from portal.extensions import db
from portal.models import ApiCallCount, ApiKey, Estate, Role, User
from portal.models.api import PERMISSIONS
from portal.timeutil import utcnow

settings.define("api_rate_per_minute", 120, _l("Integration keys: calls per key and minute"), "int",
                _l("Integrations"), _l("A key may override it; a call over the limit gets 429 and Retry-After."),
                min=1, max=100000)

PREFIX = "pk_"


class ApiKeyError(ValueError):
    """Input for a key that names something that does not exist."""


def digest(secret: str) -> str:
    """SHA-256 is enough: the key is 256 random bits, nothing to guess from a stolen hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_permissions(text: str | list) -> list[str]:
    items = text.split(",") if isinstance(text, str) else list(text)
    chosen = [p.strip() for p in items if p.strip()]
    unknown = [p for p in chosen if p not in PERMISSIONS]
    if unknown or not chosen:
        raise ApiKeyError(f"permissions must be some of {', '.join(PERMISSIONS)} (got {', '.join(unknown) or 'none'})")
    return [p for p in PERMISSIONS if p in chosen]


def issue(name: str, estates: list[Estate], permissions: list[str], created_by: User | None,
          rate_per_minute: int | None = None, at: datetime | None = None) -> tuple[ApiKey, str]:
    """Create a key and its service account; returns the key row and the secret (shown once). The caller commits."""
    name = name.strip()[:80]
    if not name or not estates:
        raise ApiKeyError("a key needs a name and at least one estate")
    prefix = secrets.token_hex(4)
    secret = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    # The lifecycle records who acted: the key acts as a clerk of its estates that can never sign in.
    account = User(username=f"api-{prefix}", password_hash="!", display_name=f"{name} (API)"[:50],
                   role=Role.CLERK, active=False, estates=list(estates))
    key = ApiKey(name=name, prefix=prefix, key_hash=digest(secret), permissions=",".join(permissions),
                 user=account, created_by=created_by, rate_per_minute=rate_per_minute,
                 created_at=at or utcnow())
    db.session.add_all([account, key])
    db.session.flush()
    return key, secret


def find(secret: str) -> ApiKey | None:
    """The live key for a presented secret, or None (unknown, malformed or revoked)."""
    parts = secret.split("_") if secret.startswith(PREFIX) else []
    if len(parts) < 3:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, digest(secret)):
        return None
    return key


def revoke(key: ApiKey, at: datetime | None = None) -> None:
    """Refused from the next call on (the caller commits)."""
    key.revoked_at = key.revoked_at or at or utcnow()


def limit_of(key: ApiKey) -> int:
    return key.rate_per_minute or settings.get("api_rate_per_minute")


def count_call(key: ApiKey, at: datetime | None = None) -> tuple[int, int]:
    """Count one call in this minute's window (one upsert, shared by every process); (count, seconds left)."""
    now = at or utcnow()
    window = now.replace(second=0, microsecond=0)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ApiCallCount.__table__).values(key_id=key.id, window=window, count=1)
    stmt = stmt.on_conflict_do_update(index_elements=["key_id", "window"],
                                      set_={"count": ApiCallCount.__table__.c.count + 1})
    db.session.execute(stmt)
    count = db.session.scalar(select(ApiCallCount.count).where(ApiCallCount.key_id == key.id,
                                                               ApiCallCount.window == window))
    db.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
                       .execution_options(synchronize_session=False))
    return count or 1, 60 - now.second
