"""Hypothesis strategies: valid and hostile values for every kind of field, and whole submissions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from io import BytesIO

from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tests.helpers import tiny_png
from tests.fuzz.forms import Field, Form


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
