"""The API against its own OpenAPI document (schemathesis), and the document against its snapshot."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests import factories
from tests.api_helpers import make_key

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


def fresh_contexts(app):
    """Each call in its own app context (a fresh `g` and session), as in production."""
    def wsgi(environ, start_response):
        with app.app_context():
            return list(app(environ, start_response))
    return wsgi


@pytest.fixture
def api_secret(app, people):
    """A key with every permission, and a case it can read and call back."""
    _, secret = make_key([people["ref"]["estate"]], rate=100000)
    case = factories.advance(factories.case(people["resident"]), ["classify", "dispatch", "accept", "complete"], people)
    from portal.extensions import db
    db.session.commit()
    app.config["API_SAMPLE_CASE"] = case.number
    return secret


def test_every_response_matches_the_document(app, api_secret):
    """Every operation, generated from the document: no 500, every status, header and body as documented."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fresh_contexts(app))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            # Schema-valid input may still name an estate or unit the key does not have: a documented 422,
            # so "positive data is accepted" is the one check left out.
            case.call_and_validate(headers={"Authorization": f"Bearer {api_secret}"},
                                   excluded_checks=[positive_data_acceptance])
        check()


def test_the_document_is_the_checked_in_one(client):
    """An unplanned change to the API fails here; a planned one updates tests/snapshots/openapi.json
    (UPDATE_SNAPSHOTS=1 writes it)."""
    import os
    document = client.get("/api/v1/openapi.json").json
    text = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8"), "the OpenAPI document changed: review and update the snapshot"


def test_docs_page_lists_every_operation(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    document = client.get("/api/v1/openapi.json").json
    for path, operations in document["paths"].items():
        for method in operations:
            if method in ("get", "post"):
                assert f"{method.upper()} {path}" in html
