"""htmx comes from the CDN with its integrity hash, and from static/ when the CDN is unreachable."""
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_pages import login

pytestmark = pytest.mark.browser


def test_unreachable_cdn_falls_back_to_the_local_htmx(page: Page, htmx_from_cdn):
    blocked, local = [], []
    page.route(re.compile(r"https://cdn\.jsdelivr\.net/.*"), lambda route: (blocked.append(route.request.url), route.abort()))
    page.on("request", lambda request: local.append(request.url) if "/static/vendor/htmx" in request.url else None)
    login(page, "clerk1")
    page.goto("/board")
    cdn_tag = page.locator("script[src*='cdn.jsdelivr.net']")
    expect(cdn_tag).to_have_attribute("integrity", re.compile(r"^sha384-"))
    expect(cdn_tag).to_have_attribute("crossorigin", "anonymous")
    assert blocked, "the page asked the CDN first"
    assert local, "the local copy was loaded after the CDN failed"
    assert page.evaluate("typeof window.htmx === 'object' && htmx.version.startsWith('2.0')")
    # And htmx really works: a search swaps the table and pushes the URL.
    page.fill("#filters input[type=search]", "TS-")
    expect(page).to_have_url(re.compile(r"[?&]q=TS-"))
