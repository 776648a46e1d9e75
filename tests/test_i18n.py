"""Translation catalogues: complete, compiled, placeholder-safe and actually served.

If a test here fails after you added or changed a UI string, run

    scripts/i18n            # re-extract, update the catalogues, compile

then translate the new msgids in translations/zh_Hans_CN/LC_MESSAGES/messages.po
and run `scripts/i18n compile` again (the .mo files are committed).
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.checkers import python_format
from babel.messages.catalog import TranslationError
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LOCALES = ("zh_Hans_CN", "en")
ZH = "zh_Hans_CN"

# %(name)s-style and positional %-placeholders, and the escaped percent sign.
PLACEHOLDER = re.compile(
    r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _mo_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"


def _read_po(locale: str):
    with _po_path(locale).open("rb") as f:
        return read_po(f, locale=locale)


def _key(message) -> tuple:
    return (message.context, message.id)


def _pybabel() -> str:
    """The pybabel of the interpreter running the tests (the project venv)."""
    candidate = Path(sys.executable).with_name("pybabel")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("pybabel")
    if not found:
        pytest.fail("pybabel not found; install Babel into the venv")
    return found


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Extract msgids from the current source exactly as scripts/i18n does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    result = subprocess.run(
        [_pybabel(), "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
         "-o", str(pot), "."],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    with pot.open("rb") as f:
        catalog = read_po(f)
    messages = [m for m in catalog if m.id]
    assert len(messages) > 50, "extraction found suspiciously few msgids; check babel.cfg"
    return messages


def test_catalogues_live_where_flask_babel_looks():
    # Flask-Babel resolves the default locale zh_Hans_CN to this exact folder;
    # a zh_CN folder would be silently ignored.
    for locale in LOCALES:
        assert _po_path(locale).is_file(), f"{_po_path(locale)} is missing"
        assert _mo_path(locale).is_file(), f"{_mo_path(locale)} is missing; run scripts/i18n compile"
    assert not (TRANSLATIONS / "zh_CN").exists()
    assert not (TRANSLATIONS / "zh").exists()


def test_every_ui_string_has_a_chinese_translation(extracted):
    catalog = _read_po(ZH)
    missing, fuzzy = [], []
    for message in extracted:
        entry = catalog.get(message.id, context=message.context)
        strings = entry.string if entry is not None else None
        if isinstance(strings, tuple):
            empty = not all(strings)
        else:
            empty = not strings
        if entry is None or empty:
            missing.append(message.id)
        elif entry.fuzzy:
            fuzzy.append(message.id)
    assert not missing, (
        f"{len(missing)} msgid(s) lack a zh_Hans_CN translation (run scripts/i18n, translate, "
        "compile):\n" + "\n".join(repr(m) for m in missing)
    )
    assert not fuzzy, "fuzzy zh_Hans_CN translations need review:\n" + "\n".join(repr(m) for m in fuzzy)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_contains_every_extracted_msgid(locale, extracted):
    """The .po was updated from the current source (no msgid missing from it)."""
    catalog = _read_po(locale)
    absent = [m.id for m in extracted if catalog.get(m.id, context=m.context) is None]
    assert not absent, f"{locale} catalogue lacks msgids; run scripts/i18n:\n" + "\n".join(map(repr, absent))


@pytest.mark.parametrize("locale", LOCALES)
def test_committed_mo_matches_po(locale):
    catalog = _read_po(locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    fresh = read_mo(buffer)
    with _mo_path(locale).open("rb") as f:
        committed = read_mo(f)

    def messages(cat) -> dict:
        return {_key(m): m.string for m in cat if m.id}

    expected, actual = messages(fresh), messages(committed)
    stale = sorted(
        (repr(key[1]) for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key)),
    )
    assert not stale, (
        f"{_mo_path(locale)} is out of date with the .po (run scripts/i18n compile):\n" + "\n".join(stale)
    )


def _placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale):
    catalog = _read_po(locale)
    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            if string and _placeholders(string) != _placeholders(ids[0]) and (
                len(ids) == 1 or _placeholders(string) != _placeholders(ids[-1])
            ):
                problems.append(f"{message.id!r} -> {string!r}")
        if message.python_format and "python-format" not in message.flags:
            problems.append(f"{message.id!r} has placeholders but no python-format flag")
        if "python-format" in message.flags:
            try:
                python_format(catalog, message)
            except TranslationError as error:
                problems.append(f"{message.id!r}: {error}")
    assert not problems, "placeholder mismatches:\n" + "\n".join(problems)


def _login_html(client, **headers) -> str:
    """GET /login (each test request runs in its own app context, see conftest)."""
    return client.get("/login", headers=headers).get_data(as_text=True)


def test_login_page_is_chinese_by_default(client):
    html = _login_html(client)
    assert "登录" in html
    assert 'lang="zh-CN"' in html
    assert "Log in" not in html


def test_language_switch_to_english(client):
    token = csrf_token(client)
    response = client.post("/lang/en", data={"csrf_token": token})
    assert response.status_code == 302
    html = _login_html(client)
    assert "Log in" in html
    assert "登录" not in html
    assert 'lang="en"' in html

    # ... and back to Chinese.
    client.post("/lang/zh_Hans_CN", data={"csrf_token": csrf_token(client)})
    assert "登录" in _login_html(client)


def test_language_switch_needs_the_csrf_token(client):
    response = client.post("/lang/en", data={})
    assert response.status_code == 400
    assert "登录" in _login_html(client)


def test_browser_language_alone_keeps_chinese(client):
    # portal.select_locale deliberately ignores Accept-Language: staff PCs often
    # run English systems, so only the explicit switch (POST /lang/en) gives English.
    html = _login_html(client, **{"Accept-Language": "en"})
    assert "登录" in html
    assert 'lang="zh-CN"' in html


def test_session_choice_beats_browser_language(client):
    client.post("/lang/zh_Hans_CN", data={"csrf_token": csrf_token(client)})
    html = _login_html(client, **{"Accept-Language": "en-US,en;q=0.9"})
    assert "登录" in html


def test_residents_are_one_word_and_the_incident_callback_names_its_reason():
    """Issue 16: residents are 住户 everywhere; 业主 only where the owner of a unit is meant."""
    for message in _read_po("zh_Hans_CN"):
        text = message.string if isinstance(message.string, str) else " ".join(message.string)
        source = message.id if isinstance(message.id, str) else " ".join(message.id)
        if message.id and "业主" in text:
            assert "owner" in source.lower() or "业主" in source, f"{source!r} -> {text!r}"
    kinds = {m.id: m.string for m in _read_po("zh_Hans_CN")}
    assert kinds["After an urgent repair at home"] == "户内紧急维修后回访"
    assert kinds["Resident"] == "住户"
