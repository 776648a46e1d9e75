"""A company's scale on PostgreSQL: 50 estates, two years, a million cases (issue 18).

    .venv/bin/python bench/scale.py --cases 1000000 [--estates 50] [--runs 20] [--database-url URL | --postgres]
    .venv/bin/python bench/scale.py --reuse --only scan,report --database-url URL   # measure a filled one again

The reference data is made through the app's own code (the demo's first estate, then estates,
buildings, units, departments, category overrides and accounts as ORM rows or core inserts): one
resident per unit, a clerk and four department staff per estate, a company-level clerk and manager.
The cases, their clocks (`deadline`), a registration event each, the callbacks of closed complaints
and repairs, and the derived tables the app keeps are then generated inside PostgreSQL with
`INSERT … SELECT generate_series(…)`:

- cases spread evenly over two years (ids in time order, numbers as the app makes them,
  `TS-20261130-0007`, and `case_sequence` set to match), texts from the demo's Chinese texts;
  older than 30 days: closed, invalid or cannot-handle; the last 30 days: every state;
- `case_term` (the search index) from `portal.search.terms_of` on each distinct text, so the
  terms are exactly what the app would write; `month_figure` stays empty (it fills itself
  on first view); `data_stamp` is moved once;
- plain indexes are dropped before the inserts and built after, foreign-key triggers are off
  during them (the generated ids come from the tables themselves), then VACUUM ANALYZE.

Then, with the list render cache off (LIST_CACHE_SIZE=0: every request counts, selects, renders),
it prints `n=… view=… p50_ms=… p95_ms=… statements=…` per list (company clerk's board and its
filters and searches, one estate's clerk, a resident's list, a department queue), the deadline
scan with ~1,000 deadlines due (median of 3 slices), last month's report job and dashboard,
and last month's XLSX export run in a fresh child process (peak resident memory from
/proc/self/status VmHWM, and the baseline before the export). PostgreSQL only.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import current_app  # noqa: E402
from sqlalchemy import event, func, insert, select, text, update  # noqa: E402

from bench._pg import add_database_arguments, database_url  # noqa: E402
from portal import create_app, search  # noqa: E402
from portal.config import TestConfig  # noqa: E402
from portal.demo import CATEGORIES, FIT, PASSWORD, TEXTS, seed_reference  # noqa: E402
from portal.demo_company import DEPARTMENTS as ESTATE_DEPARTMENTS, OVERRIDES  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    Alert, Building, Case, Category, CategoryOverride, Deadline, Department, Estate, ReportRun, Role, Unit, User,
)
from portal.models.cases import KIND_PREFIX, CaseTerm  # noqa: E402
from portal.reports.periods import Scope, current_month, shift  # noqa: E402
from portal.timeutil import utcnow  # noqa: E402

BUILDINGS, FLOORS, DOORS = 8, 25, 2  # 400 units an estate
PREFIXES = ["", "今天", "昨晚开始", "最近一周", "又一次反映："]
DAYS = 730
RECENT_DAYS = 30
# Final states of a case from the last 30 days, with their shares (older cases are finished).
RECENT_MIX = [("registered", .05), ("acknowledged", .05), ("dispatched", .10), ("in_progress", .12),
              ("third_party", .03), ("waiting_resident", .03), ("resolved", .12), ("callback_done", .10),
              ("closed", .34), ("invalid", .04), ("cannot_handle", .02)]
OLD_MIX = [("closed", .90), ("invalid", .06), ("cannot_handle", .04)]
RUNNING = ("registered", "acknowledged", "dispatched", "in_progress")  # the resolution clock runs
PAUSED = ("third_party", "waiting_resident")
FINISHED = ("resolved", "callback_done", "closed")
BIG_TABLES = ("case", "deadline", "case_term", "case_event", "callback_task", "callback_record")


def log(message: str) -> None:
    print(message, flush=True)


# --- reference data, through the app's models ----------------------------------------------------

def seed_company(estates: int) -> dict:
    """The demo's first estate, then `estates - 1` more with buildings, units, departments and accounts."""
    ref = seed_reference()
    hashed = ref["hash"]
    clerk1 = db.session.scalar(select(User).filter_by(username="clerk1"))
    clerk1.company_wide = True  # the company's desk: every estate
    db.session.scalar(select(User).filter_by(username="manager1")).company_wide = True
    home = ref["estate"]
    categories = {c.code: c for c in db.session.scalars(select(Category))}
    for k in range(2, estates + 1):
        estate = Estate(name=f"第{k:02d}项目·{'锦绣华庭悦澜湾'[k % 7]}苑", position=k)
        db.session.add(estate)
        db.session.flush()
        deps = {}
        for code, name in ESTATE_DEPARTMENTS:
            deps[code] = Department(code=f"e{k:02d}_{code}", name=name, estate_id=estate.id)
            db.session.add(deps[code])
        db.session.flush()
        for code, dep_code in OVERRIDES.items():
            db.session.add(CategoryOverride(estate_id=estate.id, category_id=categories[code].id,
                                            default_department_id=deps[dep_code].id))
        buildings = [Building(estate_id=estate.id, name=f"{b}栋") for b in range(1, BUILDINGS + 1)]
        db.session.add_all(buildings)
        db.session.flush()
        db.session.execute(insert(Unit), [{"building_id": b.id, "number": f"{floor:02d}0{door}", "active": True}
                                          for b in buildings for floor in range(1, FLOORS + 1)
                                          for door in range(1, DOORS + 1)])
        clerk = User(username=f"clerk_e{k:02d}", display_name=f"客服{k:02d}", role=Role.CLERK,
                     password_hash=hashed)
        clerk.estates = [estate]
        db.session.add(clerk)
        for i, (code, _name) in enumerate(ESTATE_DEPARTMENTS):
            staff = User(username=f"staff_e{k:02d}_{i}", display_name=f"员工{k:02d}{i}", role=Role.DEPARTMENT,
                         department_id=deps[code].id, department_head=True, password_hash=hashed)
            staff.estates = [estate]
            db.session.add(staff)
    db.session.flush()
    # One resident per unit of the new estates (the first estate has the demo's).
    units = db.session.execute(select(Unit.id).join(Building).where(Building.estate_id != home.id)
                               .order_by(Unit.id)).scalars().all()
    rows = [{"username": f"res{uid:06d}", "display_name": "业主" + "王李张刘陈杨黄赵吴周"[uid % 10] + str(uid % 97),
             "role": Role.RESIDENT, "phone": f"139{uid:08d}", "unit_id": uid, "password_hash": hashed}
            for uid in units]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(User), rows[start:start + 5000])
    # 翠湖花园 gets a clerk of its own too (clerk1 is company-level here).
    home_clerk = User(username="clerk_e01", display_name="客服01", role=Role.CLERK, password_hash=hashed)
    home_clerk.estates = [home]
    db.session.add(home_clerk)
    db.session.commit()
    return ref


