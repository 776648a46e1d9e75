"""Every page and fragment in both languages (issue 16): English pages carry no Chinese outside what people
typed, Chinese pages show no raw codes and no untranslated labels.

What people typed is everything the database holds as text, except what the system wrote as message keys
(`*_msg` columns, portal.messages): of those only the parameters' strings (names, numbers, typed notes)
count as typed. Visible text only: tags, scripts, styles and attributes are dropped first.
"""
from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

import pytest
from babel.messages.pofile import read_po
from flask import url_for
from sqlalchemy import JSON, String, Text, select

from portal import audit
from portal.callbacks.labels import KIND as CALLBACK_KIND, METHOD, SATISFACTION, STATUS as TASK_STATUS
from portal.callbacks.service import record_callback
from portal.cases.lifecycle import ACTIONS, perform
from portal.extensions import db
from portal.labels import CHANNEL, KIND, RELATION, ROLE, SEVERITY, STATUS
from portal.messages import msg, render
from portal.models import CallbackKind, CallbackTask, Kind, Notification, TaskStatus
from portal.notify import outbox
from portal.sla import alerts
from portal.sla.alerts import RULES
from portal.timeutil import utcnow
from tests import factories
from tests.conftest import login_as
from tests.test_access import ROUTES, dataset, url_args  # noqa: F401  (dataset: the fixture)
from tests.test_i18n import _po_path

# A word on its own: not part of a file name, a dotted event name or a {placeholder}.
WORD = re.compile(r"(?<![\w.{/*-])[A-Za-z_]+(?![\w.}/*-])")
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# The language switch names each language in its own words; input hints show what Chinese data looks like
# (units as callers say them, holiday names, the official term for make-up working days).
OWN_NAMES = ("中文", "5栋0802", "5号楼802", "国庆节", "调休上班")
WHO = {"resident": "other_resident", "clerk": "clerk", "manager": "manager", "eng": "eng"}
# Pages that are not pages: files, redirects to files, the API's JSON.
SKIP_PREFIXES = ("/api/", "/static/")


@pytest.fixture
def seeded(app, people, dataset):
    """Cases in several states with what the system writes about them: timeline notes, notices to residents
    and departments, a callback attempt, a dissatisfied callback twice (reopen, then escalate), alerts."""
    clerk, manager, eng, sec = people["clerk"], people["manager"], people["eng"], people["sec"]
    resident, water = people["other_resident"], people["ref"]["water"]
    case = dataset["case"]  # a complaint dispatched to security
    perform(case, clerk, "comment", {"note": "typed by the clerk"})
    perform(case, manager, "reassign", {"department_id": people["ref"]["eng"].id, "note": "please look"})
    repair = factories.case(resident, kind=Kind.REPAIR, category=water, description="tap drips")
    perform(repair, clerk, "acknowledge", {"note": "we are on it"})
    perform(repair, clerk, "classify", {"category_id": water.id, "severity": "major", "urgent": True,
                                        "group_complaint": True, "agitated": True})
    perform(repair, clerk, "dispatch", {"department_id": people["ref"]["eng"].id, "note": "go"})
    perform(repair, eng, "accept", {})
    perform(repair, eng, "plan", {"finding": "old pipe", "plan": "new pipe", "promised_at": utcnow() + timedelta(days=1)})
    perform(repair, eng, "complete", {"note": "replaced", "resident_present": True, "resident_confirmation": "Li"})
    db.session.commit()
    for _ in range(2):  # dissatisfied twice: reopened, then escalated to the manager
        if repair.status.value == "dispatched":
            perform(repair, eng, "accept", {})
            perform(repair, eng, "complete", {"note": "done again"})
        db.session.flush()
        task = db.session.scalar(select(CallbackTask).where(CallbackTask.case_id == repair.id,
                                                            CallbackTask.status == TaskStatus.PENDING))
        if task is None:  # the completion did not queue one (sampling): the desk adds it
            task = CallbackTask(kind=CallbackKind.REPAIR, case_id=repair.id, resident_id=resident.id,
                                unit_id=repair.unit_id, due_at=utcnow(), reason="complaint", round=repair.reopen_count)
            db.session.add(task)
            db.session.flush()
        record_callback(task, clerk, {"method": "phone", "reached": False})
        record_callback(task, clerk, {"method": "phone", "reached": True, "satisfaction": "dissatisfied",
                                      "quality_rating": 2, "effect_rating": 1, "shortcomings": "still drips",
                                      "suggestions": "send someone senior", "note": "angry"})
        db.session.commit()
    alerts.fire([alerts.firing_for(repair, "resolution", level=1, due_at=utcnow()),
                 alerts.firing_for(repair, "resolution", level=0, due_at=utcnow()),
                 alerts.firing_for(repair, "reopened_twice", level=2)])
    routine = CallbackTask(kind=CallbackKind.ROUTINE, unit_id=resident.unit_id, resident_id=resident.id,
                           assignee_role=clerk.role, due_at=utcnow(), reason="routine")
    db.session.add(routine)
    db.session.flush()  # dissatisfied without a case: a complaint whose description the system wrote
    record_callback(routine, clerk, {"method": "phone", "reached": True, "satisfaction": "dissatisfied",
                                     "shortcomings": "stairwell light out"})
    audit.record(manager, "import", people["ref"]["units"][0].id, "import", after={"created": 3, "file": "r.csv"},
                 summary="x", summary_msg=msg("import.summary", file="r.csv", created=3, updated=0, unchanged=1))
    outbox.notify([resident, clerk, manager, eng, sec], "reminder", "Legacy subject", "legacy body", "legacy")
    db.session.commit()
    return {**dataset, "repair": repair}


