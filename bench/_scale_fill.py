"""The fill of bench/scale.py: a company of 50 estates and two years of cases, generated in PostgreSQL.

The reference data is made through the app's own code (the demo's first estate, then estates,
buildings, units, departments, category overrides and accounts as ORM rows or core inserts); the
cases, their clocks, events, callbacks and the derived tables the app keeps (`case_term`,
`data_stamp`) with `INSERT … SELECT generate_series(…)`, plain indexes dropped before and built
after, then VACUUM ANALYZE. `check` compares a sample with what the app itself would write.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import current_app  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from portal import search  # noqa: E402
from portal.demo import CATEGORIES, FIT, TEXTS, seed_reference  # noqa: E402
from portal.demo_company import DEPARTMENTS as ESTATE_DEPARTMENTS, OVERRIDES  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    Building, Case, Category, CategoryOverride, Department, Estate, Role, Unit, User,
)
from portal.models.cases import KIND_PREFIX, CaseTerm  # noqa: E402
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
