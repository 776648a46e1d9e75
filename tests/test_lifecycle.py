"""The lifecycle rules (SPEC §4) and case numbers, called directly, without the web."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from portal.cases.intake import next_number
from portal.cases.lifecycle import ACTIONS, TransitionError, can, perform
from portal.extensions import db
from portal.models import CaseEvent, Kind, Status
from portal.timeutil import utcnow
from tests import factories

S = Status
HAPPY_PATH = ["classify", "acknowledge", "dispatch", "accept", "plan", "complete", "close"]


@pytest.fixture
def case(people):
    c = factories.case(people["resident"])
    db.session.commit()
    return c


def event_count(c) -> int:
    return db.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == c.id))


def last_event(c) -> CaseEvent:
    return db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == c.id).order_by(CaseEvent.id.desc()))


def refused(c, user, name, data=None) -> TransitionError:
    """Perform must refuse: a message, no state change, no event."""
    before_status, before_events = c.status, event_count(c)
    with pytest.raises(TransitionError) as info:
        perform(c, user, name, data or {})
    db.session.flush()
    assert str(info.value).strip(), "a refusal carries a message for the user"
    assert c.status == before_status
    assert event_count(c) == before_events
    return info.value


# --- the main path ---------------------------------------------------------------------------

def test_new_case_is_registered_with_a_register_event(case, people):
    assert case.status == S.REGISTERED
    (event,) = case.events
    assert (event.action, event.from_status, event.to_status) == ("register", None, "registered")
    assert event.actor_id == people["resident"].id


def test_main_path_walks_registered_to_closed(case, people):
    seen = []
    for step in HAPPY_PATH:
        factories.advance(case, [step], people)
        seen.append(case.status)
    assert seen == [S.REGISTERED, S.ACKNOWLEDGED, S.DISPATCHED, S.IN_PROGRESS, S.IN_PROGRESS,
                    S.RESOLVED, S.CLOSED]
    assert case.first_reply == "好的" and case.first_reply_at is not None
    assert case.department_id == people["ref"]["eng"].id
    assert (case.finding, case.plan) == ("管道老化", "更换管道")
    assert case.completion_note == "已更换" and case.resolved_at is not None
    assert case.closed_at is not None


def test_dispatch_is_allowed_straight_from_registered_once_classified(case, people):
    factories.advance(case, ["classify", "dispatch"], people)
    assert case.status == S.DISPATCHED


def test_classify_sets_category_severity_and_urgency_without_changing_status(case, people):
    perform(case, people["clerk"], "classify",
            {"category_id": people["ref"]["parking"].id, "severity": "major", "urgent": True})
    db.session.flush()
    assert (case.category_id, case.severity, case.urgent) == (people["ref"]["parking"].id, "major", True)
    assert case.status == S.REGISTERED


# --- side paths -----------------------------------------------------------------------------

def test_clerk_judges_invalid_with_reason_and_manager_overturns(case, people):
    perform(case, people["clerk"], "mark_invalid", {"note": "非物业管理范围"})
    assert case.status == S.INVALID
    assert case.invalid_reason == "非物业管理范围"
    perform(case, people["manager"], "overturn", {"note": "属于物业责任"})
    assert case.status == S.ACKNOWLEDGED


def test_clerk_may_not_overturn_an_invalid_verdict(case, people):
    factories.advance(case, ["mark_invalid"], people)
    refused(case, people["clerk"], "overturn", {"note": "x"})


@pytest.mark.parametrize("note", ["", "   ", None])
def test_invalid_verdict_requires_a_reason(case, people, note):
    err = refused(case, people["clerk"], "mark_invalid", {"note": note})
    assert err.field == "note"
    assert case.invalid_reason == ""


def test_overturn_requires_a_reason(case, people):
    factories.advance(case, ["mark_invalid"], people)
    assert refused(case, people["manager"], "overturn", {"note": ""}).field == "note"


def test_invalid_case_can_be_closed_by_manager(case, people):
    factories.advance(case, ["mark_invalid", "close"], people)
    assert case.status == S.CLOSED


def test_third_party_keeps_case_open_and_resume_returns_to_work(case, people):
    factories.advance(case, ["classify", "dispatch", "accept"], people)
    perform(case, people["eng"], "third_party", {"third_party": "自来水公司", "note": "市政停水，正在催促"})
    assert case.status == S.THIRD_PARTY
    assert case.is_open
    assert (case.third_party, case.explanation) == ("自来水公司", "市政停水，正在催促")
    perform(case, people["eng"], "resume", {})
    assert case.status == S.IN_PROGRESS


def test_third_party_requires_the_party_and_an_explanation(case, people):
    factories.advance(case, ["classify", "dispatch", "accept"], people)
    assert refused(case, people["eng"], "third_party", {"third_party": "", "note": "x"}).field == "third_party"
    assert refused(case, people["eng"], "third_party", {"third_party": "开发商", "note": ""}).field == "note"


def test_department_reports_cannot_handle_with_explanation(case, people):
    factories.advance(case, ["classify", "dispatch", "accept"], people)
    assert refused(case, people["eng"], "cannot_handle", {"note": ""}).field == "note"
    perform(case, people["eng"], "cannot_handle", {"note": "属业主自有设备，依合同不在维修范围"})
    assert case.status == S.CANNOT_HANDLE
    assert case.explanation == "属业主自有设备，依合同不在维修范围"
    assert not case.is_open
    factories.advance(case, ["close"], people)
    assert case.status == S.CLOSED


def test_manager_reassigns_as_a_public_transfer_with_an_internal_reason(case, people):
    factories.advance(case, ["classify", "dispatch", "accept"], people)
    event = perform(case, people["manager"], "reassign", {"department_id": people["ref"]["sec"].id,
                                                          "note": "内部：其实是门禁问题"})
    assert case.status == S.DISPATCHED
    assert case.department_id == people["ref"]["sec"].id
    assert event.public is True  # the resident's page names the department: the move is told, not read off it
    assert people["ref"]["sec"].name in event.note and "门禁" not in event.note
    assert event.internal_note == "内部：其实是门禁问题"


def test_reassign_to_the_same_department_is_refused(case, people):
    factories.advance(case, ["classify", "dispatch"], people)
    err = refused(case, people["manager"], "reassign", {"department_id": people["ref"]["eng"].id})
    assert err.field == "department_id"


# --- the resident's verdict -------------------------------------------------------------------

def test_resident_confirms_a_resolved_case_once(case, people):
    factories.advance(case, ["classify", "dispatch", "accept", "complete"], people)
    perform(case, people["resident"], "confirm", {"note": "满意"})
    assert case.confirmed_at is not None
    assert case.status == S.RESOLVED
    refused(case, people["resident"], "confirm", {})


def test_confirmed_outcome_can_no_longer_be_rejected(case, people):
    factories.advance(case, ["classify", "dispatch", "accept", "complete", "confirm"], people)
    refused(case, people["resident"], "reject", {"note": "改主意了"})
    assert case.reopen_count == 0


def test_resident_rejection_reopens_to_dispatched_with_supervisor_visit(case, people):
    factories.advance(case, ["classify", "dispatch", "accept", "complete"], people)
    perform(case, people["resident"], "reject", {"note": "仍然漏水"})
    assert case.status == S.DISPATCHED
    assert case.reopen_count == 1
    assert case.supervisor_visit is True
    assert case.resolved_at is None
    assert case.department_id == people["ref"]["eng"].id


def test_second_rejection_counts_two_reopenings(case, people):
    factories.advance(case, ["classify", "dispatch", "accept", "complete", "reject",
                             "accept", "complete", "reject"], people)
    assert case.reopen_count == 2


def test_rejection_requires_a_reason(case, people):
    factories.advance(case, ["classify", "dispatch", "accept", "complete"], people)
    assert refused(case, people["resident"], "reject", {"note": " "}).field == "note"
    assert case.reopen_count == 0


# --- refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who, name, steps, data", [
    ("eng", "accept", [], {}),                                   # department accepting a registered case
    ("resident", "close", ["classify", "dispatch", "accept", "complete"], {}),
    ("clerk", "close", ["classify", "dispatch", "accept", "complete"], {}),
    ("clerk", "dispatch", [], {"department_id": "eng"}),          # before classification
    ("eng", "complete", ["classify", "dispatch"], {"note": "done"}),  # before accepting
    ("resident", "confirm", ["classify", "dispatch"], {}),       # not resolved yet
    ("eng", "resume", ["classify", "dispatch", "accept"], {}),   # not waiting on a third party
    ("clerk", "acknowledge", ["acknowledge"], {"note": "again"}),  # reply already sent
    ("resident", "comment", ["classify", "dispatch", "accept", "complete", "close"], {"note": "hi"}),
    ("manager", "close", [], {}),                                # an open case cannot be closed
    ("resident", "classify", [], {"category_id": "water", "severity": "minor"}),
    ("clerk", "no_such_action", [], {}),
])
def test_illegal_transition_is_refused_with_a_message(case, people, who, name, steps, data):
    factories.advance(case, steps, people)
    data = {k: (people["ref"][v].id if v in ("eng", "water") else v) for k, v in data.items()}
    refused(case, people[who], name, data)


def test_dispatch_needs_classification_even_when_role_and_state_allow_it(case, people):
    assert can(people["clerk"], case, "dispatch")
    refused(case, people["clerk"], "dispatch", {"department_id": people["ref"]["eng"].id})
    assert case.department_id is None
    factories.advance(case, ["classify", "dispatch"], people)
    assert case.status == S.DISPATCHED


def test_dispatch_to_unknown_department_is_refused_on_the_department_field(case, people):
    factories.advance(case, ["classify"], people)
    assert refused(case, people["clerk"], "dispatch", {"department_id": 999}).field == "department_id"


# --- the plan and its promised time -----------------------------------------------------------

@pytest.fixture
def accepted(case, people):
    return factories.advance(case, ["classify", "dispatch", "accept"], people)


def test_plan_records_finding_plan_and_future_promise(accepted, people):
    promised = utcnow() + timedelta(hours=30)
    perform(accepted, people["eng"], "plan", {"finding": "阀门坏", "plan": "换阀门", "promised_at": promised})
    assert (accepted.finding, accepted.plan, accepted.promised_at) == ("阀门坏", "换阀门", promised)
    assert accepted.status == S.IN_PROGRESS


@pytest.mark.parametrize("promised", [None, "明天", "past", "now"])
def test_plan_requires_a_promised_time_in_the_future(accepted, people, promised):
    value = {"past": utcnow() - timedelta(minutes=5), "now": utcnow()}.get(promised, promised)
    err = refused(accepted, people["eng"], "plan", {"finding": "f", "plan": "p", "promised_at": value})
    assert err.field == "promised_at"
    assert accepted.promised_at is None


@pytest.mark.parametrize("missing", ["finding", "plan"])
def test_plan_requires_finding_and_plan(accepted, people, missing):
    data = {"finding": "f", "plan": "p", "promised_at": utcnow() + timedelta(days=1), missing: ""}
    assert refused(accepted, people["eng"], "plan", data).field == missing


def test_refused_plan_leaves_the_case_unchanged(accepted, people):
    with pytest.raises(TransitionError):
        perform(accepted, people["eng"], "plan",
                {"finding": "阀门坏", "plan": "换阀门", "promised_at": utcnow() - timedelta(days=1)})
    assert (accepted.finding, accepted.plan) == ("", "")


def test_refused_third_party_leaves_the_case_unchanged(accepted, people):
    with pytest.raises(TransitionError):
        perform(accepted, people["eng"], "third_party", {"third_party": "开发商", "note": ""})
    assert accepted.third_party == ""


# --- the event log ----------------------------------------------------------------------------

WALK = ["classify", "acknowledge", "dispatch", "accept", "plan", "complete", "reject", "accept",
        "complete", "confirm", "close"]


def test_every_action_appends_exactly_one_event_with_actor_states_and_note(case, people):
    for step in WALK:
        before_status, before_count = case.status, event_count(case)
        factories.advance(case, [step], people)
        assert event_count(case) == before_count + 1, step
        event = last_event(case)
        target = ACTIONS[step].target
        expected_actor = case.resident if step in ("confirm", "reject") else {
            "classify": people["clerk"], "acknowledge": people["clerk"], "dispatch": people["clerk"],
            "close": people["manager"]}.get(step, people["eng"])
        assert event.action == step
        assert event.actor_id == expected_actor.id, step
        assert event.from_status == before_status.value, step
        assert event.to_status == (target.value if target else None), step
        assert event.at is not None
    notes = {e.action: e.note for e in case.events}
    assert notes["acknowledge"] == "好的"
    assert notes["reject"] == "仍然漏水"
    assert notes["plan"] == "管道老化\n更换管道"
    assert people["ref"]["eng"].name in notes["dispatch"]


def test_comment_appends_an_event_and_changes_nothing_else(case, people):
    event = perform(case, people["resident"], "comment", {"note": "补充：二楼也漏"})
    db.session.flush()
    assert (event.action, event.from_status, event.to_status, event.note) == \
        ("comment", "registered", None, "补充：二楼也漏")
    assert case.status == S.REGISTERED
    assert event_count(case) == 2


def test_events_are_never_modified_by_later_actions(case, people):
    snapshots = {}
    for step in WALK:
        factories.advance(case, [step], people)
        db.session.commit()
        e = last_event(case)
        snapshots[e.id] = (e.action, e.actor_id, e.from_status, e.to_status, e.note, e.public, e.at)
    db.session.expire_all()
    rows = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .where(CaseEvent.id.in_(snapshots))).all()
    assert {e.id: (e.action, e.actor_id, e.from_status, e.to_status, e.note, e.public, e.at)
            for e in rows} == snapshots
    assert event_count(case) == len(WALK) + 1  # plus the register event; none removed


# --- case numbers -----------------------------------------------------------------------------

NUMBER = re.compile(r"^(TS|BX|ZX|JY)-\d{8}-\d{4}$")


def test_case_number_has_prefix_local_date_and_four_digit_counter(people):
    received = datetime(2025, 3, 4, 2, 0, tzinfo=timezone.utc)
    c = factories.case(people["resident"], received_at=received)
    assert NUMBER.match(c.number)
    assert c.number == "TS-20250304-0001"


@pytest.mark.parametrize("kind, prefix", [(Kind.COMPLAINT, "TS"), (Kind.REPAIR, "BX"),
                                          (Kind.ENQUIRY, "ZX"), (Kind.SUGGESTION, "JY")])
def test_each_kind_has_its_own_prefix_and_counter(people, kind, prefix):
    received = datetime(2025, 6, 1, 3, 0, tzinfo=timezone.utc)
    factories.case(people["resident"], kind=Kind.COMPLAINT, received_at=received)
    c = factories.case(people["resident"], kind=kind, received_at=received)
    expected_seq = 2 if kind == Kind.COMPLAINT else 1
    assert c.number == f"{prefix}-20250601-{expected_seq:04d}"


def test_numbers_increase_within_a_day_and_restart_the_next_day(people):
    day1 = datetime(2025, 6, 1, 3, 0, tzinfo=timezone.utc)
    numbers = [factories.case(people["resident"], received_at=day1 + timedelta(minutes=i)).number
               for i in range(3)]
    assert numbers == ["TS-20250601-0001", "TS-20250601-0002", "TS-20250601-0003"]
    assert factories.case(people["resident"], received_at=day1 + timedelta(days=1)).number == "TS-20250602-0001"
    assert factories.case(people["resident"], received_at=day1).number == "TS-20250601-0004"


@pytest.mark.parametrize("received, day", [
    (datetime(2026, 11, 22, 17, 0, tzinfo=timezone.utc), "20261123"),   # 01:00 next day in Shanghai
    (datetime(2025, 11, 22, 15, 59, tzinfo=timezone.utc), "20251122"),  # 23:59 same day in Shanghai
    (datetime(2025, 11, 22, 16, 0, tzinfo=timezone.utc), "20251123"),   # midnight in Shanghai
])
def test_number_date_is_the_day_in_asia_shanghai(people, received, day):
    assert factories.case(people["resident"], received_at=received).number == f"TS-{day}-0001"


def test_number_date_follows_the_time_zone_setting(app, people):
    app.config["TIMEZONE"] = "UTC"
    received = datetime(2025, 11, 22, 17, 0, tzinfo=timezone.utc)
    assert factories.case(people["resident"], received_at=received).number == "TS-20251122-0001"


def test_future_receipt_time_is_clamped_to_now(people):
    c = factories.case(people["resident"], received_at=utcnow() + timedelta(days=3))
    assert c.received_at <= utcnow()


def test_next_number_counts_per_prefix_and_day(app):
    day = date(2024, 2, 29)
    assert [next_number(Kind.REPAIR, day) for _ in range(2)] == ["BX-20240229-0001", "BX-20240229-0002"]
    assert next_number(Kind.SUGGESTION, day) == "JY-20240229-0001"
    assert next_number(Kind.REPAIR, date(2024, 3, 1)) == "BX-20240301-0001"


def test_time_is_a_parameter_of_registration_actions_and_clocks(people):
    """`at` reaches the event log, the case's own times and its clocks, with no clock patched."""
    from portal.cases.intake import register_case
    from portal.models import Channel
    from tests.sla_helpers import at
    t0 = at(2026, 11, 23, 9, 0)
    c = register_case(actor=people["clerk"], resident=people["resident"], kind=Kind.COMPLAINT,
                      channel=Channel.PHONE, description="漏水", at=t0)
    assert c.received_at == t0 and last_event(c).at == t0
    assert [d.due_at for d in c.deadlines if d.clock == "first_reply"] == [at(2026, 11, 23, 11, 0)]
    perform(c, people["clerk"], "acknowledge", {"note": "已收到"}, at=at(2026, 11, 23, 9, 30))
    assert c.first_reply_at == at(2026, 11, 23, 9, 30) == last_event(c).at == c.updated_at
    assert [d.met_at for d in c.deadlines if d.clock == "first_reply"] == [at(2026, 11, 23, 9, 30)]
