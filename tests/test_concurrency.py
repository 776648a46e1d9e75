"""Many simultaneous updates of one case from two accounts: each applies or is refused with a
conflict, and the event log accounts for every applied one (no lost update).

Runs on a database shared by real threads: a SQLite file, or the PostgreSQL test database
when the suite runs on PostgreSQL (there the race is decided by `UPDATE ... WHERE version_id`).
"""
from __future__ import annotations

import re
import threading
from collections import Counter
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal import create_app
from portal import config as portal_config
from portal.extensions import db
from portal.models import Case, CaseEvent
from tests import factories
from tests.conftest import RequestScopedClient, csrf_token, login_as

THREADS_PER_ACCOUNT = 4
ROUNDS = 5
CONFLICT = ("其他人修改了该案件", "其他人同时保存了该案件")


@pytest.fixture
def shared_app(tmp_path, database_url):
    config = portal_config.TestConfig()
    config.SQLALCHEMY_DATABASE_URI = (database_url if database_url.startswith("postgresql")
                                      else f"sqlite:///{tmp_path / 'shared.db'}")
    config.UPLOAD_DIR = str(tmp_path / "uploads")
    config.OUTBOX_DIR = str(tmp_path / "outbox")
    app = create_app(config)
    app.test_client_class = RequestScopedClient
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _version(html: str, name: str) -> str:
    form = re.search(rf'<form[^>]*action="[^"]*/act/{name}"(.*?)</form>', html, re.S).group(1)
    return re.search(rf'name="{name}-version"[^>]*value="(\d+)"', form).group(1)


def test_simultaneous_updates_from_two_accounts_lose_nothing(shared_app):
    ref = factories.reference()
    clerk, manager = factories.user(factories.Role.CLERK), factories.user(factories.Role.MANAGER)
    resident = factories.user(factories.Role.RESIDENT, unit=ref["units"][0])
    case = factories.case(resident)
    db.session.commit()
    case_id, start_version, category_id = case.id, case.version_id, ref["water"].id
    # Plain values: the threads have no app context to load ORM attributes in.
    plans = {"clerk": (SimpleNamespace(username=clerk.username), "comment"),
             "manager": (SimpleNamespace(username=manager.username), "classify")}
    severities = ("minor", "important", "major")

    results: list[tuple[str, str, str]] = []  # (who, tag, outcome)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2 * THREADS_PER_ACCOUNT)
    lock = threading.Lock()

    def worker(who: str, n: int) -> None:
        user, action = plans[who]
        client = shared_app.test_client()
        try:
            login_as(client, user)
            for round_no in range(ROUNDS):
                tag = f"{who}-{n}-{round_no}"
                page = client.get(f"/cases/{case_id}").get_data(as_text=True)
                version = _version(page, action)
                fields = {"version": version}
                if action == "comment":
                    fields["note"] = f"并发备注 {tag}"
                else:
                    fields.update(category_id=category_id, severity=severities[(n + round_no) % 3])
                data = {f"{action}-{k}": v for k, v in fields.items()}
                data["csrf_token"] = csrf_token(client)
                barrier.wait(timeout=60)  # everyone posts at the same moment
                response = client.post(f"/cases/{case_id}/act/{action}", data=data)
                body = response.get_data(as_text=True)
                if response.status_code == 302:
                    outcome = "applied"
                elif response.status_code == 200 and any(text in body for text in CONFLICT):
                    outcome = "conflict"
                else:
                    outcome = f"unexpected {response.status_code}"
                with lock:
                    results.append((who, tag, outcome))
        except BaseException as exc:  # noqa: BLE001 - reported below, with the thread's name
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(who, n), name=f"{who}-{n}")
               for who in plans for n in range(THREADS_PER_ACCOUNT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, f"a request failed outright: {errors[0]!r}"
    assert len(results) == 2 * THREADS_PER_ACCOUNT * ROUNDS
    outcomes = Counter(outcome for _, _, outcome in results)
    assert set(outcomes) <= {"applied", "conflict"}, outcomes
    assert outcomes["conflict"] > 0, "the posts were not simultaneous: nothing collided"
    applied = [(who, tag) for who, tag, outcome in results if outcome == "applied"]
    assert applied, "nothing applied at all"

    db.session.expire_all()
    events = db.session.execute(
        select(CaseEvent.action, CaseEvent.note).where(CaseEvent.case_id == case_id,
                                                       CaseEvent.action.in_(("comment", "classify")))
    ).all()
    applied_comments = sorted(f"并发备注 {tag}" for who, tag in applied if who == "clerk")
    assert sorted(note for action, note in events if action == "comment") == applied_comments
    assert sum(action == "classify" for action, _ in events) == sum(who == "manager" for who, _ in applied)
    # Each applied update moved the version exactly once: none was applied on top of a stale read.
    final = db.session.get(Case, case_id)
    assert final.version_id - start_version == len(applied)