def typed_strings(han_only: bool = True) -> list[str]:
    """Everything people typed or named: the database's text, less what the system wrote as keys."""
    found: set[str] = set()

    def leaves(item):
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, list):
            for i in item:
                leaves(i)
        elif isinstance(item, dict):
            for name, value in (item.get("p") or {}).items():
                if name != "value":  # a label's raw value is a code, not typed text
                    leaves(value)
    for table in db.metadata.sorted_tables:
        texts = [c for c in table.columns if isinstance(c.type, (String, Text))]
        keyed = {c.name for c in table.columns if isinstance(c.type, JSON)}
        for row in db.session.execute(select(table)).mappings():
            for column in texts:
                shadow = {"note": "note_msg", "internal_note": "internal_msg", "subject": "subject_msg",
                          "body": "body_msg", "description": "description_msg", "summary": "summary_msg"}.get(column.name)
                if shadow in keyed and row[shadow] is not None:
                    leaves(row[shadow])  # system text: only its parameters were typed
                elif row[column.name]:
                    found.add(str(row[column.name]))
    parts = set()
    for text in found:
        parts.add(text)
        parts.update(line.strip() for line in text.splitlines() if line.strip())
        if HAN.match(text):
            parts.add(text[0] + "*")  # a masked name
    return sorted((p for p in parts if HAN.search(p) or not han_only), key=len, reverse=True)


def visible(page: str) -> str:
    page = re.sub(r"(?is)<(script|style|template)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<!--.*?-->", " ", page)
    return htmllib.unescape(re.sub(r"(?s)<[^>]+>", "\n", page))


def pages(app, client, data):
    """(url, visible text) of every GET page and htmx fragment the signed-in client may open."""
    for rule, endpoint, method, arguments in ROUTES:
        if method != "GET" or rule.startswith(SKIP_PREFIXES):
            continue
        with app.test_request_context():
            url = url_for(endpoint, **url_args(arguments, data))
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            if response.status_code != 200 or not response.mimetype == "text/html":
                response.close()
                continue
            yield f"{url}{' (htmx)' if headers else ''}", visible(response.get_data(as_text=True))


def codes() -> set[str]:
    """Raw values a reader must never see as words in the Chinese interface."""
    found = set(ACTIONS) | {"escalate"} | set(RULES)
    for table in (KIND, CHANNEL, SEVERITY, STATUS, ROLE, RELATION, CALLBACK_KIND, TASK_STATUS, METHOD, SATISFACTION):
        found |= {getattr(m, "value", m) for m in table}
    return {c for c in found if len(c) > 2}


def chinese_problems(text: str, typed: list[str], raw: set[str], english: set[str]) -> list[str]:
    """Raw codes standing as words, and lines that are an English msgid, in a Chinese page's visible text."""
    for s in typed:
        text = text.replace(s, " ")
    problems = []
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        words = set(WORD.findall(line))
        if words & raw:
            problems.append(f"code {sorted(words & raw)} in {line[:100]!r}")
        if line in english:
            problems.append(f"untranslated {line!r}")
    return problems


def test_the_checks_catch_what_the_issue_saw():
    """The raw `escalate`, a severity code and an English label are caught; a file name and typed text are not."""
    raw, english = codes(), untranslated()
    page = visible("<p>系统 · escalate</p><td>major</td><th>Major</th><p>sms-*.json</p><p>typed by the clerk</p>"
                   "<script>var status = 'closed'</script><a title='closed'>关闭</a>")
    found = chinese_problems(page, ["typed by the clerk"], raw, english)
    assert found == ["code ['escalate'] in '系统 · escalate'", "code ['major'] in 'major'", "untranslated 'Major'"]


