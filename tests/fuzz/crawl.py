"""The crawler: each role follows the pages it can reach (navigation, argument-free GET routes, the
seeded records, the htmx partials they load) and collects the forms found."""
from __future__ import annotations

import traceback
from collections import Counter
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from tests.fuzz.world import HOST, LINKED_PER_ROUTE, PAGE_BUDGET, QUERY_VARIANTS, World
from tests.fuzz.forms import Form, Source, _fields, _target_of, forms_in, parse
from tests.fuzz.checks import check_markup


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
