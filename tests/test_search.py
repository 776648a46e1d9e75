"""Free-text search through the bigram index answers exactly what the substring scan answers."""
from __future__ import annotations

import random
import re

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select, text, update

from portal import search, textquery
from portal.board.query import filtered
from portal.extensions import db
from portal.models import Case, Kind
from portal.models.cases import CaseTerm
from tests import factories

# A small alphabet, so that generated queries hit often; with the LIKE wildcards and ASCII of both cases
# and the pieces of case numbers (TS-20261130-0001), some of which also go into the texts.
ALPHABET = "漏水电梯门禁噪音楼道aAbB1-%_ "
NUMBER_ALPHABET = "TSBXZJYtsbx0123-"


def _reference(q: str) -> set[int]:
    """The substring scan, in Python: cases whose own searchable columns contain q (any case)."""
    low = q.lower()
    return {c.id for c in db.session.scalars(select(Case))
            if any(low in (getattr(c, name) or "").lower() for name in search.FIELDS)}


def _indexed(q: str) -> set[int]:
    return set(db.session.scalars(search.case_text_ids(q)))


def _walked(q: str) -> set[int]:
    """The per-row condition a list walks its order with when a query has many hits."""
    return set(db.session.scalars(select(Case.id).where(search.case_text_condition(q))))


def _corpus(people, n: int = 40, seed: int = 7) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(3, 14)))
        if i % 5 == 0:  # a text that quotes a case number: the number and the text routes both find it
            text += rng.choice(["见BX-2026", "ts-20261130-0", "JY-1", "x-20"])
        cases.append(factories.case(people["resident"], description=text, kind=rng.choice(list(Kind)),
                                    location="".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 4)))))
    db.session.commit()
    return cases


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())


def test_the_index_answers_what_the_substring_scan_answers(app, people, data):
    if not db.session.scalar(select(func.count(Case.id))):
        _corpus(people)
    cases = db.session.scalars(select(Case)).all()
    texts = [c.description for c in cases]
    numbers = [c.number for c in cases]
    # A piece of a stored text or number (a hit; a number's prefix as a clerk types it, in either case),
    # or anything typed from the alphabets (mostly misses).
    source = data.draw(st.sampled_from(texts + numbers))
    start = data.draw(st.integers(0, max(0, len(source) - 1)))
    number = data.draw(st.sampled_from(numbers))
    q = data.draw(st.one_of(
        st.just(source[start:start + data.draw(st.integers(1, 8))]),
        st.just(number[:data.draw(st.integers(1, len(number)))]),
        st.just(number[:data.draw(st.integers(1, len(number)))].lower()),
        st.text(alphabet=ALPHABET, min_size=1, max_size=5),
        st.text(alphabet=NUMBER_ALPHABET, min_size=1, max_size=8),
    ))
    q = textquery.clean(q)  # as the board searches it
    if not q:
        return
    assert _indexed(q) == _reference(q), q
    assert _walked(q) == _reference(q), q


def test_a_number_prefix_finds_the_number_and_texts_that_quote_it(app, people):
    repair = factories.case(people["resident"], kind=Kind.REPAIR, description="水管漏水")
    complaint = factories.case(people["resident"], kind=Kind.COMPLAINT, description="噪音")
    quoting = factories.case(people["resident"], kind=Kind.COMPLAINT, description=f"同{repair.number}一样")
    db.session.commit()
    assert repair.number.startswith("BX-")
    assert _indexed(repair.number) == {repair.id, quoting.id}
    assert _indexed("bx-") == {repair.id, quoting.id}
    assert _indexed(repair.number[1:8].lower()) == {repair.id, quoting.id}  # "x-2026…": inside the prefix
    assert _indexed(complaint.number[:3]) == {complaint.id, quoting.id}
    assert _indexed(complaint.number[-4:]) >= {complaint.id}  # digits alone: anywhere in the number
    assert _indexed("QQ-2026") == set()
    # The number's pieces are not in the bigram index (a number query would walk every case's).
    assert not db.session.scalar(select(func.count()).select_from(CaseTerm).where(
        CaseTerm.case_id == repair.id, CaseTerm.term == "bx"))


def test_wildcards_are_taken_literally(app, people):
    a = factories.case(people["resident"], description="折扣100%退还")
    b = factories.case(people["resident"], description="电梯 a_b 停了")
    factories.case(people["resident"], description="没有通配符的文字")
    db.session.commit()
    assert _indexed("%") == {a.id}
    assert _indexed("_") == {b.id}
    assert _indexed("0%") == {a.id}
    assert _indexed("a_b") == {b.id}
    assert _indexed("a%b") == set()