def texts() -> list[dict]:
    """The case texts: each demo category's text, with a few openings, in the places and kinds it fits."""
    out = []
    for code, _name, _dep in CATEGORIES:
        kinds, location_type, places = FIT[code]
        for prefix in PREFIXES:
            for place in places:
                for kind in sorted({k.value for k in kinds}):
                    out.append({"code": code, "kind": kind, "location_type": location_type.value,
                                "description": prefix + TEXTS[code][0], "location": place})
    return out


# --- the bulk fill, in PostgreSQL -------------------------------------------------------------

def _drop_plain_indexes(conn) -> list[str]:
    """Drop the indexes of the big tables that back no constraint; returns their definitions."""
    rows = conn.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(:t) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"),
        {"t": list(BIG_TABLES)}).all()
    for name, _definition in rows:
        conn.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _name, definition in rows]


def _literal(column) -> str | None:
    """A column's Python-side default as SQL (None: it has none)."""
    default = column.default
    if default is None:
        return None
    if not default.is_scalar:
        return "now()" if getattr(default.arg, "__name__", "").endswith("utcnow") else None
    value = default.arg
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return "''" if value == "" else None


def _python_defaults(conn, on: bool) -> None:
    """Give the big tables' columns their Python-side defaults as server defaults during the fill (or drop them)."""
    for name in BIG_TABLES:
        for column in db.metadata.tables[name].columns:
            literal = _literal(column)
            if literal is None or column.server_default is not None:
                continue
            action = f"SET DEFAULT {literal}" if on else "DROP DEFAULT"
            conn.execute(text(f'ALTER TABLE "{name}" ALTER COLUMN "{column.name}" {action}'))


