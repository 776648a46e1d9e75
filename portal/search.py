"""Free-text search over cases that an index can serve, for Chinese as typed (two characters: 漏水, 电梯).

A B-tree or trigram index cannot serve `ILIKE '%漏水%'`, so the app keeps its own: `case_term` holds
every distinct two-character piece (bigram) of each case's searchable text (description, location,
contact name, subject), lower-cased. The case number is not in it (every number shares `-2`, `20`,
`02`…, so a number query would walk most postings): `number_lookup` places the query in the number's
layout (KIND-YYYYMMDD-NNNN) and reads the number's own indexes: prefix ranges for the kind and the date,
lookups of the day's counter on its index (`0042`). A query of
two or more characters can only be inside a text that contains all of its bigrams, so the index
yields a small candidate set and the ordinary substring match, run on those candidates only, makes
the answer exactly what the substring scan would give (tests/test_search.py compares them). A
one-character query falls back to the scan.

The terms are written when a case is inserted or one of its searchable columns changes (mapper
events, connected by `init_app`), and by `reindex` after bulk inserts that bypass the ORM.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache
from typing import Iterable

from sqlalchemy import any_, delete, event, func, insert, inspect, or_, select, union
from sqlalchemy.orm import Mapper, aliased

from portal import textquery
from portal.extensions import db, read_memo
from portal.models import Case
from portal.models.cases import KIND_PREFIX, NUMBER_SEQUENCE, CaseSequence, CaseTerm
from portal.timeutil import local_zone

# The case's own columns that free-text search reads; the bigram index holds the texts only: the
# number (TS-20261122-0007: every case shares its pieces) is matched by its own B-tree, see `number_ids`.
FIELDS = ("number", "description", "location", "contact_name", "subject")
TEXT_FIELDS = FIELDS[1:]
# What can occur inside a case number (portal.cases.intake.next_number): kind prefix, "-", digits.
NUMBER_CHARS = re.compile(r"[A-Za-z0-9-]+")
RAREST = 3  # bigrams of a longer query looked up in the index (see _text_ids)
# Hits (per bigram posting, or per number range) from which a query counts as "many": the list then
# walks the cases in its own order and checks each against the query (`case_text_condition`), and
# stops at the page and at the count's cap, instead of building the whole set of hits first.
MANY = 5000


def bigrams(text: str) -> set[str]:
    """The distinct two-character pieces of `text`, lower-cased."""
    low = (text or "").lower()
    return {low[i:i + 2] for i in range(len(low) - 1)}


def terms_of(values: Iterable[str]) -> set[str]:
    """The index terms of a case's searchable texts (each text on its own: no piece spans two)."""
    out: set[str] = set()
    for value in values:
        out |= bigrams(value)
    return out


def case_text_ids(q: str):
    """A SELECT of the ids of cases whose own searchable columns contain `q` (case-insensitive).

    The number and the texts are two indexed lookups joined by UNION: `number_ids` for the number,
    `_text_ids` (the bigram index) for the description, location, contact name and subject."""
    selects = case_text_selects(q)
    return selects[0] if len(selects) == 1 else union(*selects)


def case_text_selects(q: str) -> list:
    """The SELECTs of ids whose UNION is `case_text_ids` (for a caller's own UNION: SQLite nests none)."""
    q = textquery.clean(q)
    numbers = number_ids(q)
    return [_text_ids(q)] + ([] if numbers is None else [numbers])


def id_among(ids):
    """`Case.id IN (ids)` for a SELECT of few ids, as each database plans it best.

    PostgreSQL cannot estimate a UNION of index lookups and took it for thousands of rows: it hashed them
    and scanned the whole case table (100 ms for one case number at 100k cases). `= ANY(ARRAY(...))`
    runs the SELECT first and then looks the ids up by primary key; SQLite already does that for IN."""
    if db.session.get_bind().dialect.name == "postgresql":
        return Case.id == any_(func.array(ids.scalar_subquery()))
    return Case.id.in_(ids)


def many_hits(q: str) -> bool:
    """Whether the text or the number part of `q` may hit MANY cases or more (one capped probe statement).

    A one-character query is a scan either way: walking the list's order finds a page soonest."""
    q = textquery.clean(q)
    grams = bigrams(q.lower())
    if not grams:
        return True
    sizes = _posting_sizes(grams, q, MANY)
    return min(sizes[gram] for gram in grams) >= MANY or sizes.get(_NUMBERS, 0) >= MANY


