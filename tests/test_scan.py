"""The scan: reminders at 75 %, escalations on breach and one working day later, each exactly once."""
from __future__ import annotations

import os

import pytest

from sqlalchemy import func, select

from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import Alert, CaseEvent, Notification, Role
from portal.sla import alerts
from portal.sla.scan import scan
from tests import factories
from tests.sla_helpers import at, clock, deadline


def _count(model, **where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def _minor_complaint(people, moment):
    with clock(moment):
        c = factories.case(people["resident"], people["clerk"], received_at=moment)
        perform(c, people["clerk"], "classify", {"category_id": people["ref"]["water"].id, "severity": "minor"})
    db.session.commit()
    return c


def test_reminder_then_escalation_each_exactly_once(people):
    people["manager"].email = "manager@example.com"
    c = _minor_complaint(people, at(2026, 11, 23, 9, 0))    # first reply: reminder 10:30, due 11:00
    assert scan(at(2026, 11, 23, 10, 0)) == []
    fired = scan(at(2026, 11, 23, 10, 31))
    assert [(f.rule, f.level) for f in fired] == [("first_reply", 0)]
    assert scan(at(2026, 11, 23, 10, 32)) == []            # nothing newly crossed
    reminders = db.session.scalars(select(Notification).where(Notification.kind == "reminder")).all()
    assert {n.user_id for n in reminders} == {people["clerk"].id}   # the clerk who registered it

    fired = scan(at(2026, 11, 23, 11, 1))
    assert [(f.rule, f.level) for f in fired] == [("first_reply", 1)]
    escalations = db.session.scalars(select(Notification).where(Notification.kind == "escalation")).all()
    assert {(n.user_id, n.channel) for n in escalations} == {
        (people["manager"].id, "inapp"), (people["manager"].id, "email"), (people["manager"].id, "sms")}
    assert all(n.status == "sent" for n in escalations)      # JOBS_SYNC delivered the e-mail and SMS at once
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == c.id, CaseEvent.action == "escalate"))
    assert event is not None and not event.public and "首次回复超时" in event.internal_note and event.note == ""
    assert scan(at(2026, 11, 23, 12, 0)) == []
    assert _count(Alert, case_id=c.id) == 2


def test_running_the_same_firings_twice_notifies_nobody_twice(people):
    """What two racing workers do: both fire the same thresholds; the unique key lets one through."""
    c = _minor_complaint(people, at(2026, 11, 23, 9, 0))
    firing = alerts.firing_for(c, "first_reply", level=1, due_at=at(2026, 11, 23, 11, 0))
    first = alerts.fire([firing])
    db.session.commit()
    notes = _count(Notification)
    assert first and alerts.fire([firing]) == []
    db.session.commit()
    assert _count(Notification) == notes


def test_a_late_scan_escalates_without_a_pointless_reminder(people):
    _minor_complaint(people, at(2026, 11, 23, 9, 0))
    fired = scan(at(2026, 11, 23, 12, 0))
    assert ("first_reply", 0) not in [(f.rule, f.level) for f in fired]
    assert ("first_reply", 1) in [(f.rule, f.level) for f in fired]


def test_resolution_still_overdue_a_working_day_later_goes_to_the_site_manager(people):
    site = factories.user(Role.MANAGER)
    site.manager_level = 2
    c = _minor_complaint(people, at(2026, 11, 27, 9, 0))    # Friday; resolution due Monday 09:00
    with clock(at(2026, 11, 27, 9, 5)):
        perform(c, people["clerk"], "dispatch", {"department_id": people["ref"]["eng"].id})
    db.session.commit()
    assert deadline(c, "resolution").due_at == at(2026, 11, 30, 9, 0)
    assert deadline(c, "resolution").level2_at == at(2026, 12, 1, 9, 0)
    scan(at(2026, 11, 30, 9, 1))
    assert _count(Alert, case_id=c.id, rule="resolution", level=1) == 1
    assert scan(at(2026, 11, 30, 18, 0)) == []
    fired = scan(at(2026, 12, 1, 9, 1))
    assert [(f.rule, f.level) for f in fired] == [("resolution", 2)]
    level2 = db.session.scalars(select(Notification).where(Notification.alert_id.is_not(None),
                                                             Notification.kind == "escalation",
                                                             Notification.user_id == site.id)).all()
    assert level2 and all(n.alert.level == 2 for n in level2)


