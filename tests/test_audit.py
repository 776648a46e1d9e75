"""The audit log records what changed, and only that; it is never edited or deleted."""
import json

import pytest

from portal import audit
from portal.extensions import db
from portal.models import AuditEntry, Estate
from portal.models.guards import ImmutableRecordError


def test_update_records_only_the_changed_fields(app, people):
    estate = db.session.scalar(db.select(Estate))
    before = audit.snapshot(estate, ("name", "active"))
    estate.name = "新名字"
    entry = audit.record(people["manager"], "estate", estate.id, "update", before=before,
                         after=audit.snapshot(estate, ("name", "active")), estate_id=estate.id)
    db.session.commit()
    assert json.loads(entry.before) == {"name": "测试花园"}
    assert json.loads(entry.after) == {"name": "新名字"}
    assert entry.actor_id == people["manager"].id


def test_an_update_that_changes_nothing_records_nothing(app, people):
    estate = db.session.scalar(db.select(Estate))
    same = audit.snapshot(estate, ("name",))
    assert audit.record(people["manager"], "estate", estate.id, "update", before=same, after=same) is None


def test_entries_are_append_only(app, people):
    entry = audit.record(people["manager"], "estate", 1, "create", after={"name": "x"})
    db.session.commit()
    entry.summary = "changed"
    with pytest.raises(ImmutableRecordError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(ImmutableRecordError):
        db.session.commit()
    db.session.rollback()
