"""Manager settings: declared defaults, stored overrides, the generic settings page."""
from __future__ import annotations

import pytest

from portal import settings
from portal.extensions import db
from portal.models import Setting
from tests.conftest import post
from tests.helpers import html


@pytest.fixture
def demo_specs():
    added = [
        settings.define("zz_rate", 30, "Sample rate", "percent", "Test section", min=0, max=100),
        settings.define("zz_start", "08:30", "Start", "time", "Test section"),
        settings.define("zz_flag", True, "Flag", "bool", "Test section"),
    ]
    yield added
    for spec in added:
        settings.SPECS.pop(spec.key, None)


def others(*mine) -> dict:
    """The defaults of every other declared setting, as the untouched page would post them."""
    def text(v):
        return ("y" if v else "") if isinstance(v, bool) else str(v)
    return {k: text(spec.default) for k, spec in settings.SPECS.items() if k not in mine}


def test_default_until_a_manager_sets_a_value(app, demo_specs):
    assert settings.get("zz_rate") == 30
    settings.put("zz_rate", 55)
    db.session.commit()
    assert settings.get("zz_rate") == 55
    assert db.session.get(Setting, "zz_rate").value == "55"


def test_unknown_setting_cannot_be_stored(app):
    with pytest.raises(KeyError):
        settings.put("no_such_setting", 1)


def test_manager_saves_settings_page(as_, demo_specs):
    client = as_("manager")
    page = html(client.get("/admin/settings"))
    assert page.by_id("zz_rate").attrs["value"] == "30"
    response = post(client, "/admin/settings", {**others("zz_rate", "zz_start", "zz_flag"),
                                                "zz_rate": "100", "zz_start": "09:00", "zz_flag": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert (settings.get("zz_rate"), settings.get("zz_start"), settings.get("zz_flag")) == (100, "09:00", False)


def test_invalid_settings_come_back_with_messages_and_input_kept(as_, demo_specs):
    client = as_("manager")
    response = post(client, "/admin/settings", {"zz_rate": "130", "zz_start": "25:00", "zz_flag": "y"})
    assert response.status_code == 200
    page = html(response)
    assert page.by_id("zz_rate").attrs["value"] == "130"
    assert page.by_id("zz_start").attrs["value"] == "25:00"
    assert "has-error" in page.field_container("zz_rate").classes
    assert "has-error" in page.field_container("zz_start").classes
    assert db.session.get(Setting, "zz_rate") is None


def test_only_managers_open_settings(as_):
    for who in ("resident", "clerk", "eng"):
        assert as_(who).get("/admin/settings").status_code == 403