def test_terms_follow_a_changed_description(app, people):
    c = factories.case(people["resident"], description="厨房漏水")
    db.session.commit()
    assert _indexed("漏水") == {c.id}
    c.description = "电梯停运"
    db.session.commit()
    assert _indexed("漏水") == set()
    assert _indexed("电梯") == {c.id}


def test_reindex_fills_cases_inserted_without_the_orm(app, people):
    c = factories.case(people["resident"], description="门禁损坏")
    db.session.commit()
    db.session.execute(CaseTerm.__table__.delete())
    db.session.execute(update(Case).where(Case.id == c.id).values(subject="垃圾清运"))
    db.session.commit()
    assert _indexed("门禁") == set()
    assert search.reindex(batch=1) >= 1
    assert _indexed("门禁") == {c.id}
    assert _indexed("清运") == {c.id}


def test_the_board_finds_by_text_by_resident_and_by_unit(app, people):
    def found(q):
        return set(db.session.scalars(filtered(Case.id > 0, {"q": q}).with_only_columns(Case.id)))

    mine = factories.case(people["resident"], description="阳台漏水严重")  # 张三, the first unit
    theirs = factories.case(people["other_resident"], description="夜间噪音")  # 李四, the second unit
    db.session.commit()
    assert found("漏水") == {mine.id}
    assert found("张三") == {mine.id}
    assert found("李四") == {theirs.id}
    unit = people["ref"]["units"][1]
    assert theirs.id in found(f"{unit.building.name}-{unit.number}")
    assert found("没有这样的文字") == set()


def test_the_board_search_with_percent_matches_only_a_literal_percent(client, people, as_):
    factories.case(people["resident"], description="普通的描述")
    pct = factories.case(people["resident"], description="收费多了20%")
    db.session.commit()
    html = as_("clerk").get("/board?q=%25").get_data(as_text=True)
    assert pct.number in html
    assert "普通的描述" not in html


def test_a_search_with_many_hits_walks_the_list_and_finds_what_the_index_finds(app, as_, people, monkeypatch):
    """Past MANY hits the board checks each case as it walks its order: the same cases, in the same order."""
    from tests.board_helpers import row_ids
    app.config.update(BOARD_PAGE_SIZE=50)
    leak = [factories.case(people["resident"], description=f"厨房漏水 {i}") for i in range(4)]
    quoting = factories.case(people["resident"], description=f"同 {leak[0].number}")
    factories.case(people["resident"], description="电梯停运")
    db.session.commit()
    manager = as_("manager")
    prefix = leak[0].number[:6].lower()  # "ts-202": every number, and the text that quotes one
    queries = ("漏水", "厨房漏水", leak[0].number, prefix, "水")
    few = {q: row_ids(manager.get("/board", query_string={"q": q})) for q in queries}
    monkeypatch.setattr(search, "MANY", 2)
    with app.test_request_context():
        assert search.many_hits("漏水") and search.many_hits(prefix) and not search.many_hits(leak[0].number)
    walked = {q: row_ids(manager.get("/board", query_string={"q": q})) for q in queries}
    assert walked == few
    assert set(walked["漏水"]) == {c.id for c in leak}
    assert set(walked[leak[0].number]) == {leak[0].id, quoting.id}
    assert len(walked[prefix]) == 6


def test_a_searched_list_counts_up_to_its_own_limit(app, as_, people):
    app.config.update(SEARCH_COUNT_LIMIT=2, LIST_COUNT_LIMIT=100, BOARD_PAGE_SIZE=2)
    for i in range(4):
        factories.case(people["resident"], description=f"门禁损坏 {i}")
    db.session.commit()
    manager = as_("manager")
    searched = manager.get("/board?q=门禁").get_data(as_text=True)
    assert "超过 2 件" in searched and 'rel="next"' not in searched
    plain = manager.get("/board").get_data(as_text=True)
    assert "共 4 件" in plain


# --- digits typed alone: the number's date and counter, from its indexes ------------------------------

# Received times (local, Asia/Shanghai) whose numbers spread over years, months and days, with counters
# past a hundred: 22 November of three years, a day whose digits repeat (20260303), the turn of a year.
NUMBER_DAYS = [(2024, 11, 22, 0), (2025, 11, 22, 41), (2025, 12, 31, 302), (2026, 1, 1, 9), (2026, 3, 3, 1121),
               (2026, 11, 22, 998)]