def _case_insert_sql() -> str:
    """INSERT INTO "case" … SELECT over scale_pick: every column the app's inserts would set."""
    def buckets(mix, r):
        parts, edge = [], 0.0
        for name, share in mix[:-1]:
            edge += share
            parts.append(f"WHEN {r} < {edge:.4f} THEN '{name}'")
        return f"CASE {' '.join(parts)} ELSE '{mix[-1][0]}' END"
    status = (f"CASE WHEN p.received_at < :recent THEN {buckets(OLD_MIX, 'p.r_status')} "
              f"ELSE {buckets(RECENT_MIX, 'p.r_status')} END")
    prefix = "CASE t.kind " + " ".join(f"WHEN '{k.value}' THEN '{v}'" for k, v in KIND_PREFIX.items()) + " END"
    running = "(" + ", ".join(f"'{s}'" for s in RUNNING) + ")"
    paused = "(" + ", ".join(f"'{s}'" for s in PAUSED) + ")"
    finished = "(" + ", ".join(f"'{s}'" for s in FINISHED) + ")"
    values = {
        "id": "c.id",
        "number": ("c.prefix || '-' || to_char(c.day, 'YYYYMMDD') || '-' || "
                   "CASE WHEN c.seq < 10000 THEN lpad(c.seq::text, 4, '0') ELSE c.seq::text END"),
        "kind": "c.kind",
        "channel": ("CASE WHEN c.r_misc < .40 THEN 'phone' WHEN c.r_misc < .65 THEN 'wechat' "
                    "WHEN c.r_misc < .85 THEN 'online' ELSE 'walk_in' END"),
        "status": "c.status",
        "severity": ("CASE WHEN c.status IN ('registered') THEN NULL WHEN c.kind <> 'complaint' THEN 'minor' "
                     "WHEN c.r_time < .08 THEN 'major' WHEN c.r_time < .35 THEN 'important' ELSE 'minor' END"),
        "urgent": "c.r_misc > .995",
        "category_id": "c.category_id",
        "resident_id": "c.resident_id",
        "unit_id": "CASE WHEN c.location_type = 'unit' THEN c.unit_id END",
        "estate_id": "c.estate_id",
        "location_type": "c.location_type",
        "location": "c.location",
        "description": "c.description",
        "department_id": "CASE WHEN c.status IN ('registered', 'acknowledged') THEN NULL ELSE c.department_id END",
        "assignee_id": ("CASE WHEN c.status IN ('registered', 'acknowledged', 'dispatched', 'invalid') THEN NULL "
                        "ELSE c.staff_id END"),
        "received_at": "c.received_at",
        "registered_by_id": "c.clerk_id",
        "first_reply_at": "CASE WHEN c.status <> 'registered' THEN c.replied_at END",
        "first_reply": "CASE WHEN c.status <> 'registered' THEN '您好，已收到您反映的问题，我们会尽快处理。' ELSE '' END",
        "invalid_reason": "CASE WHEN c.status = 'invalid' THEN '重复登记' ELSE '' END",
        "promised_at": f"CASE WHEN c.status IN {running} AND c.r_misc < .5 THEN c.due + interval '-1 day' END",
        "resolved_at": f"CASE WHEN c.status IN {finished} THEN c.resolved END",
        "resolved_by_id": f"CASE WHEN c.status IN {finished} THEN c.staff_id END",
        "resolve_work_seconds": f"CASE WHEN c.status IN {finished} THEN 1800 + c.r_time * 140000 END",
        "confirmed_at": ("CASE WHEN c.status IN ('callback_done', 'closed') "
                         "THEN LEAST(c.resolved + interval '1 day', :now) END"),
        "closed_at": "CASE WHEN c.status = 'closed' THEN LEAST(c.resolved + interval '2 days', :now) END",
        "reopen_count": "CASE WHEN c.r_misc * 1000 - floor(c.r_misc * 1000) < .05 THEN 1 ELSE 0 END",
        "repeat": "c.r_time * 1000 - floor(c.r_time * 1000) < .02",
        "due_at": f"CASE WHEN c.status IN {running} THEN c.due END",
        "due_clock": f"CASE WHEN c.status IN {running} THEN 'resolution' END",
        "remind_at": f"CASE WHEN c.status IN {running} THEN c.due - interval '6 hours' END",
        "sla_paused": f"c.status IN {paused}",
        "updated_at": ("CASE WHEN c.status = 'closed' THEN LEAST(c.resolved + interval '2 days', :now) "
                       f"WHEN c.status IN {finished} THEN c.resolved ELSE c.replied_at END"),
        "version_id": "1",
    }
    columns = [f'"{name}"' for name in values]  # the others take their defaults (_python_defaults)
    exprs = list(values.values())
    inner = f"""
        SELECT p.id, p.received_at, p.r_status, p.r_time, p.r_misc, h.unit_id, h.estate_id, h.resident_id,
               h.clerk_id, t.kind, t.category_id, t.location_type, t.description, t.location,
               ro.department_id, ro.staff_id, {status} AS status, {prefix} AS prefix,
               (p.received_at AT TIME ZONE :tz)::date AS day,
               row_number() OVER (PARTITION BY t.kind, (p.received_at AT TIME ZONE :tz)::date ORDER BY p.id) AS seq,
               LEAST(p.received_at + (5 + p.r_misc * 200) * interval '1 minute', :now) AS replied_at,
               LEAST(p.received_at + (1 + p.r_time * 95) * interval '1 hour', :now) AS resolved,
               :now + interval '6 hours' + p.r_time * interval '9 days' AS due
        FROM scale_pick p JOIN scale_home h ON h.k = p.hk JOIN scale_text t ON t.k = p.tk
        JOIN scale_route ro ON ro.estate_id = h.estate_id AND ro.category_id = t.category_id"""
    return f'INSERT INTO "case" ({", ".join(columns)}) SELECT {", ".join(exprs)} FROM ({inner}) c'


