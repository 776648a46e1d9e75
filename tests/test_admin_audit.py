"""The audit log: settings, phrases, service levels and the calendar are recorded; managers filter the log."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models import AuditEntry
from portal.timeutil import local_now
from tests.admin_helpers import client_of, org  # noqa: F401
from tests.conftest import post


def last(object_type):
    db.session.expire_all()
    return db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == object_type)
                             .order_by(AuditEntry.id.desc()))


def test_phrases_are_audited(org, client_of):
    c = client_of("manager")
    post(c, "/admin/phrases", {"new-text": "感谢您的耐心等待。", "new-position": "2"})
    entry = last("phrase")
    assert entry.action == "create" and json.loads(entry.after)["text"] == "感谢您的耐心等待。"
    pid = int(entry.object_id)
    post(c, f"/admin/phrases/{pid}", {f"p{pid}-text": "感谢您的耐心。", f"p{pid}-position": "2"})
    entry = last("phrase")
    assert entry.action == "deactivate"
    assert json.loads(entry.before) == {"text": "感谢您的耐心等待。", "active": True}


def test_settings_are_audited_one_entry_per_changed_setting(org, client_of):
    from portal import settings
    c = client_of("manager")
    html = c.get("/admin/settings").get_data(as_text=True)
    assert html
    form = {}
    for key, spec in settings.SPECS.items():
        value = settings.get(key)
        if spec.kind == "bool":
            if value:
                form[key] = "y"
        else:
            form[key] = str(value)
    key = next(k for k, s in settings.SPECS.items() if s.kind == "int" and s.max and settings.get(k) < s.max)
    old = settings.get(key)
    form[key] = str(old + 1)
    assert post(c, "/admin/settings", form).status_code == 302
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "setting")))
    assert len(entries) == 1 and entries[0].object_id == key
    assert json.loads(entries[0].before) == {key: old} and json.loads(entries[0].after) == {key: old + 1}


def test_service_levels_and_the_calendar_are_audited(org, client_of):
    c = client_of("manager")
    html = c.get("/admin/deadlines?kind=complaint").get_data(as_text=True)
    import re
    data = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        data[name] = value
    for select_name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|<option value="([^"]*)" selected', body)
        first = re.search(r'value="([^"]*)"', body)
        data[select_name] = (chosen and (chosen.group(1) or chosen.group(2))) or first.group(1)
    data.pop("csrf_token", None)
    amount = next(k for k, v in data.items() if v and k.endswith("amount"))
    data[amount] = str(float(data[amount]) + 1).rstrip("0").rstrip(".")
    r = post(c, "/admin/deadlines?kind=complaint", data)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    entry = last("service_level")
    assert entry is not None and entry.action == "update" and json.loads(entry.before) != json.loads(entry.after)
    year = local_now().year
    r = post(c, f"/admin/calendar?year={year}", {"holidays": f"{year}-10-01 国庆节", "workdays": ""})
    assert r.status_code == 302
    entry = last("calendar")
    assert entry.object_id == str(year) and "国庆节" in json.loads(entry.after)["holidays"]


def test_managers_filter_the_log_and_see_before_and_after(org, client_of):
    at = datetime(2026, 5, 4, 3, 0, tzinfo=timezone.utc)
    audit.record(org["manager"], "estate", org["a"].id, "update", before={"name": "旧名"}, after={"name": "新名"},
                 estate_id=org["a"].id, summary="甲", at=at)
    audit.record(org["b_manager"], "unit", org["b_unit"].id, "deactivate", before={"active": True},
                 after={"active": False}, estate_id=org["b"].id, summary="乙", at=at)
    db.session.commit()
    c = client_of("manager")
    html = c.get("/admin/audit").get_data(as_text=True)
    assert "旧名" in html and "新名" in html and "乙" in html
    assert "乙" not in c.get("/admin/audit?object_type=estate").get_data(as_text=True)
    assert "甲" not in c.get(f"/admin/audit?estate={org['b'].id}").get_data(as_text=True)
    assert "甲" not in c.get("/admin/audit?actor=清风苑").get_data(as_text=True)
    assert "甲" in c.get("/admin/audit?since=2026-05-04&until=2026-05-04").get_data(as_text=True)
    assert "甲" not in c.get("/admin/audit?since=2026-05-05").get_data(as_text=True)
    r = c.get("/admin/audit?object_type=unit", headers={"HX-Request": "true", "HX-Target": "audit-list"})
    assert "<html" not in r.get_data(as_text=True) and "乙" in r.get_data(as_text=True)
    # A manager of one estate sees that estate's entries (and their own), not the others'.
    b = client_of("b_manager").get("/admin/audit").get_data(as_text=True)
    assert "乙" in b and "甲" not in b
    assert client_of("clerk").get("/admin/audit").status_code == 403


def test_bad_filter_values_never_fail(org, client_of):
    c = client_of("manager")
    for q in ("since=9999-99-99", "estate=abc", "object_type=<b>", "page=-4", "page=99999999999", "until=1900-01-01"):
        assert c.get(f"/admin/audit?{q}").status_code == 200, q
