"""The demo seed: idempotent, every state present, accounts usable; records are kept."""
import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Case, CaseEvent, Role, Status, User
from portal.models.guards import ImmutableRecordError
from tests import factories
from tests.conftest import csrf_token


def _counts():
    return tuple(db.session.scalar(select(func.count(m.id))) for m in (Case, User, CaseEvent))


def test_seed_demo_is_idempotent_covers_every_state_and_accounts_log_in(runner, client):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    for username in ("resident1", "resident2", "clerk1", "eng1", "sec1", "manager1", "manager2", "demo12345"):
        assert username in first.output
    counts = _counts()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert _counts() == counts and counts[0] == 200

    assert set(db.session.scalars(select(Case.status).distinct())) == set(Status)
    assert db.session.scalar(select(func.count(Case.id)).where(Case.reopen_count > 0)) > 0
    roles = {u.username: u.role for u in db.session.scalars(select(User))}
    assert roles["clerk1"] == Role.CLERK and roles["manager1"] == Role.MANAGER
    levels = {u.username: u.manager_level for u in db.session.scalars(select(User).where(User.role == Role.MANAGER))}
    assert levels == {"manager1": 1, "manager2": 2}
    assert db.session.scalar(select(User).filter_by(username="eng1")).department.code == "engineering"
    assert db.session.scalar(select(User).filter_by(username="resident1")).unit.label == "3栋-1201"
    first_events = select(func.min(CaseEvent.id)).group_by(CaseEvent.case_id)
    assert set(db.session.scalars(select(CaseEvent.action).where(CaseEvent.id.in_(first_events)))) == {"register"}

    r = client.post("/login", data={"username": "eng1", "password": "demo12345", "csrf_token": csrf_token(client)})
    assert r.status_code == 302 and r.location.endswith("/dept")


def test_events_are_append_only_and_cases_never_deleted(people):
    case = factories.case(people["resident"])
    db.session.commit()
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id))
    event.note = "rewritten"
    with pytest.raises(ImmutableRecordError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(Case, case.id))
    with pytest.raises(ImmutableRecordError):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(Case, case.id) is not None