FILL_STEPS = [
    ("deadlines", f"""
        INSERT INTO deadline (case_id, clock, round, metric, budget_seconds, spent_seconds, started_at, segment_start,
                              paused_at, paused_seconds, remind_at, due_at, level2_at, met_at, cancelled, stage,
                              next_check_at)
        SELECT id, 'first_reply', 0, 'clock', 7200, 0, received_at,
               CASE WHEN first_reply_at IS NULL THEN received_at END, NULL, 0, NULL,
               received_at + interval '2 hours', received_at + interval '1 day', first_reply_at, false,
               CASE WHEN first_reply_at IS NULL THEN 3 ELSE 0 END, NULL
        FROM "case"
        UNION ALL
        SELECT id, 'resolution', 0, 'work', 97200, 0, received_at,
               CASE WHEN status IN {RUNNING!r} THEN received_at END,
               CASE WHEN status IN {PAUSED!r} THEN received_at + interval '1 day' END, 0,
               remind_at, COALESCE(due_at, received_at + interval '3 days'), due_at + interval '1 day',
               resolved_at, status IN ('invalid', 'cannot_handle'),
               CASE WHEN status IN {RUNNING!r} THEN 1 ELSE 0 END, due_at
        FROM "case" """),
    ("events", """
        INSERT INTO case_event (case_id, actor_id, at, action, from_status, to_status, note, internal_note, public)
        SELECT id, registered_by_id, received_at, 'register', NULL, 'registered', '', '', true FROM "case"
        UNION ALL
        SELECT id, registered_by_id, first_reply_at, 'mark_invalid', 'acknowledged', 'invalid', invalid_reason, '',
               true FROM "case" WHERE status = 'invalid'"""),
    ("callbacks", """
        INSERT INTO callback_task (id, kind, status, case_id, round, unit_id, resident_id, assignee_role, due_at,
                                   reason, reason_detail, attempts, outcome, created_at, closed_at)
        SELECT row_number() OVER (ORDER BY id), kind, CASE WHEN id % 10 = 3 THEN 'unreachable' ELSE 'done' END, id,
               0, unit_id, resident_id, 'clerk', resolved_at + interval '1 day', 'resolved', '', 1, '',
               resolved_at, confirmed_at
        FROM "case" WHERE status IN ('callback_done', 'closed') AND kind IN ('complaint', 'repair')"""),
    ("callback_records", """
        INSERT INTO callback_record (task_id, case_id, caller_id, at, method, reached, satisfaction, shortcomings,
                                     suggestions, confirmed, note, escalate)
        SELECT t.id, t.case_id, c.registered_by_id, t.closed_at, 'phone', true,
               (ARRAY['very_satisfied', 'satisfied', 'satisfied', 'neutral', 'dissatisfied'])[1 + t.id % 5],
               '', '', true, '', false
        FROM callback_task t JOIN "case" c ON c.id = t.case_id WHERE t.status = 'done'"""),
    ("search_terms", """
        INSERT INTO case_term (term, case_id)
        SELECT tt.term, c.id FROM "case" c
        JOIN scale_text_term tt ON tt.description = c.description AND tt.location = c.location"""),
    ("case_sequence", """
        INSERT INTO case_sequence (prefix, day, value)
        SELECT left(number, 2), to_date(substr(number, 4, 8), 'YYYYMMDD'), max(split_part(number, '-', 3)::int)
        FROM "case" GROUP BY 1, 2"""),
]