def test_department_clocks_remind_the_department(people):
    c = _minor_complaint(people, at(2026, 11, 23, 9, 0))
    with clock(at(2026, 11, 23, 9, 0)):
        perform(c, people["clerk"], "dispatch", {"department_id": people["ref"]["eng"].id})
    db.session.commit()
    fired = scan(at(2026, 11, 24, 3, 1))   # 75 % of the 24-hour investigation
    assert ("investigation", 0) in [(f.rule, f.level) for f in fired]
    users = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "reminder")))
    assert users == {people["eng"].id}


def test_dry_run_reports_and_changes_nothing(people):
    c = _minor_complaint(people, at(2026, 11, 23, 9, 0))
    fired = scan(at(2026, 11, 23, 11, 1), dry_run=True)
    assert [(f.rule, f.level) for f in fired] == [("first_reply", 1)]
    db.session.rollback()
    assert _count(Alert) == 0 and deadline(c, "first_reply").stage == 0


def test_cli_scan_dry_run_prints_what_would_fire(people, runner):
    c = _minor_complaint(people, at(2026, 11, 23, 9, 0))
    result = runner.invoke(args=["sla", "scan", "--at", "2026-11-23T11:01", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert c.number in result.output and "first_reply" in result.output and "1 would fire" in result.output
    assert _count(Alert) == 0
    result = runner.invoke(args=["sla", "scan", "--at", "2026-11-23T11:01"])
    assert "1 fired" in result.output and _count(Alert) == 1
    assert runner.invoke(args=["sla", "scan", "--at", "yesterday"]).exit_code != 0


def test_major_complaint_notifies_the_manager_at_once_and_once_only(people):
    c = _minor_complaint(people, at(2026, 11, 23, 9, 0))
    for _ in range(2):
        perform(c, people["clerk"], "classify", {"category_id": people["ref"]["water"].id, "severity": "major"})
        db.session.commit()
    alert = db.session.scalar(select(Alert).where(Alert.case_id == c.id, Alert.rule == "major"))
    assert alert is not None and alert.level == 1
    assert _count(Notification, alert_id=alert.id, user_id=people["manager"].id, channel="inapp") == 1


def test_group_complaint_and_agitated_resident_escalate(people):
    c = _minor_complaint(people, at(2026, 11, 23, 9, 0))
    perform(c, people["clerk"], "classify", {"category_id": people["ref"]["water"].id, "severity": "important",
                                             "group_complaint": True, "agitated": True})
    db.session.commit()
    assert set(db.session.scalars(select(Alert.rule).where(Alert.case_id == c.id))) == {"group", "agitated"}


def test_the_same_matter_twice_in_a_row_is_a_repeat_complaint(people):
    first = _minor_complaint(people, at(2026, 11, 20, 9, 0))
    second = _minor_complaint(people, at(2026, 11, 23, 9, 0))
    assert not first.repeat and second.repeat
    assert _count(Alert, case_id=second.id, rule="repeat") == 1
    other = factories.case(people["resident"], people["clerk"], category=people["ref"]["parking"])
    db.session.commit()
    assert not other.repeat


def test_a_case_reopened_twice_escalates(people):
    from tests.helpers import make_case
    c = make_case(people, ("acknowledge", "classify", "dispatch", "accept", "complete", "reject",
                           "accept", "complete"))
    assert _count(Alert, case_id=c.id, rule="reopened_twice") == 0
    factories.advance(c, ("reject",), people)
    db.session.commit()
    assert _count(Alert, case_id=c.id, rule="reopened_twice") == 1


def test_the_resident_hears_of_the_first_reply_in_app_and_by_sms(app, people):
    from tests.helpers import make_case
    c = make_case(people, ("acknowledge",))
    notes = db.session.scalars(select(Notification).where(Notification.user_id == people["resident"].id)).all()
    assert {(n.channel, n.status) for n in notes} == {("inapp", "sent"), ("sms", "sent")}
    sms = next(n for n in notes if n.channel == "sms")
    assert os.path.exists(os.path.join(app.config["OUTBOX_DIR"], f"sms-{sms.id}.json"))
    assert c.number in sms.subject


def _overdue_past_level2(people):
    """A complaint whose resolution clock is past its due time and its level-2 time, never scanned."""
    factories.user(Role.MANAGER).manager_level = 2
    c = _minor_complaint(people, at(2026, 11, 27, 9, 0))    # resolution due Mon 30th 09:00, level 2 Tue 09:00
    with clock(at(2026, 11, 27, 9, 5)):
        perform(c, people["clerk"], "dispatch", {"department_id": people["ref"]["eng"].id})
    db.session.commit()
    return c


def test_one_scan_fires_every_stage_that_is_due_and_a_second_fires_nothing(people):
    c = _overdue_past_level2(people)
    fired = scan(at(2026, 12, 1, 9, 1))
    assert [(f.rule, f.level) for f in fired if f.rule == "resolution"] == [("resolution", 1), ("resolution", 2)]
    assert _count(Alert, case_id=c.id, rule="resolution") == 2
    assert deadline(c, "resolution").stage == 3 and deadline(c, "resolution").next_check_at is None
    assert scan(at(2026, 12, 1, 9, 1)) == []


def test_two_identical_cli_scans_print_the_firings_then_none(people, runner):
    c = _overdue_past_level2(people)
    first = runner.invoke(args=["sla", "scan", "--at", "2026-12-01T09:01"])
    assert first.exit_code == 0, first.output
    lines = [line for line in first.output.splitlines() if line.startswith(c.number)]
    assert len(lines) == _count(Alert) and any("resolution" in line and "level 2" in line for line in lines)
    assert f"{len(lines)} fired at" in first.output
    second = runner.invoke(args=["sla", "scan", "--at", "2026-12-01T09:01"])
    assert second.exit_code == 0 and second.output.startswith("0 fired at"), second.output


def test_a_scan_that_lost_the_race_claims_none_of_the_firings(people, monkeypatch):
    """Two scans read the same due rows; the one that inserts second reports nothing it did not insert."""
    from portal.sla import scan as scan_module
    _overdue_past_level2(people)
    moment = at(2026, 12, 1, 9, 1)
    stale = scan_module.due_rows(moment, 5000)
    winner = scan(moment)
    monkeypatch.setattr(scan_module, "due_rows", lambda now, limit: stale)
    assert winner and scan(moment) == []
    assert _count(Alert) == len(winner)


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="two writers at once need PostgreSQL (SQLite refuses the second)")
def test_two_concurrent_scans_together_claim_each_firing_once(app, people, monkeypatch):
    import threading
    from portal.sla import scan as scan_module
    _overdue_past_level2(people)
    moment, barrier, results = at(2026, 12, 1, 9, 1), threading.Barrier(2), []
    read = scan_module.due_rows

    def due_rows_together(now, limit):
        rows = read(now, limit)
        barrier.wait(10)                       # both have read the same rows before either writes
        return rows
    monkeypatch.setattr(scan_module, "due_rows", due_rows_together)

    def one_scan():
        with app.app_context():
            results.append([(f.case_id, f.rule, f.level) for f in scan(moment)])
            db.session.remove()
    threads = [threading.Thread(target=one_scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    claimed = results[0] + results[1]
    assert len(results) == 2 and len(claimed) == len(set(claimed)) == _count(Alert) > 0
