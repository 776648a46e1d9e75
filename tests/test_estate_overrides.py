"""Managers edit the company's phrases and service levels, and each estate's own that replace them there."""
from __future__ import annotations

from flask import g
from sqlalchemy import select

from portal import org
from portal.extensions import db
from portal.models import AuditEntry, Phrase, SlaRule
from portal.sla import policy
from portal.sla.forms import cell_key
from tests.conftest import login_as, post
from tests.helpers import html


def _policy_data(kind: str, estate_id, **cells) -> dict:
    """Every cell as the page shows it (the levels in force), with `cells` changed."""
    data = {}
    for severity in policy.SEVERITIES:
        for clock in policy.POLICY_CLOCKS:
            lvl = policy.level(kind, severity, clock, estate_id)
            key = cell_key(severity, clock)
            data[f"{key}__amount"] = "" if lvl.amount is None else f"{lvl.amount:g}"
            data[f"{key}__unit"] = lvl.unit
    data.update(cells)
    return data


def test_company_manager_adds_an_estate_phrase_that_replaces_the_company_ones_there(app, client, people, elsewhere):
    second = elsewhere["ref"]["estate"]
    login_as(client, people["manager"])  # company-level
    page = html(client.get("/admin/phrases"))
    assert page.all("nav", id="owner-tabs") and "公司默认" in page.text
    r = post(client, f"/admin/phrases?estate={second.id}", {"new-text": "清风苑专用：感谢您的耐心等待。",
                                                             "new-position": "1"})
    assert r.status_code == 302 and f"estate={second.id}" in r.location
    phrase = db.session.scalar(select(Phrase).where(Phrase.estate_id == second.id))
    assert phrase is not None and phrase.text.startswith("清风苑专用")
    assert [p.text for p in org.phrases_for(second.id)] == [phrase.text]
    here = people["ref"]["estate"].id
    assert phrase.text not in [p.text for p in org.phrases_for(here)]
    assert "清风苑专用" in client.get(f"/admin/phrases?estate={second.id}").get_data(as_text=True)
    assert "清风苑专用" not in client.get("/admin/phrases").get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == "phrase"))
    assert entry is not None and entry.estate_id == second.id


def test_an_estate_manager_edits_only_their_estate(app, client, people, elsewhere):
    second = elsewhere["ref"]["estate"]
    company_phrase = db.session.scalar(select(Phrase).where(Phrase.estate_id.is_(None)))
    login_as(client, elsewhere["manager"])
    tabs = html(client.get("/admin/phrases")).by_id("owner-tabs")
    assert [a.text.strip() for a in tabs.all("a")] == [second.name]  # no company defaults tab
    assert client.get(f"/admin/phrases?estate={people['ref']['estate'].id}").status_code == 404
    r = post(client, f"/admin/phrases/{company_phrase.id}", {f"p{company_phrase.id}-text": "改掉公司用语",
                                                           f"p{company_phrase.id}-position": "1"})
    assert r.status_code == 404
    db.session.refresh(company_phrase)
    assert company_phrase.text != "改掉公司用语"
    assert client.get(f"/admin/deadlines?estate={people['ref']['estate'].id}").status_code == 404


def test_an_estate_service_level_applies_in_that_estate_only(app, client, people, elsewhere):
    second = elsewhere["ref"]["estate"].id
    login_as(client, people["manager"])
    data = _policy_data("complaint", second, **{"major__resolution__amount": "5",
                                                "major__resolution__unit": "working_days"})
    r = post(client, f"/admin/deadlines?kind=complaint&estate={second}", data)
    assert r.status_code == 302 and f"estate={second}" in r.location
    rule = db.session.scalar(select(SlaRule).where(SlaRule.estate_id == second))
    assert (rule.kind, rule.severity, rule.clock, rule.amount) == ("complaint", "major", "resolution", 5)
    g.pop("_sla_rules", None)  # this test's context read the levels before the change
    assert policy.level("complaint", "major", "resolution", second).amount == 5
    assert policy.level("complaint", "major", "resolution", people["ref"]["estate"].id).amount == 3
    assert policy.level("complaint", "major", "resolution").amount == 3
    page = html(client.get(f"/admin/deadlines?kind=complaint&estate={second}"))
    assert page.one("td", data_cell="major__resolution").all("small", cls="changed")
    company = html(client.get("/admin/deadlines?kind=complaint"))
    assert not company.one("td", data_cell="major__resolution").all("small", cls="changed")