def fill(engine, total: int) -> dict[str, float]:
    """Generate `total` cases and everything kept beside them; returns seconds per step."""
    now = utcnow().replace(microsecond=0)
    spent: dict[str, float] = {}
    tz = current_app.config["TIMEZONE"]
    text_rows = texts()
    categories = {c.code: c.id for c in db.session.scalars(select(Category))}
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        # A superuser skips the foreign-key triggers during the bulk insert (the ids come from the tables).
        if conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            log("# not a superuser: foreign keys are checked during the fill")
        start = time.perf_counter()
        conn.execute(text("SET LOCAL max_parallel_maintenance_workers = 2"))
        indexes = _drop_plain_indexes(conn)
        _python_defaults(conn, on=True)
        term_key = conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = 'case_term'::regclass "
                                     "AND contype = 'p'")).scalar()
        conn.execute(text(f'ALTER TABLE case_term DROP CONSTRAINT "{term_key}"'))
        # The texts and their search terms (portal.search.terms_of: exactly what the app writes), one statement each.
        conn.execute(text("""
            CREATE TEMP TABLE scale_text ON COMMIT DROP AS
            SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS x(k int, kind text, category_id int,
                 location_type text, description text, location text)"""),
            {"rows": json.dumps([{"k": k, "category_id": categories[t["code"]], **{n: t[n] for n in (
                "kind", "location_type", "description", "location")}} for k, t in enumerate(text_rows)])})
        pairs = {(t["description"], t["location"]) for t in text_rows}
        conn.execute(text("""
            CREATE TEMP TABLE scale_text_term ON COMMIT DROP AS
            SELECT * FROM json_to_recordset(CAST(:rows AS json)) AS x(description text, location text, term text)"""),
            {"rows": json.dumps([{"description": d, "location": loc, "term": term}
                                 for d, loc in pairs for term in sorted(search.terms_of([d, loc]))])})
        # Homes: one resident each, with the unit's estate and the estate's (first) clerk.
        conn.execute(text("""
            CREATE TEMP TABLE scale_home ON COMMIT DROP AS
            WITH clerk AS (SELECT ue.estate_id, min(s.id) AS clerk_id FROM user_estate ue
                           JOIN "user" s ON s.id = ue.user_id WHERE s.role = 'clerk' GROUP BY ue.estate_id),
                 resident AS (SELECT unit_id, min(id) AS resident_id FROM "user"
                              WHERE role = 'resident' AND unit_id IS NOT NULL GROUP BY unit_id)
            SELECT row_number() OVER (ORDER BY u.id) - 1 AS k, u.id AS unit_id, b.estate_id, r.resident_id,
                   clerk.clerk_id
            FROM unit u JOIN building b ON b.id = u.building_id JOIN resident r ON r.unit_id = u.id
            LEFT JOIN clerk ON clerk.estate_id = b.estate_id"""))
        # Where each category goes in each estate (the override, else the category's default) and who does it.
        conn.execute(text("""
            CREATE TEMP TABLE scale_route ON COMMIT DROP AS
            SELECT e.id AS estate_id, c.id AS category_id, d.id AS department_id,
                   (SELECT s.id FROM "user" s WHERE s.department_id = d.id ORDER BY s.id LIMIT 1) AS staff_id
            FROM estate e CROSS JOIN category c
            LEFT JOIN category_override o ON o.estate_id = e.id AND o.category_id = c.id
            JOIN department d ON d.id = COALESCE(o.default_department_id, c.default_department_id)"""))
        homes = conn.execute(text("SELECT count(*) FROM scale_home")).scalar()
        conn.execute(text("SELECT setseed(0.18)"))
        conn.execute(text("""
            CREATE TEMP TABLE scale_pick ON COMMIT DROP AS
            SELECT g AS id, CAST(:t0 AS timestamptz) + (g - 1) * (CAST(:span AS float8) / :n) * interval '1 second'
                   AS received_at, random() AS r_status, random() AS r_time, random() AS r_misc,
                   floor(random() * :homes)::int AS hk, floor(random() * :texts)::int AS tk
            FROM generate_series(1, :n) g"""),
            {"t0": now - timedelta(days=DAYS), "span": DAYS * 86400.0, "n": total, "homes": homes,
             "texts": len(text_rows)})
        spent["prepare"] = time.perf_counter() - start
        start = time.perf_counter()
        conn.execute(text(_case_insert_sql()), {"recent": now - timedelta(days=RECENT_DAYS), "now": now, "tz": tz})
        spent["cases"] = time.perf_counter() - start
        for name, sql in FILL_STEPS:
            start = time.perf_counter()
            conn.execute(text(sql))
            spent[name] = time.perf_counter() - start
        start = time.perf_counter()
        conn.execute(text(f'ALTER TABLE case_term ADD CONSTRAINT "{term_key}" PRIMARY KEY (term, case_id)'))
        for definition in indexes:
            conn.execute(text(definition))
        for table in ("case", "callback_task"):  # the explicit ids above: move the sequences past them
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                              f"(SELECT COALESCE(max(id), 1) FROM \"{table}\"))"))
        _python_defaults(conn, on=False)
        conn.execute(text("UPDATE data_stamp SET n = n + 1"))
        spent["indexes"] = time.perf_counter() - start
    start = time.perf_counter()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    spent["vacuum_analyze"] = time.perf_counter() - start
    return spent


