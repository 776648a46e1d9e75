"""The form fuzzer's machinery: a seeded world, a crawler that finds the forms, strategies and checks.

Forms are discovered from the running app, never listed by hand: each role crawls the
pages it can reach (the navigation, every argument-free GET route, the seeded cases,
callback tasks and plans, and the htmx partials those pages load) and every <form> found
is parsed into its fields. tests/test_fuzz_forms.py drives hypothesis over them.
"""
from __future__ import annotations

import contextlib
import hashlib
import re
import traceback
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from portal import create_app
from portal.cases.lifecycle import perform
from portal.config import TestConfig
from portal.extensions import db
from portal.models import CallbackTask, ImprovementAction, Notification, Role
from tests import factories
from tests.conftest import RequestScopedClient, csrf_token, login_as
from tests.helpers import _Tree, tiny_png

ROLES = ("anonymous", "resident", "clerk", "department", "manager")
PERSON = {"resident": "resident", "clerk": "clerk", "department": "eng", "manager": "manager"}
HOST = "localhost"
PAGE_BUDGET = 160  # pages per role and crawl; the seeded world needs about half of that
QUERY_VARIANTS = 2  # pages of one route that differ only in which query arguments they carry
LINKED_PER_ROUTE = 2  # pages of one route reached by links (besides the seeded start pages)

# --- the world ------------------------------------------------------------------------------

@dataclass
class World:
    app: object
    people: dict
    clients: dict
    seeds: dict  # role -> extra start URLs (cases, tasks, plans, the signed survey link)
    upload_dir: Path
    tokens: dict  # role -> the session's CSRF token, sent in a header by htmx requests


STARTED = ("classify", "dispatch", "accept")
STATES = {  # how a seeded case reaches the state whose forms a role needs
    "registered": (), "acknowledged": ("acknowledge", "classify"), "dispatched": ("classify", "dispatch"),
    "in_progress": STARTED, "waiting": STARTED + (("eng", "await_resident", {"note": "请提供照片"}),),
    "third_party": STARTED + (("eng", "third_party", {"third_party": "自来水公司", "note": "等待供水"}),),
    "resolved": STARTED + ("complete",), "invalid": ("mark_invalid",),
    "cannot_handle": STARTED + (("eng", "cannot_handle", {"note": "产权不属于物业"}),),
    "major": (("clerk", "classify", {"category_id": "water", "severity": "major"}), "dispatch"),
}
# Each role acts on cases of its own, so one role's accepted action does not take another's form away.
OWN = {
    "anonymous": ("resolved",),  # its callback task is answered through the signed link
    "resident": ("registered", "resolved"),
    "clerk": ("registered", "acknowledged", "dispatched", "waiting", "resolved", "resolved"),
    "department": ("dispatched", "in_progress", "third_party"),
    "manager": ("registered", "acknowledged", "dispatched", "waiting", "resolved", "resolved", "invalid",
                "cannot_handle", "major"),
}


def _case(people, filer: str, state: str):
    case = factories.case(people[filer])
    for step in STATES[state]:
        if isinstance(step, str):
            factories.advance(case, [step], people)
        else:
            who, name, data = step
            data = {k: people["ref"][v].id if k == "category_id" else v for k, v in data.items()}
            perform(case, people[who], name, data)
    db.session.commit()
    return case