def case_text_condition(q: str):
    """A WHERE condition on Case equal to `Case.id IN case_text_ids(q)`, for a list walked in its order.

    With many hits the list reads cases in its own order (newest first within the estate, an index) and
    stops at the page, and the count at its cap: each case is checked by the substring match itself and a
    range on its number. The bigram index is no help there: a hashed set of 13k postings, or probes for a
    longer query's bigrams, cost more than matching the few thousand rows walked (measured on both
    databases, docs/benchmarks.md)."""
    q = textquery.clean(q)
    numbers = number_condition(q)
    return _text_match(q) if numbers is None else or_(_text_match(q), numbers)


def number_condition(q: str):
    """Case.number contains `q` (any case), checked on each row of a list walking its order; None when no
    number can contain `q`. `number_lookup` is the same condition as the number's indexes serve it."""
    if not NUMBER_CHARS.fullmatch(q or ""):
        return None
    up = q.upper()
    if not any(ch.isalpha() for ch in up):
        return Case.number.like(f"%{up}%")
    return number_lookup(q)  # with a letter: the prefix ranges serve each row as well


def _number_prefixes(up: str) -> set[str]:
    """The prefixes a number must start with to contain `up` (which has a letter): see `number_ids`."""
    starts = set()
    for prefix in set(KIND_PREFIX.values()):
        head = prefix + "-"
        for offset in range(len(prefix)):
            start = prefix[:offset] + up
            if start.startswith(head) or head.startswith(start):
                starts.add(start)
    return starts


def number_ids(q: str):
    """A SELECT of the ids of cases whose number contains `q` (any case), or None when none can.

    Served by the number's indexes (`number_lookup`); a query of digits with too many places to look
    (one or two digits, a year) falls back to the match itself, which a list only asks for when walking."""
    lookup = number_lookup(q)
    if lookup is None:
        return None
    return select(Case.id).where(number_condition(q) if lookup is WALK else lookup)


# A number_lookup answer: the query may sit in too many places of a number for index lookups to pay
# (`0`, `20`, `2026`…): a list walks its own order and checks each case (`case_text_condition`).
WALK = "walk"
NUMBER_RANGES = 64  # index ranges and lookups one query may turn into before it counts as WALK
# A number's date is the local date of the case's received time in the zone of that day; dates are
# tried from the earliest received time to the latest, widened for a zone changed since.
DATE_MARGIN = timedelta(days=2)
COUNTER_DIGITS = 4  # next_number pads the day's counter to four digits; longer ones make digits WALK


def number_lookup(q: str):
    """A condition on Case.number equal to `number_condition(q)` that the number's indexes serve, None when
    no number can contain `q`, or WALK.

    A number is KIND-YYYYMMDD-NNNN (`portal.models.cases.NUMBER_SEQUENCE`). A query with a letter can only
    start inside the kind prefix: each (prefix, offset) that agrees with it is one prefix range on the
    number's B-tree (`BX-2026`, `x-20261122`, `TS`). A query of digits and "-" (`0042`, `1122-0042`,
    `-0042`) is placed at each position of the layout it fits: at the date's start, a prefix range per
    kind; inside the date, a prefix range per kind and per day of the cases' dates whose digits agree
    (`1122` is 22 November of each year); at the counter, lookups of the counters that contain it on the
    counter's own index (`0042` is the 42nd case of every day). Exact as long as every number has that
    layout with a four-digit counter (`case_sequence` tells when a day has gone past 9999: then WALK)."""
    if not NUMBER_CHARS.fullmatch(q or ""):
        return None
    up = q.upper()
    if any(ch.isalpha() for ch in up):
        starts = _number_prefixes(up)
        return or_(*(_number_starts(start) for start in sorted(starts))) if starts else None
    places = _digit_places(up)
    if places is WALK:
        return WALK
    starts, counters, counter_starts = places
    conditions = [_number_starts(start) for start in sorted(starts)]
    if counters:
        conditions.append(NUMBER_SEQUENCE.in_(sorted(counters)))
    conditions += [_sequence_starts(start) for start in sorted(counter_starts)]
    return or_(*conditions)


