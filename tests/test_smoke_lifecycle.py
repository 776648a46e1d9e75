"""A complaint carried through its whole life by all four roles, through the web."""
from portal.extensions import db
from portal.models import Case
from tests.conftest import login_as, post


def test_complaint_end_to_end(client, people):
    login_as(client, people["resident"])
    r = post(client, "/cases/new", {"kind": "complaint", "category_id": people["ref"]["water"].id,
                                     "location_type": "unit", "description": "厨房水管漏水"})
    assert r.status_code == 302 and "/receipt" in r.location
    case = db.session.scalar(db.select(Case))
    assert case.number.startswith("TS-")
    receipt = client.get(r.location).get_data(as_text=True)
    assert case.number in receipt