def check(total: int) -> None:
    """The generated rows agree with what the app writes: the search terms of a sample, numbers, estates."""
    sample = db.session.execute(select(Case.id, *(getattr(Case, n) for n in search.TEXT_FIELDS))
                                .where(Case.id % max(total // 50, 1) == 0)).all()
    for case_id, *values in sample:
        kept = set(db.session.scalars(select(CaseTerm.term).where(CaseTerm.case_id == case_id)))
        assert kept == search.terms_of(v or "" for v in values), case_id
    assert db.session.scalar(select(func.count(Case.id))) == total
    wrong_site = db.session.scalar(select(func.count(Case.id)).join(Unit, Unit.id == Case.unit_id).join(Building)
                                   .where(Building.estate_id != Case.estate_id))
    assert wrong_site == 0, wrong_site


# --- measuring ---------------------------------------------------------------------------------

class Counter:
    def __init__(self, engine):
        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args):
        self.n += 1


def pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure_list(client, counter: Counter, url: str, runs: int) -> tuple[float, float, int]:
    times, statements = [], set()
    client.get(url)  # the first request warms the process, not the database
    for _ in range(runs):
        counter.n = 0
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        statements.add(counter.n)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), pct(times, .95), max(statements)


def lists(app, counter: Counter, total: int, runs: int) -> None:
    with app.app_context():
        estate2 = db.session.scalar(select(Estate.id).where(Estate.name.like("第02项目%")))
        number = db.session.scalar(select(Case.number).where(Case.kind == "complaint").order_by(Case.id.desc()))
        resident = db.session.scalar(select(User.username).join(Case, Case.resident_id == User.id)
                                     .group_by(User.username).order_by(func.count(Case.id).desc()).limit(1))
    views = [
        ("clerk1", "board", "/board"),
        ("clerk1", "board_all_newest", "/board?" + urlencode({"status": "", "sort": "newest"})),
        ("clerk1", "board_open_major", "/board?status=open&severity=major"),
        ("clerk1", "board_page_40", "/board?" + urlencode({"status": "", "sort": "newest", "page": 40})),
        ("clerk1", "board_site", "/board?" + urlencode({"site": estate2})),
        ("clerk1", "board_search q=漏水", "/board?" + urlencode({"q": "漏水", "status": ""})),
        ("clerk1", "board_search q=电梯", "/board?" + urlencode({"q": "电梯", "status": ""})),
        ("clerk1", f"board_search q={number}", "/board?" + urlencode({"q": number, "status": ""})),
        ("clerk1", f"board_search q={number[:9]}", "/board?" + urlencode({"q": number[:9], "status": ""})),
        ("clerk_e02", "board_estate", "/board"),
        ("clerk_e02", "board_estate_all", "/board?" + urlencode({"status": "", "sort": "newest"})),
        ("staff_e02_0", "dept_queue", "/dept"),
        (resident, "my_cases", "/my/cases"),
    ]
    clients = {}
    for username, view, url in views:
        if username not in clients:
            clients[username] = app.test_client()
            response = clients[username].post("/login", data={"username": username, "password": PASSWORD})
            assert response.status_code in (302, 303), (username, response.status_code)
        p50, p95, statements = measure_list(clients[username], counter, url, runs)
        log(f"n={total} view={view} p50_ms={p50:.1f} p95_ms={p95:.1f} statements={statements}")


def scan_figures(app, counter: Counter, total: int) -> None:
    from bench.scan import CountingRunner
    from portal.sla.scan import scan
    app.extensions["portal_runner"] = CountingRunner()
    with app.app_context():
        running = db.session.scalar(select(func.count(Deadline.id)).where(Deadline.next_check_at.is_not(None)))
    times, statements, dues = [], [], []
    for slice_no in range(3):  # three different slices of 1,000 running deadlines made due a minute ago
        with app.app_context():
            past = utcnow() - timedelta(minutes=1)
            fresh = ~select(Alert.id).where(Alert.case_id == Deadline.case_id).exists()  # not fired by a run before
            pick = (select(Deadline.id).where(Deadline.stage == 1, Deadline.next_check_at.is_not(None), fresh)
                    .order_by(func.md5(func.concat(Deadline.id, "-", slice_no))).limit(1000))
            dues.append(db.session.execute(update(Deadline).where(Deadline.id.in_(pick))
                                     .values(due_at=past, next_check_at=past)).rowcount)
            db.session.commit()
        counter.n = 0
        start = time.perf_counter()
        with app.app_context():
            fired = scan()
        times.append((time.perf_counter() - start) * 1000)
        statements.append(counter.n)
        assert len(fired) == dues[-1], (len(fired), dues[-1])
    log(f"n={total} view=scan running={running} due={max(dues)} scan_ms={statistics.median(times):.1f} "
        f"statements={max(statements)}")


def report_figures(app, counter: Counter, total: int) -> None:
    from portal.reports import monthly
    from portal.reports.jobs import generate_report
    with app.app_context():
        month = shift(current_month(), -1)
        estate2 = db.session.scalar(select(Estate.id).where(Estate.name.like("第02项目%")))
    for label, estate_id in (("company", None), ("estate", estate2)):
        with app.app_context():
            monthly.forget()  # the first run counts the trend's finished months, the next ones read them back
            db.session.commit()
        times = []
        for _ in range(4):
            with app.app_context():
                run = ReportRun(month=month, steps=5, estate_id=estate_id)
                db.session.add(run)
                db.session.commit()
                counter.n = 0
                start = time.perf_counter()
                generate_report(run.id)
                times.append((time.perf_counter() - start) * 1000)
        log(f"n={total} view=report month={month} scope={label} first_ms={times[0]:.1f} "
            f"report_ms={statistics.median(times[1:]):.1f} statements={counter.n}")
    client = app.test_client()
    client.post("/login", data={"username": "manager1", "password": PASSWORD})
    for view, url in (("dashboard", f"/reports?month={month}"), ("trend", f"/reports/trend?month={month}")):
        times = []
        for _ in range(3):
            counter.n = 0
            start = time.perf_counter()
            assert client.get(url).status_code == 200, url
            times.append((time.perf_counter() - start) * 1000)
        log(f"n={total} view={view} ms={statistics.median(times):.1f} statements={counter.n}")


def export_figures(url: str, total: int) -> None:
    """Last month's workbook written in a fresh interpreter: its peak resident memory and time."""
    out = subprocess.run([sys.executable, __file__, "--export-child", "--database-url", url],
                         capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    log(f"n={total} view=export month={figures['month']} cases={figures['cases']} callbacks={figures['callbacks']} "
        f"file_kb={figures['file_kb']} seconds={figures['seconds']:.1f} rss_before_mb={figures['rss_before_mb']:.1f} "
        f"peak_rss_mb={figures['peak_rss_mb']:.1f} statements={figures['statements']}")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def export_child(url: str) -> None:
    from portal.models import CallbackTask
    from portal.reports import export
    from portal.reports.stats import case_scope
    app = create_app(_config(url))
    with app.app_context():
        scope = Scope(shift(current_month(), -1))
        cases = db.session.scalar(select(func.count(Case.id)).where(case_scope(scope)))
        callbacks = db.session.scalar(select(func.count(CallbackTask.id)).where(
            CallbackTask.due_at >= scope.start, CallbackTask.due_at < scope.end))
        db.session.close()
        counter = Counter(db.engine)
        before = _status_mb("VmRSS")
        start = time.perf_counter()
        path = export.month_file(scope)
        seconds = time.perf_counter() - start
        peak = _status_mb("VmHWM")
        size = os.path.getsize(path)
        export.remove(path)
        db.engine.dispose()
    print(json.dumps({"month": scope.month, "cases": cases, "callbacks": callbacks, "file_kb": size // 1024,
                      "seconds": seconds, "rss_before_mb": before, "peak_rss_mb": peak, "statements": counter.n}))


def _config(url: str) -> TestConfig:
    config = TestConfig()
    tmp = tempfile.mkdtemp(prefix="portal-bench-")
    config.SQLALCHEMY_DATABASE_URI = url
    config.WTF_CSRF_ENABLED = False
    config.UPLOAD_DIR = tmp
    config.OUTBOX_DIR = tmp
    config.JOBS_SYNC = False
    config.LIST_CACHE_SIZE = 0  # every list request counts, selects and renders
    return config


def run(url: str, total: int, estates: int, runs: int, export: bool, reuse: bool = False,
        only: set[str] = frozenset({"lists", "scan", "report", "export"})) -> None:
    app = create_app(_config(url))
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            raise SystemExit("bench/scale.py runs on PostgreSQL: --postgres or --database-url postgresql+psycopg://…")
        filled = reuse and db.inspect(engine).has_table("case") and db.session.scalar(select(func.count(Case.id)))
        if filled:
            total = filled
            log(f"# reusing the {filled} cases already there (no fill)")
        else:
            start = time.perf_counter()
            db.create_all()
            seed_company(estates)
            reference = time.perf_counter() - start
            spent = fill(engine, total)
            check(total)
            fill_s = reference + sum(spent.values())
            log(f"n={total} estates={estates} fill_s={fill_s:.1f} reference_s={reference:.1f} "
                + " ".join(f"{k}_s={v:.1f}" for k, v in spent.items()))
    with engine.connect() as conn:
        sizes = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database())), "
                                  "(SELECT count(*) FROM case_term), (SELECT count(*) FROM deadline WHERE "
                                  "next_check_at IS NOT NULL), (SELECT count(*) FROM callback_task)")).one()
    log(f"n={total} database={sizes[0]} case_terms={sizes[1]} running_deadlines={sizes[2]} callback_tasks={sizes[3]}")
    counter = Counter(engine)
    if "lists" in only:
        lists(app, counter, total, runs)
    if "scan" in only:
        scan_figures(app, counter, total)
    if "report" in only:
        report_figures(app, counter, total)
    if export and "export" in only:
        export_figures(url, total)
    log(f"# measured by {time.strftime('%H:%M:%S UTC', time.gmtime())} load average {os.getloadavg()}")
    engine.dispose()  # a throw-away server is stopped next: leave no pooled connection behind


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--estates", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20, help="requests per list (p50, p95)")
    parser.add_argument("--no-export", action="store_true", help="skip the XLSX export")
    parser.add_argument("--reuse", action="store_true",
                        help="with --database-url: measure the cases already there (no fill)")
    parser.add_argument("--only", default="lists,scan,report,export",
                        help="what to measure: lists, scan, report, export (comma-separated)")
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    add_database_arguments(parser)
    args = parser.parse_args()
    if args.export_child:
        export_child(args.database_url)
        return
    if not (args.postgres or args.database_url):
        raise SystemExit("bench/scale.py runs on PostgreSQL: --postgres or --database-url postgresql+psycopg://…")
    log(f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} load average {os.getloadavg()}")
    with database_url(args) as url:
        run(url, args.cases, args.estates, args.runs, not args.no_export, args.reuse, set(args.only.split(",")))
    log(f"# done {time.strftime('%H:%M:%S UTC', time.gmtime())} load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
