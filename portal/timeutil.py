"""Time helpers: store UTC, show in the configured zone."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def as_utc(value: datetime) -> datetime:
    """Naive values come back from SQLite; they were stored as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return as_utc(value).astimezone(local_zone())


def local_now() -> datetime:
    return utcnow().astimezone(local_zone())


def fmt_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as local text ('' for none): for templates, notes and exports."""
    local = to_local(value)
    return local.strftime(fmt) if local else ""