def untranslated() -> set[str]:
    with _po_path("zh_Hans_CN").open("rb") as fh:
        catalog = read_po(fh, locale="zh_Hans_CN")
    return {m.id for m in catalog if isinstance(m.id, str) and m.string and m.string != m.id
            and re.search(r"[A-Za-z]{3}", m.id) and "%" not in m.id}


@pytest.mark.parametrize("who", list(WHO))
def test_english_pages_carry_no_chinese_outside_typed_text(app, client, people, seeded, who):
    login_as(client, people[WHO[who]])
    client.post("/lang/en", data={"csrf_token": _token(client)})
    typed = typed_strings()
    problems, seen = [], 0
    for url, text in pages(app, client, seeded):
        seen += 1
        for s in typed:
            text = text.replace(s, " ")
        for s in OWN_NAMES:
            text = text.replace(s, " ")
        for line in text.splitlines():
            if HAN.search(line):
                problems.append(f"{url}: {line.strip()[:120]}")
    assert seen > 10, "the walk found almost no pages"
    assert not problems, "Chinese in the English interface:\n" + "\n".join(sorted(set(problems))[:60])


@pytest.mark.parametrize("who", list(WHO))
def test_chinese_pages_show_no_raw_codes_or_untranslated_labels(app, client, people, seeded, who):
    login_as(client, people[WHO[who]])
    raw, english = codes(), untranslated()
    names = [p for p in typed_strings(han_only=False) if len(p) > 2]
    problems, seen = [], 0
    for url, text in pages(app, client, seeded):
        seen += 1
        problems += [f"{url}: {p}" for p in chinese_problems(text, names, raw, english)]
    assert seen > 10, "the walk found almost no pages"
    assert not problems, "in the Chinese interface:\n" + "\n".join(sorted(set(problems))[:60])


def test_stored_message_follows_the_reader_and_old_rows_keep_their_text(app, people, seeded):
    """The same notification reads in each language; a row written before keys shows its text."""
    from flask_babel import force_locale
    row = db.session.scalar(select(Notification).where(Notification.kind == "escalation",
                                                       Notification.subject_msg.is_not(None)).limit(1))
    with force_locale("en"):
        english = render(row.subject_msg)
    with force_locale("zh_Hans_CN"):
        chinese = render(row.subject_msg)
    assert english != chinese and not HAN.search(english) and HAN.search(chinese)
    legacy = db.session.scalar(select(Notification).where(Notification.dedup_key == "legacy").limit(1))
    assert legacy.subject_msg is None and legacy.subject == "Legacy subject"


def test_sms_and_email_go_out_in_the_recipients_language(app, people):
    """A resident who chose English gets the notice's text in English; one who did not, in Chinese."""
    english, chinese = people["resident"], people["other_resident"]
    english.language, english.email = "en", "a@example.com"
    case = factories.case(english, description="x")
    other = factories.case(chinese, description="y")
    perform(case, people["clerk"], "acknowledge", {"note": "noted"})
    perform(other, people["clerk"], "acknowledge", {"note": "noted"})
    db.session.commit()
    sent = {(n.user_id, n.channel): n for n in db.session.scalars(select(Notification).where(
        Notification.kind == "resident_acknowledge"))}
    assert sent[(english.id, "email")].subject == f"Your case {case.number} has been received"
    assert sent[(english.id, "sms")].subject.startswith("Your case")
    assert HAN.search(sent[(chinese.id, "sms")].subject)


def test_choosing_a_language_sets_the_persons_language(app, client, people):
    login_as(client, people["resident"])
    client.post("/lang/en", data={"csrf_token": _token(client)})
    db.session.expire_all()
    assert people["resident"].language == "en"


def _token(client) -> str:
    from tests.conftest import csrf_token
    return csrf_token(client)


def test_the_walk_reaches_the_pages_of_the_issue(app, client, people, seeded):
    """Guards the walk: the timeline, notifications, callbacks and service levels are among the pages."""
    login_as(client, people["manager"])
    urls = {url for url, _ in pages(app, client, seeded)}
    assert {f"/cases/{seeded['case'].id}", "/notifications", "/callbacks"} <= {u.split("?")[0] for u in urls}
    assert any(u.startswith("/admin/deadlines") for u in urls)
