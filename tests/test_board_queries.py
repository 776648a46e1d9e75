"""The board and the case page run a fixed number of SQL statements, however many cases."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from portal import stamp
from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import Building, Category, Department, Kind, Role, Unit
from portal.timeutil import utcnow
from tests import factories
from tests.board_helpers import row_ids


# --- a fixed number of SQL statements ---------------------------------------------------------

def count_statements(client, url) -> int:
    statements = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        r = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    assert r.status_code == 200
    return len(statements)


def varied_cases(people, n: int, start: int) -> None:
    """Cases spread over many residents, units, buildings, categories and departments."""
    ref = people["ref"]
    deps = [ref["eng"], ref["sec"]] + [Department(code=f"d{start}-{i}", name=f"部门{start}-{i}") for i in range(4)]
    cats = [ref["water"], ref["parking"]] + [Category(code=f"c{start}-{i}", name=f"类别{start}-{i}",
                                                      default_department=deps[i]) for i in range(4)]
    buildings = [Building(estate_id=ref["units"][0].building.estate_id, name=f"{start}-{i}栋") for i in range(3)]
    db.session.add_all(deps + cats + buildings)
    db.session.flush()
    for i in range(n):
        unit = Unit(building=buildings[i % 3], number=f"{i:04d}")
        db.session.add(unit)
        db.session.flush()
        resident = factories.user(Role.RESIDENT, unit=unit)
        c = factories.case(resident, kind=list(Kind)[i % 4], received_at=utcnow() - timedelta(minutes=i))
        perform(c, people["clerk"], "classify", {"category_id": cats[i % len(cats)].id,
                                                 "severity": ["minor", "important", "major"][i % 3]})
        if i % 3:
            perform(c, people["clerk"], "dispatch", {"department_id": deps[i % len(deps)].id})
        if i % 3 == 2:
            c.promised_at = utcnow() + timedelta(hours=i)
    db.session.commit()


def test_board_issues_a_fixed_number_of_statements_however_many_cases(app, as_, people, monkeypatch):
    now = utcnow()
    monkeypatch.setattr("portal.stamp.utcnow", lambda: now)  # cache keys hold the minute: keep one
    client = as_("manager")
    varied_cases(people, 5, start=0)  # new categories and departments too: everything is built again
    small = count_statements(client, "/board")
    varied_cases(people, 55, start=1)
    large = count_statements(client, "/board")
    assert small == large <= 10
    assert len(row_ids(client.get("/board"))) == 25
    with app.app_context():
        stamp.cache().clear()  # what a case change does: the category, department and site lists stay kept
    cold = count_statements(client, "/board")
    assert cold == large - 3
    cached = count_statements(client, "/board")  # nothing changed since: served from the list cache
    assert cached < cold


def test_case_page_loads_in_a_fixed_number_of_statements(app, as_, people):
    app.config["LIST_CACHE_SIZE"] = app.config["REFERENCE_CACHE_SIZE"] = 0  # choice lists read every time
    case = factories.case(people["resident"])
    db.session.commit()
    client = as_("manager")
    few = count_statements(client, f"/cases/{case.id}")
    for i in range(6):  # more events, by several people
        perform(case, people["clerk" if i % 2 else "manager"], "comment", {"note": f"备注 {i}"})
    db.session.commit()
    # user, case with its relations, events with their actors, attachments, deadlines; then the
    # page's lookups (choice lists, phrases, settings, calendar): none per event or relation.
    assert count_statements(client, f"/cases/{case.id}") == few <= 12


def test_an_estate_clerks_count_reads_the_estate_status_index(app, as_, people):
    """The capped count of an estate's open cases comes from (estate_id, status) alone (ix_case_estate_status)."""
    app.config["LIST_CACHE_SIZE"] = 0  # every request counts
    varied_cases(people, 6, start=0)
    statements = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT COUNT("):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        assert as_("clerk").get("/board").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    (statement, parameters), = statements
    assert "estate_id" in statement and "status" in statement  # an estate clerk's board: open cases of the estate
    if db.engine.dialect.name != "sqlite":
        # PostgreSQL plans a test's few rows by cost and may take any index (or none): check the index is
        # there on exactly those columns; the plan at 100k is in docs/benchmarks.md (2.4 ms, index only).
        with db.engine.connect() as conn:
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_case_estate_status'").scalar()
        assert definition and definition.endswith("(estate_id, status)"), definition
        return
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        plan = " ".join(str(row) for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters))
    assert "ix_case_estate_status" in plan, plan