def _seed(app) -> tuple[dict, dict]:
    """Cases in every state a form depends on, callbacks (one with a promise), a plan, an alert,
    an improvement action and a failed delivery; returns the people and each role's start pages."""
    from portal.callbacks import plans
    from portal.callbacks.links import make_token
    from portal.callbacks.service import record_callback
    from portal.models import Building, Unit
    from portal.reports import report
    from portal.reports.periods import Scope, current_month, shift
    from portal.timeutil import local_now, utcnow

    ref = factories.reference()
    people = {
        "ref": ref,
        "resident": factories.user(Role.RESIDENT, unit=ref["units"][0], name="张三"),
        "other_resident": factories.user(Role.RESIDENT, unit=ref["units"][1], name="李四"),
        "clerk": factories.user(Role.CLERK),
        "manager": factories.user(Role.MANAGER),
        "eng": factories.user(Role.DEPARTMENT, department=ref["eng"]),
        "sec": factories.user(Role.DEPARTMENT, department=ref["sec"]),
    }
    building = db.session.get(Building, ref["units"][0].building_id)
    for i in range(3):  # households for the callback plan
        factories.user(Role.RESIDENT, unit=Unit(building=building, number=f"08{i:02d}"))
    db.session.commit()

    seeds = {}
    for role, states in OWN.items():
        cases = [_case(people, "resident" if role == "resident" else "other_resident", s) for s in states]
        tasks = list(db.session.scalars(select(CallbackTask).where(CallbackTask.case_id.in_([c.id for c in cases]))
                                        .order_by(CallbackTask.id)))
        if len(tasks) > 1:  # the second callback is reached and leaves a question to answer
            record_callback(tasks[1], people["manager" if role == "manager" else "clerk"], {
                "method": "phone", "reached": True, "satisfaction": "satisfied", "question": "维修费用谁承担？",
                "promised_reply_at": utcnow() + timedelta(days=2)})
            db.session.commit()
        pages = [f"/cases/{c.id}" for c in cases]
        if role in ("clerk", "manager", "department"):
            pages += [f"/board/rows/{c.id}/actions" for c in cases]
        if role in ("clerk", "manager"):
            pages += [f"/callbacks/{t.id}" for t in tasks]
        if role == "resident":
            pages += [f"/cases/{c.id}/survey" for c in cases]
        if role == "anonymous":
            with app.test_request_context():
                pages = [f"/s/{make_token(tasks[0])}"]
        seeds[role] = pages

    now = local_now()
    plan = plans.generate(now.year + (now.month == 12), now.month % 12 + 1)
    seeds["manager"].append(f"/callbacks/plans/{plan.id}")
    report.add_action(Scope(shift(current_month(), -1), None), people["manager"],
                      {"problem": "超时较多", "action": "增加夜班", "due_on": None})
    db.session.add(Notification(user_id=people["manager"].id, channel="email", kind="escalation", subject="升级",
                                body="请处理", dedup_key="fuzz:1", status="failed", address="m@example.com",
                                last_error="SMTP down"))
    db.session.commit()
    assert db.session.scalar(select(ImprovementAction.id)) is not None
    return people, seeds


@contextlib.contextmanager
def world(database_url: str, tmp_path: Path):
    """A fresh app and database with the seeded world and one logged-in client per role."""
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.UPLOAD_DIR = str(tmp_path / "uploads")
    config.OUTBOX_DIR = str(tmp_path / "outbox")
    app = create_app(config)
    app.test_client_class = RequestScopedClient
    with app.app_context():
        db.create_all()
        try:
            people, seeds = _seed(app)
            clients = {"anonymous": app.test_client()}
            for role, who in PERSON.items():
                clients[role] = app.test_client()
                login_as(clients[role], people[who])
            tokens = {role: csrf_token(client) for role, client in clients.items()}
            yield World(app, people, clients, seeds, Path(config.UPLOAD_DIR), tokens)
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


# --- parsing pages into forms ------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """Where a form was found: a page, or an htmx partial (target "" when it names no element)."""
    url: str
    htmx_target: str | None = None

    def headers(self) -> dict:
        if self.htmx_target is None:
            return {}
        return {"HX-Request": "true", **({"HX-Target": self.htmx_target} if self.htmx_target else {})}


@dataclass
class Field:
    name: str
    kind: str  # text, textarea, hidden, password, number, date, datetime-local, month, select, radio, checkbox, file
    value: list[str]  # what the page would submit untouched
    options: list[str] = field(default_factory=list)
    multiple: bool = False
    placeholders: list[str] = field(default_factory=list)  # "— choose —" options: shown, never a real choice


