"""Every attempt at one notification carries the same id; a failed file write leaves nothing behind."""
from __future__ import annotations

import os
from email import message_from_string
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification
from portal.notify import backends
from portal.notify.outbox import notify


def _email(app, people) -> Notification:
    people["manager"].email = "boss@example.com"
    ids = notify([people["manager"]], "escalation", "[TS1] 首次回复超时", "请处理", "test:ids")
    db.session.commit()
    return db.session.scalars(select(Notification).where(Notification.id.in_(ids),
                                                         Notification.channel == "email")).one()


def test_the_message_id_is_the_same_on_every_attempt(app, people):
    n = _email(app, people)
    path = os.path.join(app.config["OUTBOX_DIR"], f"email-{n.id}.eml")
    with app.test_request_context():
        first = message_from_string(Path(path).read_text(encoding="utf-8"))["Message-ID"]
        backends.send_email(n)  # a second attempt, as after a crash between send and commit
        second = message_from_string(Path(path).read_text(encoding="utf-8"))["Message-ID"]
    assert first == second == backends.message_id(n)
    assert str(n.id) in first


def test_different_notifications_have_different_ids(app, people):
    n = _email(app, people)
    other = notify([people["manager"]], "escalation", "另一条", "", "test:ids2")
    db.session.commit()
    m = db.session.scalars(select(Notification).where(Notification.id.in_(other),
                                                      Notification.channel == "email")).one()
    assert backends.message_id(n) != backends.message_id(m)


def test_a_failed_outbox_write_leaves_no_temporary_file(app, people, tmp_path, monkeypatch):
    n = _email(app, people)
    folder = tmp_path / "full"

    def full_disk(self, *args, **kwargs):
        self.touch()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pathlib.Path.write_text", full_disk)
    with pytest.raises(backends.DeliveryError):
        backends._write_once(str(folder), f"email-{n.id}.eml", "x")
    assert list(folder.iterdir()) == []
