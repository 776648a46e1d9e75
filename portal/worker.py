"""What RQ workers execute: the app is built once per worker process, each job runs in its context."""
from __future__ import annotations

from typing import Any

from flask import Flask

from portal import create_app
from portal.jobs import call

_app: Flask | None = None


def run(path: str, *args) -> Any:
    """Run the dotted path `path` with `args` in this worker's app."""
    global _app
    if _app is None:
        _app = create_app()
    with _app.app_context():
        return call(path, args)