@dataclass
class Form:
    role: str
    method: str
    action: str
    endpoint: str
    view_args: dict
    source: Source
    htmx_target: str | None  # None: no hx-post; "": htmx without a target id
    multipart: bool
    fields: dict[str, Field]

    @property
    def signature(self) -> tuple:
        """What makes two forms the same form (ids in URLs and field names do not)."""
        norm = lambda s: re.sub(r"\d+", "N", s or "")  # noqa: E731
        # Names in URLs (an action, a language) tell forms apart; ids and opaque tokens do not.
        args = tuple(sorted((k, v if len(v) <= 20 else "*") for k, v in self.view_args.items()
                            if not isinstance(v, int)))
        return (self.role, self.method, self.endpoint, args, norm(self.htmx_target),
                tuple(sorted(norm(n) for n in self.fields)))

    @property
    def label(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.view_args.items() if not isinstance(v, int))
        htmx = f" hx→{self.htmx_target!r}" if self.htmx_target is not None else ""
        return f"{self.role}: {self.method.upper()} {self.endpoint}({args}) {self.action}{htmx} from {self.source.url}"


def parse(text: str):
    tree = _Tree()
    tree.feed(text)
    return tree.root


def _text(node) -> str:
    text = node.text
    return text[1:] if text.startswith("\n") else text


def _target_of(node) -> str | None:
    """The id htmx sends as HX-Target for a request from node ("" when the target has no id)."""
    at = node
    while at is not None and "hx-target" not in at.attrs:
        at = at.parent
    if at is None:
        return node.attrs.get("id", "")
    spec = at.attrs["hx-target"].strip()
    if spec == "this":
        return at.attrs.get("id", "")
    if spec.startswith("#"):
        return spec[1:]
    return ""


def _fields(nodes) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for n in nodes:
        name = n.attrs.get("name")
        if not name or n.tag not in ("input", "textarea", "select", "button"):
            continue
        if n.tag == "textarea":
            fields[name] = Field(name, "textarea", [_text(n)])
        elif n.tag == "select":
            options = [o.attrs.get("value", _text(o)) for o in n.all("option")]
            chosen = [o.attrs.get("value", _text(o)) for o in n.all("option") if "selected" in o.attrs]
            placeholders = [o.attrs.get("value", "") for o in n.all("option") if _text(o).strip().startswith("—")]
            multiple = "multiple" in n.attrs
            fields[name] = Field(name, "select", chosen or ([] if multiple else options[:1]), options, multiple,
                                 placeholders)
        elif n.tag == "button":
            if (n.attrs.get("type") or "submit") == "submit":
                fields.setdefault(name, Field(name, "submit", [], []))
                fields[name].options.append(n.attrs.get("value", ""))
        else:
            kind = (n.attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                continue
            if kind == "text" and n.attrs.get("inputmode") in ("decimal", "numeric"):
                kind = "number"
            if kind in ("search", "tel", "email", "url"):
                kind = "text"
            value = n.attrs.get("value", "on" if kind in ("checkbox", "radio") else "")
            if kind in ("radio", "checkbox"):
                f = fields.setdefault(name, Field(name, kind, [], [], multiple=kind == "checkbox"))
                f.options.append(value)
                if "checked" in n.attrs:
                    f.value.append(value)
            else:
                fields[name] = Field(name, kind, [] if kind == "file" else [value])
    return fields


def forms_in(page, role: str, source: Source, app) -> list[Form]:
    """Every <form> of a parsed page, with its fields (inputs tied to it by form="id" included)."""
    found = []
    for node in page.all("form"):
        method = (node.attrs.get("method") or "get").lower()
        action = node.attrs.get("action") or node.attrs.get("hx-post") or source.url
        action = urljoin(f"http://{HOST}{source.url}", action)
        parts = urlsplit(action)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            endpoint, args = app.url_map.bind(HOST).match(parts.path, method="POST" if method == "post" else "GET")
        except (NotFound, MethodNotAllowed, RequestRedirect):
            endpoint, args = "?", {}
        members = list(node.iter())
        if node.attrs.get("id"):
            members += page.all(form=node.attrs["id"])
        htmx = _target_of(node) if ("hx-post" in node.attrs or "hx-get" in node.attrs) else None
        multipart = (node.attrs.get("enctype") or node.attrs.get("hx-encoding") or "").startswith("multipart")
        found.append(Form(role, method, path, endpoint, args, source, htmx, multipart, _fields(members)))
    return found


# --- crawling ------------------------------------------------------------------------------------

SEARCH_PROBES = ("张", "0101")  # values that make the desk's resident search return radio buttons


@dataclass
class Crawl:
    pages: list = field(default_factory=list)  # (Source, status, content type)
    forms: dict = field(default_factory=dict)  # signature -> Form (first seen)
    problems: list = field(default_factory=list)


def _links(page, base: str) -> list[Source]:
    out = []
    for node in page.iter():
        for attr, value in node.attrs.items():
            if not value:
                continue
            if attr == "href" or value.startswith(f"http://{HOST}/"):
                out.append(Source(urljoin(f"http://{HOST}{base}", value)))
            elif attr == "hx-get":
                out.append(Source(urljoin(f"http://{HOST}{base}", value), _target_of(node)))
    result = []
    for s in out:
        parts = urlsplit(s.url)
        if parts.netloc not in ("", HOST) or parts.scheme not in ("", "http") or parts.path.startswith("/static/"):
            continue
        result.append(Source(parts.path + (f"?{parts.query}" if parts.query else ""), s.htmx_target))
    return result


def route_key(app, source: Source):
    """Pages that differ only in query values are the same page to the crawler."""
    parts = urlsplit(source.url)
    try:
        endpoint, args = app.url_map.bind(HOST).match(parts.path, method="GET")
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return None
    keys = tuple(sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}))
    return endpoint, tuple(sorted(args.items())), keys, source.htmx_target is not None


