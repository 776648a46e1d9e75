"""Upgrading to 0024: descriptions found at a callback and the register import's audit summaries, written as
text in their known templates, gain their message keys; anything else keeps showing its text.

SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (a database of its own).
"""
from __future__ import annotations

from datetime import datetime, timezone

import flask_migrate
import pytest
from flask_babel import force_locale
from sqlalchemy import select, text

from portal.extensions import db
from portal.messages import shown
from portal.models import AuditEntry, Case, Role
from tests import factories
from tests.test_migrations import keep_logging  # noqa: F401  (a fixture)
from tests.upgrade_helpers import upgraded_app

AT = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
DESCRIPTIONS = {  # written text -> (English, Chinese) shown after the upgrade
    "回访不满意（例行回访）。\n楼道灯坏了一个月": ("Dissatisfied at a callback (Routine).\n楼道灯坏了一个月",
                                      "回访不满意（例行回访）。\n楼道灯坏了一个月"),
    "回访不满意（事故后回访）。": ("Dissatisfied at a callback (After an urgent repair at home).",
                           "回访不满意（户内紧急维修后回访）。"),
    "Dissatisfied at a callback (Maintenance works).\nnoisy at night": (
        "Dissatisfied at a callback (Maintenance works).\nnoisy at night", "回访不满意（维修工程）。\nnoisy at night"),
}
UNTOUCHED = ["回访不满意（某种新回访）。", "回访不满意，楼道灯坏了"]  # an unknown kind; typed by somebody
SUMMARIES = {  # (object type, action, written text) -> (English, Chinese)
    ("import", "import", "房产台账导入 台账.xlsx：新建 12，更新 3，未变 40"): (
        "Register import 台账.xlsx: 12 created, 3 updated, 40 unchanged",
        "房产台账导入 台账.xlsx：新建 12，更新 3，未变 40"),
    ("unit", "update", "房产台账导入：1栋-0101"): ("Register import: 1栋-0101", "房产台账导入：1栋-0101"),
}
UNTOUCHED_SUMMARIES = [("user", "update", "张三 13800001111"), ("import", "import", "房产台账导入 半行")]


@pytest.fixture
def migrated(tmp_path, keep_logging):  # noqa: F811
    with upgraded_app(tmp_path) as app:
        yield app


def test_0024_keys_the_texts_written_in_known_templates_and_leaves_the_rest(migrated):
    ref = factories.reference()
    resident = factories.user(Role.RESIDENT, unit=ref["units"][0])
    written = list(DESCRIPTIONS) + UNTOUCHED
    ids = [factories.case(resident).id for _ in written]
    db.session.commit()
    db.session.remove()
    flask_migrate.downgrade(revision="0023")
    with db.engine.begin() as conn:
        for case_id, description in zip(ids, written):
            conn.execute(text("UPDATE \"case\" SET description = :d, channel = 'callback' WHERE id = :i"),
                         {"d": description, "i": case_id})
        for object_type, action, summary in list(SUMMARIES) + UNTOUCHED_SUMMARIES:
            conn.execute(text("INSERT INTO audit_entry (at, object_type, object_id, action, summary, before, after) "
                              "VALUES (:at, :t, '1', :a, :s, '', '')"), {"at": AT, "t": object_type, "a": action, "s": summary})
    flask_migrate.upgrade()
    cases = {c.description: c for c in db.session.scalars(select(Case).where(Case.id.in_(ids)))}
    entries = {(e.object_type, e.action, e.summary): e for e in db.session.scalars(select(AuditEntry))}
    for locale, column in (("en", 0), ("zh_Hans_CN", 1)):
        with force_locale(locale):
            for written_text, expected in DESCRIPTIONS.items():
                case = cases[written_text]
                assert case.description_msg is not None
                assert shown(case.description_msg, case.description) == expected[column]
            for key, expected in SUMMARIES.items():
                assert shown(entries[key].summary_msg, entries[key].summary) == expected[column]
    for written_text in UNTOUCHED:
        assert cases[written_text].description_msg is None
    for key in UNTOUCHED_SUMMARIES:
        assert entries[key].summary_msg is None