def _digit_places(q: str):
    """Where in KIND-YYYYMMDD-NNNN a query of digits and "-" can sit: (number prefixes, whole counters,
    counter prefixes), or WALK when that is more than NUMBER_RANGES places."""
    kinds = sorted(set(KIND_PREFIX.values()))
    starts, counters, counter_starts = set(), set(), set()
    if q.startswith("-"):  # at the dash after the kind: TS-2026…
        starts |= {kind + q for kind in kinds}
    starts |= {f"{kind}-{q}" for kind in kinds}  # at the date's first digit
    for offset in range(1, 8):  # inside the date, past its first `offset` digits
        inside, rest = q[:8 - offset], q[8 - offset:]
        if "-" in inside or (rest and (rest[0] != "-" or "-" in rest[1:])):
            continue  # the date is digits; after it only "-" and the counter's digits
        for day in _number_days():
            if day.startswith(inside, offset):
                starts |= {f"{kind}-{day}{rest}" for kind in kinds}
        if len(starts) > NUMBER_RANGES:
            return WALK
    if q.startswith("-") and "-" not in q[1:]:  # at the dash before the counter: -0042…
        if len(q) == 1:
            return WALK
        counter_starts.add(q[1:])
    if "-" not in q:  # inside the counter
        if _number_span()[2] >= 10 ** COUNTER_DIGITS:
            return WALK
        counters = _counters_containing(q)
        if len(counters) > NUMBER_RANGES:
            return WALK
    if len(starts) + bool(counters) + len(counter_starts) > NUMBER_RANGES:
        return WALK
    return starts, counters, counter_starts


@lru_cache(maxsize=512)
def _counters_containing(digits: str) -> frozenset[str]:
    """The four-digit counters (0000–9999) that contain `digits`."""
    return frozenset(c for c in (f"{n:0{COUNTER_DIGITS}d}" for n in range(10 ** COUNTER_DIGITS)) if digits in c)


def _number_span() -> tuple[date | None, date | None, int]:
    """(first, last local date of the cases' received times, the highest counter issued): one statement,
    once per request while nothing is written."""
    memo = read_memo("search")
    if "span" not in memo:
        first, last, counter = db.session.execute(select(
            select(func.min(Case.received_at)).scalar_subquery(),
            select(func.max(Case.received_at)).scalar_subquery(),
            select(func.max(CaseSequence.value)).scalar_subquery())).one()
        zone = local_zone()
        memo["span"] = (first and first.astimezone(zone).date(), last and last.astimezone(zone).date(),
                        counter or 0)
    return memo["span"]


def _number_days() -> tuple[str, ...]:
    """Every day (YYYYMMDD) a number's date can be: the cases' received dates, widened by DATE_MARGIN."""
    first, last, _counter = _number_span()
    return () if first is None else _days(first - DATE_MARGIN, last + DATE_MARGIN)


@lru_cache(maxsize=8)
def _days(first: date, last: date) -> tuple[str, ...]:
    return tuple(f"{first + timedelta(days=i):%Y%m%d}" for i in range((last - first).days + 1))