def argless_get_routes(app) -> list[str]:
    return sorted(r.rule for r in app.url_map.iter_rules()
                  if "GET" in r.methods and not r.arguments and r.endpoint != "static")


def fetch(client, source: Source, problems: list, context: str = ""):
    """GET a page; an exception or a 500 is recorded as a problem, None returned."""
    try:
        response = client.get(source.url, headers=source.headers())
        response.get_data()  # buffered, so the file behind a download is closed at once
        response.close()
    except Exception:  # noqa: BLE001  (TESTING propagates the app's exceptions: each is a finding)
        problems.append(f"GET {source.url} {context} raised:\n{traceback.format_exc(limit=-6)}")
        return None
    if response.status_code >= 500:
        problems.append(f"GET {source.url} {context} answered {response.status_code}")
        return None
    check_markup(response, f"GET {source.url} {context}", problems)
    return response


def crawl(w: World, role: str, with_forms: bool = True) -> Crawl:
    """Breadth-first over what the role can reach; every form on the way is recorded.

    Without forms (the sweep that checks how stored data displays) htmx partials are left out:
    they show what their pages show.
    """
    app, client, result = w.app, w.clients[role], Crawl()
    seeds = [Source(u) for u in w.seeds.get(role, [])]
    queue = [Source(u) for u in ["/", *argless_get_routes(app)]] + seeds
    seen, variants, linked = set(), Counter(), Counter()
    while queue and len(result.pages) < PAGE_BUDGET:
        source = queue.pop(0)
        key = route_key(app, source)
        if key is None or key in seen or variants[key[:2] + key[3:]] >= QUERY_VARIANTS:
            continue
        if not with_forms and source.htmx_target is not None:
            continue
        if source not in seeds and linked[key[0], key[3]] >= LINKED_PER_ROUTE:
            continue  # the same page for yet another case or task: the seeded ones come first
        seen.add(key)
        variants[key[:2] + key[3:]] += 1
        linked[key[0], key[3]] += source not in seeds
        response = fetch(client, source, result.problems, f"(crawl as {role})")
        if response is None:
            continue
        result.pages.append((source, response.status_code, response.mimetype))
        if response.status_code in (301, 302, 303, 307, 308):
            queue.append(Source(_relative(response.headers["Location"])))
            continue
        if response.mimetype != "text/html" or response.status_code != 200:
            continue
        page = parse(response.get_data(as_text=True))
        queue.extend(_links(page, source.url))
        if with_forms:
            for form in forms_in(page, role, source, app):
                _probe_partials(w, role, form, page, result.problems)
                result.forms.setdefault(form.signature, form)
    if queue and len(result.pages) >= PAGE_BUDGET:  # never stop short without saying so
        result.problems.append(f"the crawl as {role} ran out of its {PAGE_BUDGET} pages: raise PAGE_BUDGET")
    return result


