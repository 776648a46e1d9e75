"""Typed, manager-editable settings with defaults from SPEC (never constants in code).

Each area declares its settings with `define(...)` at import time; the
settings page lists every declared one, grouped by section.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import g, has_app_context

from portal.extensions import db
from portal.models import Setting


@dataclass(frozen=True)
class Spec:
    key: str
    default: Any
    label: object
    kind: str  # "int", "float", "percent", "bool", "str", "time"
    section: object
    help: object = ""
    min: float | None = None
    max: float | None = None


SPECS: dict[str, Spec] = {}


def define(key: str, default: Any, label, kind: str, section, help="", min=None, max=None) -> Spec:
    """Declare a setting (idempotent, so module reloads are harmless)."""
    spec = Spec(key, default, label, kind, section, help, min, max)
    SPECS[key] = spec
    return spec


def _stored() -> dict[str, Any]:
    cache = g.get("_settings") if has_app_context() else None
    if cache is None:
        cache = {row.key: json.loads(row.value) for row in db.session.scalars(db.select(Setting))}
        if has_app_context():
            g._settings = cache
    return cache


def get(key: str) -> Any:
    """The manager's value if set, else the declared default."""
    spec = SPECS[key]
    return _stored().get(key, spec.default)


def put(key: str, value: Any, user=None) -> None:
    """Store a value (the caller commits)."""
    if key not in SPECS:
        raise KeyError(key)
    row = db.session.get(Setting, key)
    text = json.dumps(value, ensure_ascii=False)
    if row is None:
        db.session.add(Setting(key=key, value=text, updated_by_id=getattr(user, "id", None)))
    else:
        row.value = text
        row.updated_by_id = getattr(user, "id", None)
    g.pop("_settings", None)
