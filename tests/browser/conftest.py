"""Browser tests: a seeded live server per xdist worker, driven through Debian's Chromium."""
from __future__ import annotations

from pathlib import Path

import pytest

from portal.demo_server import CHROMIUM_ARGS, serve_demo

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser is a browser test; skip them all without Chromium."""
    missing = None if CHROMIUM.exists() else pytest.mark.skip(
        reason=f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if missing is not None:
                item.add_marker(missing)


LIVE: dict = {}  # the live app of this worker, for tests that change a setting


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Base URL of the demo estate served on 127.0.0.1 (one server per xdist worker)."""
    with serve_demo(tmp_path_factory.mktemp("live")) as (url, app):
        LIVE["app"] = app
        yield url


@pytest.fixture(scope="session")
def live_app(live_server):
    """The live server's app, for tests that prepare data in it (as pytest imports this module, not
    as `tests.browser.conftest`, whose LIVE would be another, empty dict)."""
    return LIVE["app"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded one."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def base_url(live_server):
    """Relative URLs in page.goto() resolve against the live server."""
    return live_server


@pytest.fixture
def context(new_context):
    """The default page is a 1280×800 desktop."""
    return new_context(**DESKTOP)


@pytest.fixture
def phone(new_context):
    """A 390-px wide touch phone."""
    return new_context(**PHONE).new_page()


@pytest.fixture
def htmx_from_cdn(live_server):
    """Serve pages that load htmx from the CDN (as production does) for one test."""
    app = LIVE["app"]
    app.config["HTMX_CDN"] = True
    yield
    app.config["HTMX_CDN"] = False