def _probe_partials(w: World, role: str, form: Form, page, problems: list) -> None:
    """Fields a form gains from an htmx partial (the desk's resident search) join the form."""
    for node in page.iter():
        url, name = node.attrs.get("hx-get"), node.attrs.get("name")
        if not url or not name or name not in form.fields:
            continue
        for probe in SEARCH_PROBES:
            sep = "&" if "?" in url else "?"
            response = fetch(w.clients[role], Source(f"{url}{sep}{urlencode({name: probe})}", _target_of(node)),
                             problems, "(probing a form's partial)")
            if response is not None and response.status_code == 200:
                for extra in _fields(parse(response.get_data(as_text=True)).iter()).values():
                    have = form.fields.setdefault(extra.name, replace(extra, value=[], options=[]))
                    have.options += [o for o in extra.options if o not in have.options]


def _relative(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- what every response must satisfy --------------------------------------------------------------

MARKUP = "<fz-"  # every markup payload carries a tag starting with this; escaped, it reads &lt;fz-
TEMPLATE_PROOF = "fzssti"  # what the template payload renders to if anything evaluates it


def check_markup(response, context: str, problems: list) -> None:
    if response.mimetype != "text/html":
        return
    body = response.get_data(as_text=True)
    for needle in (MARKUP, TEMPLATE_PROOF):
        at = body.find(needle)
        if at >= 0:
            problems.append(f"{context}: unescaped {needle!r} in the page: …{body[max(0, at - 120):at + 80]}…")


def check_redirect(response, context: str, problems: list) -> None:
    """A redirect stays on this site, as a browser would read the Location (tabs dropped, \\ as /)."""
    location = response.headers.get("Location") or response.headers.get("HX-Redirect")
    if not location:
        return
    seen = re.sub(r"[\t\n\r]", "", location).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                                  "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c"
                                                  "\x1d\x1e\x1f ").replace("\\", "/")
    parts = urlsplit(urljoin(f"http://{HOST}/", seen))
    if parts.netloc != HOST or parts.scheme != "http":
        problems.append(f"{context}: redirects off the site to {location!r}")


# How the app marks refused input: messages beside fields (p.error, .has-error, aria-invalid),
# a form-level box (.form-errors) or an error flash (p.flash.error) on the page redirected to.
ERROR_MARK = re.compile(r'class="(?:[^"]*\s)?(?:error|has-error|form-errors)[\s"]|aria-invalid="true"')


def shows_errors(response) -> bool:
    return response.mimetype == "text/html" and bool(ERROR_MARK.search(response.get_data(as_text=True)))


def snapshot(upload_dir: Path) -> dict:
    """Row count and content hash of every table, plus the stored upload files."""
    out = {}
    with db.engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote
        if conn.dialect.name == "postgresql":  # one round trip instead of one per table
            sql = " UNION ALL ".join(
                f"SELECT '{t.name}', count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) "
                f"FROM {quote(t.name)} r" for t in db.metadata.sorted_tables)
            out = {name: (count, digest) for name, count, digest in conn.exec_driver_sql(sql)}
        else:
            for table in db.metadata.sorted_tables:
                order = ", ".join(quote(c.name) for c in table.primary_key.columns)
                rows = conn.exec_driver_sql(f"SELECT * FROM {quote(table.name)} ORDER BY {order}").fetchall()
                out[table.name] = (len(rows), hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest())
    out["(uploads)"] = tuple(sorted(p.name for p in upload_dir.glob("*"))) if upload_dir.exists() else ()
    return out


def changed_tables(before: dict, after: dict) -> list[str]:
    return [k for k in after if before.get(k) != after[k]]


# --- strategies ------------------------------------------------------------------------------------

MARKUP_PAYLOADS = (
    "<fz-a>x</fz-a>",
    "<script>alert(1)</script><fz-s>",
    '"><fz-b src=x onerror=alert(1)>',
    "'><fz-c onmouseover=alert(1)>",
    "</textarea><fz-d>",
    "</title></script><fz-e>",
    "--><fz-f>",
    "<fz-g/onload=alert(1)>",
    "{{ 'fz' ~ 'ssti' }}",
    "{% if 1 %}fz{% endif %}ssti",
    "%(x)s %s {0} {x} %n <fz-h>",
    "javascript:alert(1)//<fz-i>",
)
ODD_TEXT = ("", " ", " \t\r\n ", "\u200b", "\ufeff", "\u202e<fz-rtl>", "a\x00b", "\x00", "\x01\x1f\x7f",
            "\r\n\r\n", "😀👨‍👩‍👧", "ﷺ" * 20, "Ω≈ç√∫˜µ", "null", "None", "undefined", "-1", "0", "true",
            "' OR 1=1 --", "%00", "../../etc/passwd", "\\\\server\\share", "//evil.example/x", "/\\evil.example",
            "\t//evil.example", "https://evil.example/", "javascript:alert(1)")
