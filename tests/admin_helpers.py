"""Fixtures for the administration tests: a company manager, a second estate with its own manager."""
from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.models import Building, Department, Estate, Role, Unit
from tests import factories
from tests.conftest import login_as


@pytest.fixture
def org(app, people):
    """people + `manager` made company-level, estate A (the reference one, `ref`), estate B with
    its own manager `b_manager`, building, unit, department and clerk."""
    a = db.session.get(Estate, people["ref"]["units"][0].building.estate_id)
    b = Estate(name="清风苑")
    b_building = Building(estate=b, name="A座")
    b_unit = Unit(building=b_building, number="1201")
    b_dept = Department(code="b-eng", name="清风苑工程部", estate=b)
    db.session.add_all([b, b_building, b_unit, b_dept])
    db.session.flush()
    people["manager"].company_wide = True
    people["manager"].estates = [a]
    for who in ("clerk", "eng", "sec"):
        people[who].estates = [a]
    o = dict(people, a=a, b=b, b_building=b_building, b_unit=b_unit, b_dept=b_dept)
    o["a_manager"] = factories.user(Role.MANAGER, name="翠湖经理")
    o["a_manager"].estates = [a]
    o["b_manager"] = factories.user(Role.MANAGER, name="清风苑经理")
    o["b_manager"].estates = [b]
    o["b_clerk"] = factories.user(Role.CLERK, name="清风苑客服")
    o["b_clerk"].estates = [b]
    db.session.commit()
    return o


@pytest.fixture
def client_of(app, org):
    clients = {}

    def make(who: str):
        if who not in clients:
            db.session.commit()
            clients[who] = app.test_client()
            login_as(clients[who], org[who])
        return clients[who]
    return make


def token(client, url="/admin/estates") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def send(client, url, data, token_url="/login"):
    """POST a form with a valid CSRF token; returns the response."""
    html = client.get(token_url).get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    return client.post(url, data={**data, "csrf_token": csrf})
