"""Free text typed into a search box, made safe for SQL LIKE: capped, its wildcards taken literally.

Every LIKE built from what a user typed goes through `contains` and `ESCAPE`:
`q=%` finds a literal per-cent sign, not every row, and a pasted page of text
is cut to MAX_QUERY characters before it reaches the database.
"""
from __future__ import annotations

MAX_QUERY = 100  # characters; nobody searches for more, and every character is work for the database
ESCAPE = "\\"


def clean(text: str | None) -> str:
    """The query as searched: without NULs, trimmed and capped at MAX_QUERY characters."""
    return (text or "").replace("\x00", "").strip()[:MAX_QUERY].strip()


def contains(text: str | None) -> str:
    """A LIKE pattern matching the cleaned text anywhere; use it with `escape=ESCAPE`."""
    escaped = clean(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
