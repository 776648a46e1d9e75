"""Who sees which cases: the household rule for residents, estates for staff (docs/scopes.md).

Every rule is checked twice, by `can_view` (one case) and by `visible_cases_clause` (SQL),
and the two must agree.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.access import can_view, scope_key, visible_cases_clause
from portal.extensions import db
from portal.models import Alert, Case, Relation, Residency, Role
from portal.timeutil import local_now, utcnow
from tests import factories
from tests.conftest import login_as, post
from tests.helpers import html


def sees(user, case) -> bool:
    """can_view and the SQL clause, which must agree."""
    by_rule = can_view(user, case)
    by_sql = db.session.scalar(select(Case.id).where(Case.id == case.id, visible_cases_clause(user))) is not None
    assert by_rule == by_sql, f"can_view says {by_rule}, the SQL clause {by_sql}"
    return by_rule


@pytest.fixture
def unit(people):
    return people["ref"]["units"][0]


def resident(unit, relation, **kwargs):
    return factories.user(Role.RESIDENT, unit=unit, relation=relation, **kwargs)


# --- households -------------------------------------------------------------------------------

def test_the_filer_always_sees_their_case_even_after_moving_out(people, unit):
    tenant = resident(unit, Relation.TENANT)
    case = factories.case(tenant, received_at=utcnow() - timedelta(days=30))
    db.session.flush()
    tenant_stay = db.session.scalar(select(Residency).where(Residency.user_id == tenant.id))
    tenant_stay.moved_out = local_now().date() - timedelta(days=1)
    assert sees(tenant, case)


def test_the_owner_sees_every_case_of_the_unit_including_a_tenants(people, unit):
    owner = people["resident"]  # owner of units[0] since 2000
    tenant = resident(unit, Relation.TENANT)
    case = factories.case(tenant, description="楼上噪音")
    assert sees(owner, case)


def test_a_family_member_sees_the_units_cases(people, unit):
    family = resident(unit, Relation.FAMILY)
    case = factories.case(people["resident"])
    assert sees(family, case)


def test_a_tenant_sees_only_their_own_cases(people, unit):
    tenant, other_tenant = resident(unit, Relation.TENANT), resident(unit, Relation.TENANT)
    owners = factories.case(people["resident"])
    theirs = factories.case(other_tenant)
    mine = factories.case(tenant)
    assert sees(tenant, mine) and not sees(tenant, owners) and not sees(tenant, theirs)


def test_someone_who_moved_out_no_longer_sees_cases_received_after(people, unit):
    today = local_now().date()
    family = resident(unit, Relation.FAMILY)
    stay = db.session.scalar(select(Residency).where(Residency.user_id == family.id))
    stay.moved_out = today - timedelta(days=10)
    before = factories.case(people["resident"], received_at=utcnow() - timedelta(days=20))
    after = factories.case(people["resident"])
    assert sees(family, before) and not sees(family, after)


def test_a_new_owner_does_not_see_the_previous_owners_cases(people, unit):
    earlier = factories.case(people["resident"], received_at=utcnow() - timedelta(days=20))
    newcomer = resident(unit, Relation.OWNER, moved_in=local_now().date() - timedelta(days=5))
    later = factories.case(people["resident"])
    assert not sees(newcomer, earlier) and sees(newcomer, later)


def test_a_person_with_two_units_sees_both_households(people, elsewhere):
    landlord = resident(people["ref"]["units"][0], Relation.OWNER)
    factories.residency(landlord, elsewhere["ref"]["units"][1], Relation.OWNER)
    here = factories.case(people["resident"])
    there = factories.case(resident(elsewhere["ref"]["units"][1], Relation.TENANT))
    stranger = factories.case(people["other_resident"])  # units[1] of the first estate
    assert sees(landlord, here) and sees(landlord, there) and not sees(landlord, stranger)


def test_household_members_read_and_comment_but_only_the_filer_confirms(app, people, unit):
    family = resident(unit, Relation.FAMILY)
    case = factories.advance(factories.case(people["resident"]),
                             ["classify", "dispatch", "accept", "plan", "complete"], people)
    db.session.commit()
    client = app.test_client()
    login_as(client, family)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert case.number in page and "confirm-version" not in page
    confirm = post(client, f"/cases/{case.id}/act/confirm", {"confirm-version": str(case.version_id)})
    assert confirm.status_code == 403
    comment = post(client, f"/cases/{case.id}/act/comment",
                   {"comment-version": str(case.version_id), "comment-note": "我也看到了"})
    assert comment.status_code == 302


def test_the_owners_list_shows_the_tenants_case_but_the_tenants_list_not_the_owners(app, people, unit):
    tenant = resident(unit, Relation.TENANT)
    theirs, owners = factories.case(tenant, description="租户的投诉"), factories.case(people["resident"])
    db.session.commit()
    for who, shown, hidden in ((people["resident"], theirs, None), (tenant, theirs, owners)):
        client = app.test_client()
        login_as(client, who)
        page = client.get("/my/cases").get_data(as_text=True)
        assert f'id="row-{shown.id}"' in page
        assert hidden is None or f'id="row-{hidden.id}"' not in page


# --- staff and estates ------------------------------------------------------------------------

def test_staff_see_their_estates_and_company_staff_all(people, elsewhere):
    here = factories.advance(factories.case(people["resident"], category=people["ref"]["parking"]),
                             ["classify", "dispatch"], people)
    assert sees(people["clerk"], here) and sees(people["manager"], here) and sees(elsewhere["manager_here"], here)
    assert not sees(elsewhere["clerk"], here) and not sees(elsewhere["manager"], here)
    assert sees(people["eng"], here)  # advance dispatches to engineering
    assert not sees(people["sec"], here)  # another department of the same estate
    assert not sees(elsewhere["eng"], here)


def test_department_staff_of_the_same_department_see_only_their_estate(people, elsewhere):
    case = factories.case(people["resident"])
    case.department_id = people["ref"]["sec"].id
    assert sees(people["sec"], case) and not sees(elsewhere["sec"], case)


def test_a_case_without_estate_is_for_company_staff_only(people):
    case = factories.case(people["resident"])
    case.estate_id = None
    assert sees(people["manager"], case) and not sees(people["clerk"], case)


def test_two_clerks_of_different_estates_never_share_a_cached_list(app, people, elsewhere):
    here = factories.case(people["resident"], description="这里的投诉")
    there = factories.case(elsewhere["resident"], description="那里的投诉")
    db.session.commit()
    assert scope_key(people["clerk"]) != scope_key(elsewhere["clerk"])
    pages = {}
    for who in (people["clerk"], elsewhere["clerk"], people["clerk"]):  # the second visit is served cached
        client = app.test_client()
        login_as(client, who)
        pages.setdefault(who.id, []).append(client.get("/board").get_data(as_text=True))
    for page in pages[people["clerk"].id]:
        assert f'id="row-{here.id}"' in page and f'id="row-{there.id}"' not in page
    page = pages[elsewhere["clerk"].id][0]
    assert f'id="row-{there.id}"' in page and f'id="row-{here.id}"' not in page


def test_a_residents_scope_key_follows_the_household(people, unit):
    owner = people["resident"]
    key = scope_key(owner)
    factories.residency(owner, people["ref"]["units"][1], Relation.FAMILY)
    assert scope_key(owner) != key


def test_site_filter_offers_only_the_viewers_estates(app, people, elsewhere):
    both = {"", str(people["ref"]["estate"].id), str(elsewhere["ref"]["estate"].id)}
    for who, offered in ((people["manager"], both), (elsewhere["clerk"], None)):
        client = app.test_client()
        login_as(client, who)
        found = html(client.get("/board")).all(id="site")
        assert ({o.attrs.get("value") for o in found[0].all("option")} if found else None) == offered


def test_desk_search_finds_only_residents_of_the_clerks_estates(app, people, elsewhere):
    client = app.test_client()
    login_as(client, elsewhere["clerk"])
    here = client.get("/desk/residents", query_string={"q": "张三"}).get_data(as_text=True)
    there = client.get("/desk/residents", query_string={"q": "王五"}).get_data(as_text=True)
    assert f'value="{people["resident"].id}"' not in here and f'value="{elsewhere["resident"].id}"' in there


def test_escalations_of_another_estate_are_not_listed(app, people, elsewhere):
    case = factories.case(people["resident"])
    db.session.add(Alert(case_id=case.id, rule="agitated", level=1, round=0, note=""))
    db.session.commit()
    for who, shown in ((elsewhere["manager"], False), (elsewhere["manager_here"], True)):
        client = app.test_client()
        login_as(client, who)
        assert (case.number in client.get("/escalations").get_data(as_text=True)) is shown


def test_an_estate_manager_reports_on_their_estate_only(app, people, elsewhere):
    client = app.test_client()
    login_as(client, elsewhere["manager"])
    page = html(client.get("/reports"))
    offered = {o.attrs.get("value") for o in page.by_id("site").all("option")}
    assert offered == {str(elsewhere["ref"]["estate"].id)}


# --- a resident with several units --------------------------------------------------------------

def _new_case(**extra) -> dict:
    return {"kind": "complaint", "category_id": "0", "location_type": "unit", "description": "门禁坏了", **extra}


def test_a_resident_with_two_units_chooses_and_the_case_gets_its_estate(app, people, elsewhere):
    owner = people["resident"]
    second = elsewhere["ref"]["units"][0]
    factories.residency(owner, second, Relation.OWNER)
    db.session.commit()
    client = app.test_client()
    login_as(client, owner)
    page = html(client.get("/cases/new"))
    assert {o.attrs.get("value") for o in page.by_id("unit_id").all("option")} == {
        str(people["ref"]["units"][0].id), str(second.id)}
    data = _new_case(category_id=str(people["ref"]["water"].id), unit_id=str(second.id))
    assert post(client, "/cases/new", data).status_code == 302
    case = db.session.scalar(select(Case).order_by(Case.id.desc()))
    assert case.unit_id == second.id and case.estate_id == elsewhere["ref"]["estate"].id


def test_a_resident_with_one_unit_is_not_asked(app, people):
    client = app.test_client()
    login_as(client, people["resident"])
    assert not html(client.get("/cases/new")).all(id="unit_id")
    assert post(client, "/cases/new", _new_case(category_id=str(people["ref"]["water"].id))).status_code == 302
    case = db.session.scalar(select(Case).order_by(Case.id.desc()))
    assert case.unit_id == people["ref"]["units"][0].id


def test_a_bulk_retry_reaches_only_the_managers_estates(app, people, elsewhere):
    from portal.models import Notification
    case = factories.case(people["resident"])
    note = Notification(user_id=people["resident"].id, case_id=case.id, channel="sms", kind="resident_plan",
                        subject="测试", body="", address="13800000000", dedup_key="bulk-scope",
                        status="failed", attempts=5)
    db.session.add(note)
    db.session.commit()
    for who, retried in ((elsewhere["manager"], False), (elsewhere["manager_here"], True)):
        client = app.test_client()
        login_as(client, who)
        assert post(client, "/admin/outbox/retry", {}).status_code == 302
        db.session.expire_all()
        assert (db.session.get(Notification, note.id).status != "failed") is retried


def test_a_residents_list_reads_the_households_once_per_request(app, people):
    from sqlalchemy import event

    client = app.test_client()
    login_as(client, people["resident"])
    reads = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if "FROM residency" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        assert client.get("/my/cases").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    assert len(reads) == 1  # the scope key, the list's clause and the row checks share it


def test_the_households_are_read_again_after_any_write(people, unit):
    from sqlalchemy import insert

    from portal.scopes import households

    owner = people["resident"]
    before = households(owner)
    assert households(owner) is before  # kept while nothing is written
    db.session.execute(insert(Residency).values(user_id=owner.id, unit_id=people["ref"]["units"][1].id,
                                                relation=Relation.FAMILY, moved_in=before[0][1].date(),
                                                created_at=utcnow()))
    after = households(owner)  # a bulk INSERT (portal.register.apply) forgets it
    assert {u for u, _, _ in after} == {u for u, _, _ in before} | {people["ref"]["units"][1].id}
    stay = db.session.scalar(select(Residency).where(Residency.user_id == owner.id,
                                                     Residency.unit_id == people["ref"]["units"][1].id))
    stay.moved_out = local_now().date()  # pending: the next read flushes it first
    assert any(t is not None for u, _, t in households(owner) if u == people["ref"]["units"][1].id)
