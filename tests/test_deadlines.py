"""Per-case clocks: started by registration, re-budgeted by severity, paused while waiting, met by actions."""
from __future__ import annotations

from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import Kind, Status
from portal.sla import policy
from portal.sla.deadlines import urgency
from tests import factories
from tests.sla_helpers import at, clock, deadline


def _case(people, moment, kind=Kind.COMPLAINT, **kw):
    with clock(moment):
        c = factories.case(people["resident"], people["clerk"], kind=kind, received_at=moment, **kw)
    db.session.commit()
    return c


def _do(case, who, name, moment, **data):
    with clock(moment):
        perform(case, who, name, data)
    db.session.commit()


def _classify(people, case, severity, moment, **flags):
    _do(case, people["clerk"], "classify", moment, category_id=people["ref"]["water"].id, severity=severity, **flags)


def test_registration_on_the_eve_of_national_day_starts_the_clocks(people):
    c = _case(people, at(2026, 9, 30, 17, 0))
    assert deadline(c, "first_reply").due_at == at(2026, 9, 30, 19, 0)     # 2 hours: the hotline is 24 h
    assert deadline(c, "resolution").due_at == at(2026, 10, 10, 17, 0)    # 3 working days, make-up Saturday
    assert c.due_at == at(2026, 9, 30, 19, 0) and c.due_clock == "first_reply"


def test_severity_change_rebudgets_the_running_clocks(people):
    c = _case(people, at(2026, 9, 30, 17, 0))
    _classify(people, c, "important", at(2026, 9, 30, 17, 10))
    assert deadline(c, "first_reply").due_at == at(2026, 10, 8, 17, 0)    # 1 working day
    assert deadline(c, "resolution").due_at == at(2026, 10, 9, 17, 0)     # 2 working days
    _classify(people, c, "minor", at(2026, 9, 30, 17, 20))
    assert deadline(c, "resolution").due_at == at(2026, 10, 8, 17, 0)     # 1 working day


def test_a_managers_policy_override_applies_to_new_cases(people):
    policy.save("complaint", "minor", "resolution", 5, "working_days")
    db.session.commit()
    c = _case(people, at(2026, 11, 23, 9, 0))
    _classify(people, c, "minor", at(2026, 11, 23, 9, 5))
    assert deadline(c, "resolution").due_at == at(2026, 11, 30, 9, 0)


def test_dispatch_starts_investigation_and_proposal_and_the_plan_meets_them(people):
    c = _case(people, at(2026, 11, 23, 9, 0))
    _classify(people, c, "minor", at(2026, 11, 23, 9, 5))
    _do(c, people["clerk"], "dispatch", at(2026, 11, 23, 9, 10), department_id=people["ref"]["eng"].id)
    assert deadline(c, "first_reply").met_at == at(2026, 11, 23, 9, 10)  # dispatch is the first word we send
    assert deadline(c, "investigation").due_at == at(2026, 11, 24, 9, 10)
    assert deadline(c, "proposal").due_at == at(2026, 11, 25, 9, 10)
    _do(c, people["eng"], "accept", at(2026, 11, 23, 10, 0))
    _do(c, people["eng"], "plan", at(2026, 11, 23, 11, 0), finding="管道老化", plan="更换",
        promised_at=at(2026, 11, 24, 15, 0))
    assert deadline(c, "investigation").met_at == at(2026, 11, 23, 11, 0)
    assert deadline(c, "proposal").met_at == at(2026, 11, 23, 11, 0)
    assert deadline(c, "promise").due_at == at(2026, 11, 24, 15, 0)
    _do(c, people["eng"], "complete", at(2026, 11, 24, 14, 0), note="已更换")
    assert deadline(c, "resolution").met_at == at(2026, 11, 24, 14, 0)
    assert not deadline(c, "resolution").cancelled
    assert deadline(c, "callback").due_at == at(2026, 11, 27, 14, 0)      # 3 working days to call back
    assert c.due_clock == "callback"