NUMBERS = ("0", "-0", "-1", "1.5", "1e3", "1e309", "-1e309", "NaN", "nan", "inf", "-Infinity", "0x10", "1_000",
           "９", "٣", "2147483648", "9223372036854775808", "-9223372036854775809", str(10 ** 40), "１２", " 7 ")
DATES = ("0001-01-01", "9999-12-31", "0000-00-00", "2026-02-30", "2026-13-01", "1900-01-01", "1969-12-31",
         "2026-1-1", "２０２６-０１-０１", "yesterday", "2026-01-01T00:00", "0001-01-01T00:00", "9999-12-31T23:59",
         "2026-01-01T25:61", "2026-01-01 10:00", "1970-01-01T00:00:00", "0000-01", "9999-12", "2026-00")
BENIGN = ("楼道灯坏了，晚上很黑。", "请尽快处理", "Water leaks from the ceiling", "3栋-1201", "13800001234",
          "工程部", "x")

# Any character a request can carry: control characters and NUL included (the app drops NUL, which
# PostgreSQL cannot store), lone surrogates not (they cannot be encoded, so no browser sends one).
_unicode = st.characters(codec="utf-8", exclude_categories=("Cs",))


def _long():
    return st.builds(lambda ch, n: ch * n, st.sampled_from(["x", "测", "😀", "<fz-l>", " "]),
                     st.sampled_from([31, 51, 101, 201, 501, 2001, 4001, 10001]))


hostile_text = st.one_of(
    st.sampled_from(MARKUP_PAYLOADS), st.sampled_from(ODD_TEXT), st.text(_unicode, max_size=40), _long(),
    st.sampled_from(NUMBERS), st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str),
    st.floats().map(repr), st.sampled_from(DATES),
)


