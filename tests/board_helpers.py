"""Shared data and helpers of the board tests (tests/test_board_*.py)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import Case, Channel, Kind
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import post

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROW_ID = re.compile(r'<tr id="row-(\d+)"')


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def row_ids(response) -> list[int]:
    return [int(i) for i in ROW_ID.findall(response.get_data(as_text=True))]


@pytest.fixture
def cases(people):
    """Four cases that differ in every filterable way."""
    ref, clerk = people["ref"], people["clerk"]
    zhang, li = people["resident"], people["other_resident"]

    a = factories.case(zhang, kind=Kind.COMPLAINT, description="水管爆裂，楼道积水", received_at=local(2025, 3, 1, 10))
    perform(a, clerk, "classify", {"category_id": ref["water"].id, "severity": "minor"})
    perform(a, clerk, "dispatch", {"department_id": ref["eng"].id})

    b = factories.case(li, kind=Kind.REPAIR, description="车位被占用", received_at=local(2025, 3, 5, 12))
    b.channel = Channel.PHONE
    perform(b, clerk, "classify", {"category_id": ref["parking"].id, "severity": "major"})

    # 07:00 on 6 March in Shanghai is still 5 March in UTC
    c = factories.case(zhang, kind=Kind.ENQUIRY, description="请问停水到几点", received_at=local(2025, 3, 6, 7))
    c.channel = Channel.WALK_IN
    perform(c, clerk, "classify", {"category_id": ref["water"].id, "severity": "important"})
    perform(c, clerk, "dispatch", {"department_id": ref["eng"].id})
    perform(c, people["eng"], "accept", {})
    c.promised_at = utcnow() - timedelta(hours=2)  # promised and missed: overdue

    d = factories.case(li, kind=Kind.SUGGESTION, description="建议增加绿化", received_at=local(2025, 3, 10, 12))
    d.channel = Channel.WECHAT
    perform(d, clerk, "classify", {"category_id": ref["parking"].id, "severity": "minor"})
    perform(d, clerk, "dispatch", {"department_id": ref["sec"].id})
    perform(d, people["sec"], "accept", {})
    perform(d, people["sec"], "complete", {"note": "已采纳"})
    d.promised_at = utcnow() - timedelta(hours=2)  # missed, but resolved: not overdue
    db.session.commit()
    return {"a": a, "b": b, "c": c, "d": d}


@pytest.fixture
def thirty(people):
    """Thirty cases: more than one page of 25."""
    made = [factories.case(people["resident"], received_at=local(2025, 4, 1, 8) + timedelta(minutes=i))
            for i in range(30)]
    db.session.commit()
    return made


def row_post(client, case, name, **fields):
    version = db.session.scalar(select(Case.version_id).where(Case.id == case.id))
    data = {f"{name}-version": str(version), **{f"{name}-{k}": v for k, v in fields.items()}}
    return post(client, f"/cases/{case.id}/act/{name}", data, htmx_target=f"row-{case.id}")


def only_row(response, case) -> str:
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert body.strip().startswith(f'<tr id="row-{case.id}"')
    assert body.count("<tr") == 1
    return body
