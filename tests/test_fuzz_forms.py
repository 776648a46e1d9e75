"""Property-based fuzzing of every form: arbitrary text, numbers, unicode and markup, per role.

For each role the crawler (tests/fuzz/) finds the forms the app offers; hypothesis
then fills each one with plausible values and a drawn set of hostile ones, keeping the CSRF
token valid. Every submission must answer without a 500, never echo markup unescaped (nor on
the page it redirects to, nor on the page that shows the stored data), never redirect off the
site, and a refused one must leave every table and the upload folder exactly as they were.
A last crawl as every role checks that what was stored displays safely everywhere.

`test_every_post_route_is_fuzzed_or_excluded` keeps the fuzzer from shrinking silently:
a POST route that no crawled page offers as a form must be listed in EXCLUDED with a reason.
"""
from __future__ import annotations

import os
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from portal.cases.forms import ACTION_FORMS
from portal.cases.lifecycle import ACTIONS
from portal.escalation.routes import CASE_ACTIONS
from tests.fuzz.checks import changed_tables, snapshot
from tests.fuzz.crawl import crawl
from tests.fuzz.fuzzer import Fuzzer, discover
from tests.fuzz.values import submissions
from tests.fuzz.world import ROLES, world

# Once per scripts/test run: on the PostgreSQL pass, whose column lengths and NUL-byte refusal find more.
pytestmark = pytest.mark.postgres_pass

# POST routes that are not fuzzed, each with the reason.
EXCLUDED = {
    # No input besides the token, and it would end the session the fuzzer is using.
    # tests/test_csrf.py checks its token like every POST route's.
    "auth.logout": "ends the fuzzing client's session; takes no input",
    # Offered only on the preview of a valid register upload, which no crawl reaches; its only input
    # is the preview token. tests/test_register_import.py posts forged, expired and foreign tokens.
    "register.confirm": "offered only after a valid upload; tests/test_register_import.py forges its token",
    # "Sign out everywhere": the same, for every session of the account; tests/test_sessions.py covers it.
    "auth.end_sessions": "ends every session of the fuzzing account; takes no input",
    # Offered only to a manager half-way through a two-step sign-in, or with two-step sign-in on;
    # tests/test_two_factor.py covers both.
    "auth.second_factor": "only after a password of a manager with two-step sign-in",
    "auth.two_factor_off": "only offered when two-step sign-in is on",
    # The JSON API is not a form: schemathesis fuzzes it from its OpenAPI document (tests/test_api_schema.py).
    "api.create_case": "JSON API; tests/test_api_schema.py fuzzes it from the OpenAPI document",
    "api.record_callback": "JSON API; tests/test_api_schema.py fuzzes it from the OpenAPI document",
    # Offered only beside an issued key, a webhook subscription or a logged delivery, which the crawl's
    # demo company has none of; they take no input but the row. tests/test_api.py and test_webhooks.py post them.
    "integrations.revoke_key": "offered only beside an issued key; tests/test_api.py covers it",
    "integrations.toggle_hook": "offered only beside a subscription; tests/test_webhooks.py covers it",
    "integrations.resend": "offered only beside a logged delivery; tests/test_webhooks.py covers it",
    "auth.reset_password": "needs a one-time token from an e-mail or a manager; tests/test_passwords.py covers it",
    # Offered (as the formaction of "add to this case") only after a registration found an open duplicate;
    # tests/test_desk_register.py posts it, bad input included.
    "desk.append": "offered only beside a found duplicate; tests/test_desk_register.py covers it",
    # Offered only beside a view the user saved; tests/test_board_views.py covers it.
    "board.delete_board_view": "offered only once a view is saved; tests/test_board_views.py covers it",
}

SHARDS = 2  # the forms split over two tests, so two workers share them
# A longer hunt: FUZZ_EXAMPLES=200 FUZZ_RANDOM=1 (a new random run each time) with -s to see the counts.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))  # per POST form
GET_EXAMPLES = max(1, EXAMPLES * 2 // 5)  # per filter form (GET): no 500, nothing unescaped, nothing changed

SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, database=None, print_blob=False,
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",  # the same examples on every run and in CI
    phases=[Phase.explicit, Phase.generate],  # the world changes between runs: shrinking would be flaky
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def fuzz(fuzzer: Fuzzer, form) -> None:
    """Hypothesis over one form; findings are collected, not raised, so every form gets its turn."""
    @settings(SETTINGS, max_examples=GET_EXAMPLES if form.method == "get" else EXAMPLES)
    @given(st.data())
    def run(data):
        submission = data.draw(submissions(form), label="submission")
        fuzzer.submit(fuzzer.form(form), submission)

    run()


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_form_survives_arbitrary_input(shard, database_url, tmp_path):
    started = time.monotonic()
    with world(database_url, tmp_path) as w:
        forms, problems = discover(w, excluded=EXCLUDED)
        fuzzer = Fuzzer(w, problems)
        mine = forms[shard::SHARDS]
        for form in mine:
            began = time.monotonic()
            fuzz(fuzzer, form)
            fuzzer.stats[(form.label, "seconds")] = time.monotonic() - began
        before = snapshot(w.upload_dir)
        for role in ROLES:  # what was stored must display safely to everyone
            problems += crawl(w, role, with_forms=False).problems
        changed = changed_tables(before, snapshot(w.upload_dir))
        if changed:  # the fuzzer counts on pages changing nothing
            problems.append(f"merely opening pages changed {changed}")
    stats = fuzzer.stats
    per_role = Counter(f.role for f in mine)
    print(f"\nshard {shard}: {len(mine)} forms {dict(per_role)}, {stats['accepted']} accepted, "
          f"{stats['refused']} refused, {stats['failed']} failed, {time.monotonic() - started:.1f}s")
    for form in mine:
        print(f"  {stats[(form.label, 'accepted')]:3d} ok {stats[(form.label, 'refused')]:3d} refused "
              f"{stats[(form.label, 'seconds')]:5.1f}s  {form.label}")
    assert not problems, f"{len(problems)} finding(s):\n\n" + "\n\n".join(problems[:15])
    assert stats["accepted"] > 0, "no submission was ever accepted: the strategies only exercise refusals"


def test_every_post_route_is_fuzzed_or_excluded(database_url, tmp_path):
    """A new POST route fails here until a page offers it as a form (or it is excluded with a reason)."""
    with world(database_url, tmp_path) as w:
        forms, _ = discover(w)
        routes = {r.endpoint for r in w.app.url_map.iter_rules() if "POST" in r.methods}
    posted = {f.endpoint for f in forms if f.method == "post"}
    assert "?" not in posted, [f.label for f in forms if f.endpoint == "?"]  # a form posting nowhere
    assert {f.role for f in forms if f.method == "post"} == set(ROLES)
    assert routes - posted - EXCLUDED.keys() == set(), "POST routes no crawled page offers as a form"
    assert EXCLUDED.keys() <= routes, "excluded routes that no longer exist"
    offered = {name for name, a in ACTIONS.items() if a.offered and name in ACTION_FORMS}
    acted = {f.view_args.get("name") for f in forms if f.endpoint == "cases.act"}
    assert offered - acted == set(), "case actions whose form the crawl never met"
    escalation = {f.view_args.get("action") for f in forms if f.endpoint == "escalation.act"}
    assert escalation == set(CASE_ACTIONS), "escalation actions whose form the crawl never met"
