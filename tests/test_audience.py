"""Audience, generated from the action table (SPEC §9, issue 14).

Every action runs with every input it declares: internal text carries a tag, every flag is set,
severity is major. Then every view a resident has (the case page and its fragments, the receipt,
their case list and its fragment, the notification inbox, and the e-mail, SMS and in-app texts
queued for them) must contain no tag and no flag, while staff still read the internal text.
An action registered without an audience, or recording something it did not declare, fails.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.cases import actions as table
from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.labels import SEVERITY, label
from portal.models import Notification, Role, Severity, Status
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import htmx_get

S = Status
FLAGS = ("urgent", "group_complaint", "agitated")
# How to bring a (classified, flagged) case into each state; every step uses the generated inputs too.
ROUTES = {
    S.REGISTERED: (), S.ACKNOWLEDGED: ("acknowledge",), S.DISPATCHED: ("dispatch",),
    S.IN_PROGRESS: ("dispatch", "accept"), S.THIRD_PARTY: ("dispatch", "accept", "third_party"),
    S.WAITING_RESIDENT: ("dispatch", "accept", "await_resident"),
    S.RESOLVED: ("dispatch", "accept", "complete"), S.CALLBACK_DONE: ("dispatch", "accept", "complete", "callback"),
    S.CLOSED: ("dispatch", "accept", "complete", "close"), S.INVALID: ("mark_invalid",),
    S.CANNOT_HANDLE: ("dispatch", "cannot_handle"),
}
PREFERRED = list(ROUTES)


def tag(name: str, key: str) -> str:
    return f"INTERNAL-{name}-{key}-TAG"


class Reading(dict):
    """The action's input, noting every key the action reads."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def inputs(name: str, case, people, under_test: bool = False) -> Reading:
    """Every input the action declares: tagged text, every flag set, valid choices.

    The resident confirming on the technician's phone confirms the outcome: only for the action under
    test, so that the steps leading to `confirm` or `reject` leave it for the resident."""
    act = table.ACTIONS[name]
    data = Reading()
    for key, where in (act.audience or {}).items():
        if key == "category_id":
            data[key] = people["ref"]["water"].id
        elif key == "department_id":
            eng, sec = people["ref"]["eng"], people["ref"]["sec"]
            data[key] = sec.id if case.department_id == eng.id else eng.id
        elif key == "severity":
            data[key] = Severity.MAJOR.value
        elif key in FLAGS:
            data[key] = True
        elif key == "promised_at":
            data[key] = utcnow() + timedelta(days=2)
        elif key == "owner_id":
            continue  # written from the actor, not read from the input
        elif key == "resident_present":
            data[key] = under_test
        elif key == "assignee_id":
            data[key] = people["colleague"].id  # a technician of the case's department
        else:
            data[key] = tag(name, key) if where == table.INTERNAL else f"PUBLIC-{name}-{key}"
    return data


def actor(name: str, case, people):
    roles = table.ACTIONS[name].roles
    if Role.DEPARTMENT in roles and case.department_id is not None and case.status != S.REGISTERED:
        for who in ("eng", "sec"):
            if people[who].department_id == case.department_id and name not in ("comment",):
                return people[who]
    for who in ("clerk", "manager", "eng"):
        if people[who].role in roles and (people[who].role != Role.DEPARTMENT or case.department_id):
            return people[who]
    return case.resident


def run(name: str, case, people, under_test: bool = False):
    data = inputs(name, case, people, under_test)
    who = actor(name, case, people)
    if name == "hand_over":
        case.assignee_id = who.id  # only the case's own technician hands it over
    event = perform(case, who, name, data)
    undeclared = data.read - set(table.ACTIONS[name].audience or {})
    assert not undeclared, f"{name} reads {undeclared} without a declared audience"
    return event


def flagged_case(people, start: Status):
    """A complaint classified with every flag and severity major, then taken to `start`."""
    case = factories.case(people["resident"], kind=factories.Kind.COMPLAINT)
    run("classify", case, people)
    for step in ROUTES[start]:
        run(step, case, people)
    db.session.commit()
    return case


def forbidden_words() -> list[str]:
    with force_locale("zh_Hans_CN"):
        from flask_babel import gettext as _
        return [_("Group complaint"), _("Agitated resident"), label(SEVERITY, Severity.MAJOR)]


def resident_views(as_, case) -> dict[str, str]:
    """Everything the resident can read about the case, by where they read it."""
    client = as_("resident")
    views = {
        "case page": client.get(f"/cases/{case.id}").get_data(as_text=True),
        "case body fragment": htmx_get(client, f"/cases/{case.id}", "case-body").get_data(as_text=True),
        "receipt": client.get(f"/cases/{case.id}/receipt").get_data(as_text=True),
        "my cases": client.get("/my/cases").get_data(as_text=True),
        "my cases fragment": htmx_get(client, "/my/cases", "case-table").get_data(as_text=True),
        "notifications": client.get("/notifications").get_data(as_text=True),
    }
    for n in db.session.scalars(select(Notification).where(Notification.user_id == case.resident_id)):
        views[f"{n.channel} notice {n.id}"] = f"{n.subject}\n{n.body}"
    return views