def _numbered_corpus(people) -> list[Case]:
    """Cases numbered on NUMBER_DAYS, two or three a day, each day's counter starting past the given value."""
    from datetime import datetime

    from portal.models.cases import KIND_PREFIX, CaseSequence
    from portal.timeutil import local_zone

    cases = []
    for i, (year, month, day, counter) in enumerate(NUMBER_DAYS):
        received = datetime(year, month, day, 9, 30, tzinfo=local_zone())
        for kind in list(Kind)[:2 + i % 2]:
            db.session.merge(CaseSequence(prefix=KIND_PREFIX[kind], day=received.date(), value=counter))
            cases.append(factories.case(people["resident"], kind=kind, received_at=received,
                                        description=f"第{i}天" + ("，见 -0042 号" if i == 2 else "")))
    db.session.commit()
    return cases


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_digits_find_exactly_the_numbers_that_contain_them(app, people, data):
    """Any piece of a number (or digits and dashes typed at random): the indexes answer what the scan does."""
    if not db.session.scalar(select(func.count(Case.id))):
        _numbered_corpus(people)
    numbers = list(db.session.scalars(select(Case.number)))
    number = data.draw(st.sampled_from(numbers))
    start = data.draw(st.integers(2, len(number) - 1))
    q = data.draw(st.one_of(
        st.just(number[start:start + data.draw(st.integers(1, 12))]),
        st.text(alphabet="0123456789-", min_size=1, max_size=10),
        st.text(alphabet="01234-", min_size=2, max_size=6),
    ))
    q = textquery.clean(q)
    if not q:
        return
    with app.test_request_context():
        assert _indexed(q) == _reference(q), q
        assert _walked(q) == _reference(q), q


def test_digits_use_the_numbers_indexes_not_a_scan(app, people):
    """On SQLite (deterministic plans): a counter, a day and a counter with its dash are index lookups."""
    if db.engine.dialect.name != "sqlite":
        return  # PostgreSQL's plans for a test's few rows follow cost, not the index's use
    cases = _numbered_corpus(people)
    with app.test_request_context():
        for q, index in (("0042", "ix_case_number_sequence"), ("-0042", "ix_case_number_sequence"),
                         ("1122", "number"), ("1122-0999", "number")):
            lookup = search.number_lookup(q)
            assert lookup is not None and lookup is not search.WALK, q
            stmt = select(Case.id).where(lookup)
            sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert "SCAN case" not in plan.replace('"', "") and index in plan, (q, plan)
        assert {c.number for c in cases if "1122" in c.number} == set(db.session.scalars(
            select(Case.number).where(search.number_lookup("1122"))))


def test_short_digits_and_long_counters_walk(app, people):
    from datetime import date

    from portal.models.cases import CaseSequence

    factories.case(people["resident"])
    db.session.commit()
    with app.test_request_context():
        assert search.number_lookup("7") is search.WALK  # one digit: in thousands of counters and every day
        assert search.number_lookup("0042") is not search.WALK
        assert search.many_hits("2") and not search.many_hits("0042")
    db.session.add(CaseSequence(prefix="TS", day=date(2026, 1, 5), value=10000))  # a five-digit counter exists
    db.session.commit()
    with app.test_request_context():
        assert search.number_lookup("0042") is search.WALK  # four-digit counters no longer say it all
        assert search.number_lookup("1122-") is not search.WALK  # a day and its dash: the number's own index


def test_a_search_reads_the_residents_and_units_it_names_once(app, as_, people):
    """The count and the page share one lookup of the residents and units the query names (each was a scan
    of every account and unit, in both statements)."""
    from sqlalchemy import event

    unit = people["ref"]["units"][0]
    theirs = factories.case(people["resident"], description="门口积水")
    db.session.commit()
    manager = as_("manager")
    seen = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        for q in (people["resident"].display_name, unit.number):
            seen.clear()
            page = manager.get("/board", query_string={"q": q, "status": ""}).get_data(as_text=True)
            assert f'id="row-{theirs.id}"' in page, q
            # the name or phone, the unit's number matched against the query (ILIKE; SQLite: lower() LIKE)
            people_scans = [s for s in seen if re.search(r'display_name"?\)? I?LIKE', s, re.I)]
            unit_scans = [s for s in seen if re.search(r'unit"?\.number"?\)? I?LIKE', s, re.I)]
            assert len(people_scans) == 1 and len(unit_scans) == 1, (q, len(people_scans), len(unit_scans))
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