def _dates(kind: str):
    today = date.today()
    if kind == "date":
        return st.dates(today - timedelta(days=400), today + timedelta(days=400)).map(date.isoformat)
    if kind == "month":
        return st.dates(today - timedelta(days=400), today + timedelta(days=400)).map(lambda d: d.strftime("%Y-%m"))
    start = datetime.now().replace(second=0, microsecond=0)
    return st.datetimes(start - timedelta(days=30), start + timedelta(days=300)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M"))


SHOWN = "(as shown)"  # resolved at submission time to what the page shows then (a fresh version or token)


def valid_value(f: Field):
    """Something a person might submit: the value shown, or a plausible one (markup counts as text)."""
    shown = st.just(SHOWN)
    if f.kind in ("select", "radio"):
        choices = [o for o in f.options if o != "" and o not in f.placeholders] or f.options
        if f.multiple:
            return st.one_of(shown, st.lists(st.sampled_from(choices), min_size=1, unique=True)) if choices else shown
        return st.one_of(shown, st.sampled_from(choices).map(lambda v: [v])) if choices else shown
    if f.kind == "checkbox":
        return st.one_of(shown, st.lists(st.sampled_from(f.options), unique=True))
    if f.kind in ("hidden", "submit"):
        return shown if f.kind == "hidden" else st.sampled_from(f.options).map(lambda v: [v])
    if f.kind == "file":
        return st.one_of(st.just([]), st.just([("photo.png", "png")]), st.just([("<fz-file>.png", "png")]))
    if f.kind == "number":
        return st.one_of(shown, st.integers(0, 100).map(lambda n: [str(n)]))
    if f.kind in ("date", "month", "datetime-local"):
        return st.one_of(shown, _dates(f.kind).map(lambda v: [v]))
    text = st.one_of(st.sampled_from(BENIGN), st.sampled_from(MARKUP_PAYLOADS),
                     st.text(st.characters(categories=("L", "N", "P", "Zs")), min_size=1, max_size=30))
    if not "".join(f.value).strip():
        return text.map(lambda v: [v])  # an empty box filled in (left empty is among the hostile values)
    return st.one_of(shown, text.map(lambda v: [v]))


FILES = {"png": tiny_png(), "junk": b"not a picture at all", "gif": b"GIF89a" + b"\x00" * 20,
         "fakejpeg": b"\xff\xd8\xff" + b"\x00" * 10, "empty": b""}
FILE_NAMES = ("photo.png", "<fz-file>.png", "../../etc/passwd", "a" * 300 + ".png", "😀.jpg", "x.svg",
              '"><fz-fn>.gif', "CON.png", " .png", "%00.png", "nul\x00.png")


def hostile_value(f: Field):
    """Anything at all for this field: wrong types, invalid choices, odd unicode, markup, repeats."""
    one = hostile_text.map(lambda v: [v])
    if f.kind == "file":
        return st.lists(st.tuples(st.sampled_from(FILE_NAMES), st.sampled_from(sorted(FILES))), max_size=7)
    extra = [st.just(None)]  # the field left out of the request altogether
    if f.kind in ("select", "radio", "checkbox", "submit") and f.options:
        extra.append(st.lists(st.sampled_from(f.options), min_size=2, max_size=3))  # repeated values
    if f.kind in ("number",):
        extra.append(st.sampled_from(NUMBERS).map(lambda v: [v]))
    if f.kind in ("date", "month", "datetime-local"):
        extra.append(st.sampled_from(DATES).map(lambda v: [v]))
    return st.one_of(one, *extra, st.lists(hostile_text, min_size=2, max_size=3))


def is_token(name: str) -> bool:
    """The CSRF token stays valid: the point is validation, not CSRF (tests/test_csrf.py covers that)."""
    return name == "csrf_token" or name.endswith("-csrf_token")


@dataclass
class Submission:
    """What to type into each field (SHOWN: leave it as the page shows it; None: leave it out)."""
    plan: dict
    htmx: bool
    hostile: tuple

    def data(self, current: Form) -> MultiDict:
        """The request body for the form as it is now; files are opened afresh for every request."""
        data = MultiDict()
        for name, values in self.plan.items():
            f = current.fields.get(name)
            if values == SHOWN:
                values = f.value if f is not None else []
            if values is None:
                continue
            if f is not None and f.kind == "file":
                data.setlist(name, [(BytesIO(FILES[content]), filename) for filename, content in values])
            else:
                data.setlist(name, values)
        return data


@st.composite
def submissions(draw, form: Form):
    """One filled-in form: every field plausible except a drawn set of hostile ones (CSRF kept valid).

    Drawn from the form as discovered, never from the page of the moment: hypothesis needs the same
    choices to mean the same thing on every run, and the page changes as submissions are stored.
    """
    names = [n for n in form.fields if not is_token(n)]
    # Mostly at most two hostile fields among plausible ones (so validation passes often enough to
    # store things), a quarter of the time any number of them.
    few = st.sets(st.sampled_from(names), max_size=min(2, len(names))) if names else st.just(set())
    hostile = draw(st.one_of(few, few, few, st.sets(st.sampled_from(names)) if names else few))
    plan = {}
    for name, f in form.fields.items():
        plan[name] = SHOWN if is_token(name) else draw(hostile_value(f) if name in hostile else valid_value(f))
    htmx = form.htmx_target is not None and draw(st.booleans())
    return Submission(plan, htmx, tuple(sorted(hostile)))


def describe(data: MultiDict) -> str:
    shown = []
    for k, v in data.items(multi=True):
        if is_token(k):
            continue
        if isinstance(v, tuple):
            v = f"<file {v[1]!r}>"
        shown.append(f"{k}={v!r}"[:300])
    return "\n    ".join(shown) or "(no fields)"


# --- submitting and judging ---------------------------------------------------------------------------

def is_public(app, endpoint: str) -> bool:
    from portal.access import ACCESS_ATTR
    view = app.view_functions.get(endpoint)
    return getattr(view, ACCESS_ATTR, None) == "public"


def discover(w: World, excluded=()) -> tuple[list[Form], list[str]]:
    """Every form of every role. A public route's form (login, language, signed survey) counts once,
    for the first role that meets it: anonymous."""
    forms, problems = {}, []
    for role in ROLES:
        found = crawl(w, role)
        problems += found.problems
        for signature, form in found.forms.items():
            if form.endpoint not in excluded:
                forms.setdefault(signature[1:] if is_public(w.app, form.endpoint) else signature, form)
    return sorted(forms.values(), key=lambda f: f.label), problems


@dataclass
class Fuzzer:
    """Submits drawn data to forms and records what is wrong; the state it keeps only saves requests."""
    w: World
    problems: list = field(default_factory=list)
    stats: Counter = field(default_factory=Counter)
    # The snapshot after the last submission: pages (GET) change nothing, which the test checks
    # separately, so it is still the state of the database when the next submission is sent.
    last: dict | None = None
    _current: dict = field(default_factory=dict)  # form label -> form as last fetched, while unchanged

    def form(self, form: Form) -> Form:
        """The form as its page shows it now (fresh version, token, choices); unchanged after a refusal."""
        if form.label in self._current:
            return self._current[form.label]
        response = fetch(self.w.clients[form.role], form.source, self.problems, f"(the page of {form.label})")
        current = form
        if response is not None and response.status_code == 200 and response.mimetype == "text/html":
            page = parse(response.get_data(as_text=True))
            same = [f for f in forms_in(page, form.role, form.source, self.w.app) if f.signature == form.signature]
            for f in same:
                if f.action == form.action:
                    for name, old in form.fields.items():  # fields a partial added stay known
                        f.fields.setdefault(name, old)
                    current = f
                    break
        self._current[form.label] = current
        return current

    def submit(self, form: Form, sub: Submission) -> str:
        """Send one submission and check it; returns "accepted", "refused" or "failed"."""
        outcome = self._submit(form, sub)
        self.stats[outcome] += 1
        self.stats[(form.label, outcome)] += 1
        if outcome != "refused":
            self._current.pop(form.label, None)  # the page may show something else now
        return outcome

    def _submit(self, form: Form, sub: Submission) -> str:
        w, problems = self.w, self.problems
        client = w.clients[form.role]
        data = sub.data(form)
        context = (f"{form.label}\n  hostile fields: {', '.join(sub.hostile) or '-'}; htmx: {sub.htmx}\n"
                   f"  data:\n    {describe(data)}")
        headers = {}
        if sub.htmx:
            headers = {"HX-Request": "true", "X-CSRFToken": w.tokens[form.role],
                       "HX-Current-URL": f"http://{HOST}{form.source.url}"}
            if form.htmx_target:
                headers["HX-Target"] = form.htmx_target
        before = self.last or snapshot(w.upload_dir)
        self.last = None
        count = len(problems)
        try:
            if form.method == "get":
                query = urlencode([(k, v) for k, v in data.items(multi=True) if isinstance(v, str)])
                response = client.get(f"{urlsplit(form.action).path}?{query}", headers=headers)
            else:
                response = client.post(form.action, data=data, headers=headers,
                                       content_type="multipart/form-data" if form.multipart else None)
            response.get_data()
            response.close()
        except Exception:  # noqa: BLE001  (TESTING propagates the app's exceptions: each is a finding)
            problems.append(f"{context}\n  raised:\n{traceback.format_exc(limit=-8)}")
            return "failed"
        if response.status_code >= 500:
            problems.append(f"{context}\n  answered {response.status_code}")
            return "failed"
        check_markup(response, context, problems)
        check_redirect(response, context, problems)
        after = self.last = snapshot(w.upload_dir)
        refused = response.status_code >= 400 or shows_errors(response)
        for header in ("Location", "HX-Redirect"):
            if response.headers.get(header) and len(problems) == count:
                landing = fetch(client, Source(_relative(response.headers[header])), problems, f"(after {context})")
                refused = refused or (landing is not None and shows_errors(landing))
        changed = changed_tables(before, after)
        if form.method == "get" and changed:
            problems.append(f"{context}\n  a GET form changed {changed}")
        elif refused and changed:
            problems.append(f"{context}\n  refused ({response.status_code}) but stored: {changed}")
        if len(problems) > count:
            return "failed"
        return "refused" if refused else "accepted"
