"""What every response must satisfy: no unescaped markup, no redirect off the site, errors shown,
and a snapshot of the database and uploads to prove a refused form stored nothing."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from portal.extensions import db
from tests.fuzz.world import HOST


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
