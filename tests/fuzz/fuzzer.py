"""The form fuzzer: discover the forms, submit hypothesis' values as each role, judge every answer.

Forms are discovered from the running app, never listed by hand (tests/fuzz/crawl.py);
tests/test_fuzz_forms.py drives hypothesis over them."""
from __future__ import annotations

import traceback
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from tests.fuzz.world import HOST, ROLES, World
from tests.fuzz.forms import Form, Source, forms_in, parse
from tests.fuzz.crawl import _relative, crawl, fetch
from tests.fuzz.checks import changed_tables, check_markup, check_redirect, shows_errors, snapshot
from tests.fuzz.values import Submission, describe


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