def test_waiting_on_a_third_party_pauses_and_records_the_paused_time(people):
    c = _case(people, at(2026, 11, 23, 9, 0))
    _classify(people, c, "minor", at(2026, 11, 23, 9, 0))                 # resolution: Tue 09:00
    _do(c, people["clerk"], "dispatch", at(2026, 11, 23, 9, 0), department_id=people["ref"]["eng"].id)
    _do(c, people["eng"], "accept", at(2026, 11, 23, 9, 30))
    _do(c, people["eng"], "third_party", at(2026, 11, 23, 10, 0), third_party="自来水公司", note="已联系")
    res = deadline(c, "resolution")
    assert res.segment_start is None and res.next_check_at is None and res.spent_seconds == 3600
    assert c.sla_paused and urgency(c, at(2026, 11, 30, 9, 0)) == "paused"
    _do(c, people["eng"], "resume", at(2026, 11, 25, 10, 0))
    assert res.paused_seconds == 48 * 3600
    assert res.due_at == at(2026, 11, 26, 9, 0)   # 8 working hours left from Wed 10:00
    assert not c.sla_paused


def test_waiting_on_the_resident_pauses_too(people):
    c = _case(people, at(2026, 11, 23, 9, 0))
    _classify(people, c, "minor", at(2026, 11, 23, 9, 0))
    _do(c, people["clerk"], "dispatch", at(2026, 11, 23, 9, 0), department_id=people["ref"]["eng"].id)
    _do(c, people["eng"], "await_resident", at(2026, 11, 23, 11, 0), note="请告知上门时间")
    assert c.status == Status.WAITING_RESIDENT and deadline(c, "resolution").paused_at == at(2026, 11, 23, 11, 0)
    _do(c, people["clerk"], "resume", at(2026, 11, 23, 15, 0))
    assert deadline(c, "resolution").due_at == at(2026, 11, 24, 13, 0)   # 4 h paused, 7 h left


def test_reopening_starts_a_new_round(people):
    c = _case(people, at(2026, 11, 23, 9, 0))
    _classify(people, c, "minor", at(2026, 11, 23, 9, 0))
    _do(c, people["clerk"], "dispatch", at(2026, 11, 23, 9, 0), department_id=people["ref"]["eng"].id)
    _do(c, people["eng"], "accept", at(2026, 11, 23, 9, 30))
    _do(c, people["eng"], "complete", at(2026, 11, 23, 12, 0), note="已修好")
    _do(c, people["resident"], "reject", at(2026, 11, 23, 14, 0), note="仍然漏水")
    assert deadline(c, "callback", 0).cancelled
    assert deadline(c, "resolution", 1).due_at == at(2026, 11, 24, 14, 0)
    assert deadline(c, "investigation", 1).due_at == at(2026, 11, 24, 14, 0)
    assert c.due_clock == "investigation" or c.due_clock == "resolution"


def test_invalid_verdict_starts_the_notice_clock_and_stops_the_rest(people):
    c = _case(people, at(2026, 11, 27, 16, 0))                           # Friday
    _do(c, people["clerk"], "mark_invalid", at(2026, 11, 27, 16, 30), note="不属于物业服务范围")
    assert deadline(c, "resolution").cancelled
    assert deadline(c, "invalid_notice").due_at == at(2026, 11, 30, 16, 30)   # 1 working day: Monday


def test_urgent_repairs_must_be_dispatched_within_the_setting(people):
    c = _case(people, at(2026, 11, 23, 9, 0), kind=Kind.REPAIR)
    assert deadline(c, "dispatch").due_at == at(2026, 11, 23, 11, 0)     # ordinary repair: 2 hours
    _classify(people, c, "minor", at(2026, 11, 23, 9, 1), urgent=True)
    assert deadline(c, "dispatch").due_at == at(2026, 11, 23, 9, 15)     # urgent: 15 minutes


def test_board_colours_follow_the_reminder_threshold(people):
    c = _case(people, at(2026, 11, 23, 9, 0))
    _classify(people, c, "minor", at(2026, 11, 23, 9, 0))   # first reply due 11:00, reminder at 10:30
    assert urgency(c, at(2026, 11, 23, 10, 0)) == "ok"
    assert urgency(c, at(2026, 11, 23, 10, 31)) == "warn"
    assert urgency(c, at(2026, 11, 23, 11, 1)) == "overdue"