def assert_nothing_internal(views: dict[str, str], case_names: list[str]):
    for where, text in views.items():
        assert "INTERNAL-" not in text, f"internal text in the resident's {where}"
        for word in forbidden_words():
            assert word not in text, f"{word!r} in the resident's {where}"


def source_of(name: str) -> Status:
    sources = table.ACTIONS[name].sources
    return next(s for s in PREFERRED if s in sources)


RUNNABLE = [n for n in table.ACTIONS if n != "register"]


@pytest.mark.parametrize("name", RUNNABLE)
def test_resident_views_show_no_internal_text_after_each_action(as_, people, name):
    people["resident"].email = "zhang@example.com"
    people["eng"].department_head = True  # assigns technicians
    people["colleague"] = factories.user(Role.DEPARTMENT, department=people["ref"]["eng"], name="李师傅")
    case = flagged_case(people, source_of(name))
    event = run(name, case, people, under_test=True)
    db.session.commit()
    act = table.ACTIONS[name]

    views = resident_views(as_, case)
    assert_nothing_internal(views, [name])
    page = views["case page"]
    for key, where in act.audience.items():
        value = f"PUBLIC-{name}-{key}"
        if where == table.PUBLIC and act.public and value in (event.note or ""):
            assert value in page, f"the resident does not read {name}.{key}"
    # Staff still read every internal text that was written.
    staff = as_("clerk" if case.department_id is None else "manager").get(f"/cases/{case.id}").get_data(as_text=True)
    for key, where in act.audience.items():
        if where == table.INTERNAL and tag(name, key) in (event.internal_note or ""):
            assert tag(name, key) in staff


def test_a_registered_case_shows_the_resident_no_triage(as_, people):
    case = flagged_case(people, S.REGISTERED)
    views = resident_views(as_, case)
    assert_nothing_internal(views, ["classify"])
    assert people["ref"]["water"].name in views["case page"]  # the category is public


def test_every_action_declares_an_audience_for_everything_it_records():
    assert table.audience_problems() == []
    assert set(table.ACTIONS) == set(RUNNABLE) | {"register"}


def test_an_action_added_without_an_audience_fails(people):
    """Registering an action with no audience is caught by the table check and refused when run."""
    @table.action("audit_probe", "probe", {Role.CLERK}, {S.REGISTERED})
    def _probe(case, user, data, at):
        return {"note": data.get("note")}
    try:
        assert "audit_probe: no audience declared" in table.audience_problems()
        case = factories.case(people["resident"])
        with pytest.raises(table.AudienceError):
            perform(case, people["clerk"], "audit_probe", {"note": "x"})
    finally:
        del table.ACTIONS["audit_probe"]
        db.session.rollback()


def test_an_action_recording_an_undeclared_field_fails(people):
    @table.action("audit_probe", "probe", {Role.CLERK}, {S.REGISTERED}, audience={"note": table.PUBLIC})
    def _probe(case, user, data, at):
        return {"note": data.get("note"), "secret": "我们内部的判断"}
    try:
        case = factories.case(people["resident"])
        with pytest.raises(table.AudienceError, match="secret"):
            perform(case, people["clerk"], "audit_probe", {"note": "x"})
    finally:
        del table.ACTIONS["audit_probe"]
        db.session.rollback()


def test_an_internal_event_cannot_declare_public_text():
    @table.action("audit_probe", "probe", {Role.CLERK}, {S.REGISTERED}, public=False,
                  audience={"note": table.PUBLIC})
    def _probe(case, user, data, at):
        return {}
    try:
        assert "audit_probe.note: public text on an internal event" in table.audience_problems()
    finally:
        del table.ACTIONS["audit_probe"]


def test_the_reading_check_catches_an_input_read_without_a_declaration(people):
    """The generated test's own guard: an action reading an undeclared input is reported."""
    @table.action("audit_probe", "probe", {Role.CLERK}, {S.REGISTERED}, audience={})
    def _probe(case, user, data, at):
        data.get("whisper")
        return {}
    try:
        case = factories.case(people["resident"])
        with pytest.raises(AssertionError, match="whisper"):
            run("audit_probe", case, people)
    finally:
        del table.ACTIONS["audit_probe"]
        db.session.rollback()


def test_the_table_keeps_what_spec_9_calls_internal_internal():
    """Instructions, classification flags, severity, callback notes: internal; the promise made: public."""
    A, I, P = table.ACTIONS, table.INTERNAL, table.PUBLIC
    assert A["dispatch"].audience["note"] == I and A["dispatch"].audience["message"] == P
    assert {A["classify"].audience[k] for k in ("severity", "urgent", "group_complaint", "agitated")} == {I}
    assert all(A[n].audience["note"] == I for n in A if n.startswith("callback") or n == "promise_answered")
    assert A["instruct"].audience["note"] == I and not A["instruct"].public
    assert A["plan"].audience == {"finding": P, "plan": P, "promised_at": P}
    assert table.CASE_FIELDS["severity"] == I and table.CASE_FIELDS["deadlines"] == I
    assert table.CASE_FIELDS["promised_at"] == P