def _sequence_starts(start: str):
    """The number's counter starts with `start` (digits), from the counter's index (see _number_starts)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return NUMBER_SEQUENCE.like(start + "%")
    return (NUMBER_SEQUENCE >= start) & (NUMBER_SEQUENCE < start + "\U0010ffff")


def _number_starts(start: str):
    """Case.number starts with `start` (letters, digits, "-": no LIKE wildcard), as its index serves it.

    PostgreSQL reads a LIKE prefix from the varchar_pattern_ops index (migration 0023); SQLite's LIKE
    ignores case and so its index, but a range on the BINARY-collated unique index is served."""
    if db.session.get_bind().dialect.name == "postgresql":
        return Case.number.like(start + "%")
    return (Case.number >= start) & (Case.number < start + "\U0010ffff")


def _text_match(q: str):
    pattern = textquery.contains(q)
    return or_(*(getattr(Case, name).ilike(pattern, escape=textquery.ESCAPE) for name in TEXT_FIELDS))


def _rarest_hits(grams: set[str], q: str):
    """Ids of the cases that have the (up to) three rarest of `grams`: the rarest's postings, the others
    probed by index (only three: enough to narrow, few enough to plan fast)."""
    sizes = _posting_sizes(grams, q)
    # Each more bigram is one more semi-join for PostgreSQL's planner to order, which cost 70 ms of
    # planning for a 16-character query.
    driver, *others = sorted(grams, key=lambda gram: (sizes[gram], gram))[:RAREST]
    other = aliased(CaseTerm)
    return select(CaseTerm.case_id).where(CaseTerm.term == driver, *(
        select(other.case_id).where(other.term == gram, other.case_id == CaseTerm.case_id).exists() for gram in others))


def _text_ids(q: str):
    """Ids of cases whose texts (not the number) contain `q`, through the bigram index.

    Two characters are one bigram: its postings are the answer. Longer queries start from the
    rarest of their bigrams (one probe statement counts each posting list, capped), keep the cases
    that have every other bigram too (index lookups, not whole posting lists) and run the
    substring match on those only. One character falls back to the scan."""
    low = q.lower()
    grams = bigrams(low)
    if not grams:
        return select(Case.id).where(_text_match(q))
    if len(low) == 2:
        return select(CaseTerm.case_id).where(CaseTerm.term == low)
    hits = _rarest_hits(grams, q).cte(f"hits_{abs(hash(low)) % 10**8}").prefix_with("MATERIALIZED")
    return select(Case.id).join(hits, Case.id == hits.c.case_id).where(_text_match(q))  # the index first


_NUMBERS = "\x00number"  # the probe's key for the number part


def _posting_sizes(grams: set[str], q: str = "", cap: int = MANY) -> dict[str, int]:
    """How many cases have each bigram, and how many numbers can contain `q` (key _NUMBERS), each counted
    up to `cap` (enough to pick the rarest and to tell "many"): one statement, once per request while
    nothing is written."""
    ordered = sorted(grams)
    memo = read_memo("search")  # a list builds its query twice
    key = ("postings", tuple(ordered), q)
    if key in memo:
        return memo[key]
    counts = [select(func.count()).select_from(
        select(CaseTerm.case_id).where(CaseTerm.term == gram).limit(cap).subquery()).scalar_subquery()
        for gram in ordered]
    numbers = number_lookup(q) if q else None
    if numbers is not None and numbers is not WALK:
        counts.append(select(func.count()).select_from(
            select(Case.id).where(numbers).limit(cap).subquery()).scalar_subquery())
    row = db.session.execute(select(*counts)).one()
    memo[key] = dict(zip(ordered + ([_NUMBERS] if numbers is not None and numbers is not WALK else []), row))
    if numbers is WALK:
        memo[key][_NUMBERS] = cap
    return memo[key]


def _write_terms(connection, case_id: int, values: Iterable[str], replace: bool) -> None:
    if replace:
        connection.execute(delete(CaseTerm).where(CaseTerm.case_id == case_id))
    rows = [{"case_id": case_id, "term": t} for t in terms_of(values)]
    if rows:
        connection.execute(insert(CaseTerm), rows)


def _after_insert(_mapper: Mapper, connection, target: Case) -> None:
    _write_terms(connection, target.id, (getattr(target, name) or "" for name in TEXT_FIELDS), replace=False)


def _after_update(_mapper: Mapper, connection, target: Case) -> None:
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in TEXT_FIELDS):
        _write_terms(connection, target.id, (getattr(target, name) or "" for name in TEXT_FIELDS), replace=True)


def init_app(_app) -> None:
    """Keep the index as cases are written through the ORM (once per process, however many apps)."""
    for name, fn in (("after_insert", _after_insert), ("after_update", _after_update)):
        if not event.contains(Case, name, fn):
            event.listen(Case, name, fn)


def reindex(batch: int = 2000, only_missing: bool = False) -> int:
    """Rebuild the terms of every case (or of cases that have none); returns the cases indexed.

    For bulk inserts that bypass the ORM (benchmarks, imports, the migration). Commits per batch."""
    done, last = 0, 0
    columns = [Case.id, *(getattr(Case, name) for name in TEXT_FIELDS)]
    while True:
        stmt = select(*columns).where(Case.id > last).order_by(Case.id).limit(batch)
        if only_missing:
            stmt = stmt.where(~select(CaseTerm.case_id).where(CaseTerm.case_id == Case.id).exists())
        rows = db.session.execute(stmt).all()
        if not rows:
            return done
        ids = [r[0] for r in rows]
        db.session.execute(delete(CaseTerm).where(CaseTerm.case_id.in_(ids)))
        terms = [{"case_id": r[0], "term": t} for r in rows for t in terms_of(v or "" for v in r[1:])]
        if terms:
            db.session.execute(insert(CaseTerm), terms)
        db.session.commit()
        done += len(rows)
        last = ids[-1]
