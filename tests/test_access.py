"""Who may open what: a matrix generated from every route in the app."""
from __future__ import annotations

import io
import zipfile
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.access import ACCESS_ATTR
from portal import config as portal_config
from portal.extensions import db
from portal.models import CaseEvent, Role
from portal.security import limiter
from tests import factories
from tests.access_world import make_dataset, reads_world, url_args  # noqa: F401  (reads_world: a fixture)
from tests.conftest import csrf_token, login_as, post

# Who asks. "stranger" is a resident asking about another resident's case,
# "eng" a department asking about a case dispatched to security. The case is in the
# estate 测试花园: clerk, eng, sec and manager_here work there (manager is the company's);
# the *_other askers work only for the second estate 清风苑 (sec_other in the very
# department the case is dispatched to).
ASKERS = {
    "anonymous": None,
    "anonymous_htmx": None,
    "stranger": Role.RESIDENT,
    "owner": Role.RESIDENT,
    "clerk": Role.CLERK,
    "manager": Role.MANAGER,
    "manager_here": Role.MANAGER,
    "eng": Role.DEPARTMENT,
    "sec": Role.DEPARTMENT,
    "clerk_other": Role.CLERK,
    "manager_other": Role.MANAGER,
    "sec_other": Role.DEPARTMENT,
}
PEOPLE_KEY = {"stranger": "resident", "owner": "other_resident", "clerk": "clerk", "manager": "manager",
              "eng": "eng", "sec": "sec"}
ELSEWHERE_KEY = {"manager_here": "manager_here", "clerk_other": "clerk", "manager_other": "manager",
                 "sec_other": "sec"}
OTHER_ESTATE = ("clerk_other", "manager_other", "sec_other")
# Nobody here may change the dataset case, whatever they send.
OUTSIDERS = ("anonymous", "anonymous_htmx", "stranger", "eng", *OTHER_ESTATE)
# URL arguments that point at one case; a stranger must not learn it exists.
CASE_ARGS = {"case_id", "attachment_id", "task_id"}
# URL arguments that point at a row of one estate (the case's): staff of another estate get 404.
ESTATE_ARGS = CASE_ARGS | {"alert_id", "run_id", "action_id", "notification_id",
                           # the administration screens' rows of the reference estate
                           "estate_id", "building_id", "unit_id", "resident_id", "residency_id", "account_id",
                           "department_id", "claim_id", "key_id", "hook_id", "delivery_id"}
# Company-level acts: a callback plan covers every estate, so estate managers may not publish one.
COMPANY_ONLY = {"callbacks.publish"}
# URL arguments naming a company row (the dataset's phrase is a company default): estate managers get 404.
COMPANY_ROWS = {"phrase_id"}


def _routes():
    """(rule, endpoint, method, arguments) for every route, built once at collection."""
    app = create_app(portal_config.TestConfig())
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        routes.append((rule.rule, rule.endpoint, method, frozenset(rule.arguments)))
    return sorted(routes)


ROUTES = _routes()


@pytest.fixture
def dataset(app, people, elsewhere):
    """other_resident's complaint, dispatched to security, with a stored photo; and one phrase (tests/access_world.py)."""
    return make_dataset(app, people, elsewhere)


def _state(case) -> tuple:
    db.session.expire_all()
    events = db.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
    return case.status, case.department_id, events


def form_data(case, name: str, **fields) -> dict:
    """A valid submission of action `name`, so only access control can stop it."""
    data = {f"{name}-version": str(case.version_id)}
    data.update({f"{name}-{k}": v for k, v in fields.items()})
    return data


def listed(html: str, case) -> bool:
    """Whether a case list shows this case as a row (the search box may echo its number)."""
    return f'id="row-{case.id}"' in html or f'href="/cases/{case.id}"' in html


def _request(client, method: str, url: str, htmx: bool, data: dict):
    headers = {"HX-Request": "true"} if htmx else {}
    if method == "GET":
        response = client.get(url, headers=headers)
    else:
        headers["X-CSRFToken"] = csrf_token(client)
        response = client.open(url, method=method, data=data, headers=headers)
    response.get_data()  # read and release streamed files
    response.close()
    return response


def _body(response) -> bytes:
    """The response's bytes; a workbook's unzipped sheets and shared strings."""
    data = response.get_data()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return b"".join(book.read(name) for name in book.namelist())
    return data


def test_every_route_has_an_explicit_access_rule(app):
    """A route added without @public or @role_required fails here."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        marker = getattr(app.view_functions[rule.endpoint], ACCESS_ATTR, None)
        ok = marker in ("public", "api_key") or (isinstance(marker, frozenset) and marker
                                    and all(isinstance(r, Role) for r in marker))
        if not ok:
            missing.append(f"{rule.rule} ({rule.endpoint}): {marker!r}")
    assert not missing, "routes without an access rule:\n" + "\n".join(missing)


def test_matrix_covers_the_routes_that_matter():
    """Guards the generator itself: if it found nothing, the matrix would pass vacuously."""
    endpoints = {endpoint for _, endpoint, _, _ in ROUTES}
    assert {"cases.detail", "cases.act", "cases.attachment", "cases.receipt", "board.board"} <= endpoints


WRITES = [r for r in ROUTES if r[2] != "GET"]
READS = [r for r in ROUTES if r[2] == "GET"]


@pytest.mark.parametrize("asker", list(ASKERS))
@pytest.mark.parametrize("rule,endpoint,method,arguments", WRITES, ids=[f"{m} {r}" for r, _, m, _ in WRITES])
def test_access_matrix(app, client, people, elsewhere, dataset, rule, endpoint, method, arguments, asker):
    """Every route that is not a GET, every asker, a fresh dataset each (a write may change it)."""
    check_access(app, client, people, elsewhere, dataset, endpoint, method, arguments, asker)


@pytest.mark.parametrize("asker", list(ASKERS))
@pytest.mark.parametrize("rule,endpoint,method,arguments", READS, ids=[f"{m} {r}" for r, _, m, _ in READS])
def test_access_matrix_reads(reads_world, rule, endpoint, method, arguments, asker):
    """Every GET route, every asker, on one dataset per test process (tests/access_world.py): a read
    changes nothing the matrix checks, and check_access asserts that for every outsider."""
    app, people, elsewhere, dataset = reads_world
    limiter.reset()  # the login limits count per account: this app sees ~74 logins of each
    check_access(app, app.test_client(), people, elsewhere, dataset, endpoint, method, arguments, asker)


def check_access(app, client, people, elsewhere, dataset, endpoint, method, arguments, asker):
    """Anonymous → login; wrong role → 403; not your case (or not your estate's) → 404; allowed → 200/302;
    staff of another estate never see the case's number anywhere."""
    from flask import url_for
    with app.test_request_context():
        url = url_for(endpoint, **url_args(arguments, dataset))
    marker = getattr(app.view_functions[endpoint], ACCESS_ATTR)
    case = dataset["case"]
    before = _state(case)
    if ASKERS[asker] is not None:
        login_as(client, people[PEOPLE_KEY[asker]] if asker in PEOPLE_KEY else elsewhere[ELSEWHERE_KEY[asker]])

    data = {**form_data(case, "comment", note="越权测试"), "note": "越权测试"}
    response = _request(client, method, url, htmx=asker == "anonymous_htmx", data=data)
    status = response.status_code
    assert status < 500, response.get_data(as_text=True)

    if marker == "public":
        staff = ASKERS[asker] not in (None, Role.RESIDENT)
        if endpoint == "callbacks.signed_survey" and staff:
            assert status == 403, "a signed-in member of staff opened the resident's survey"
        else:
            assert status in (200, 302)
        assert _state(case) == before
        return
    if marker == "api_key":  # the integration API: a session is never a key (tests/test_api.py has the keys)
        assert status == 401 and response.is_json and response.json["code"] == "unauthorized"
        assert _state(case) == before
        return

    role = ASKERS[asker]
    touches_case = bool(arguments & CASE_ARGS)
    if asker == "anonymous":
        assert status == 302 and urlsplit(response.location).path == "/login"
    elif asker == "anonymous_htmx":
        assert status == 401
        assert urlsplit(response.headers["HX-Redirect"]).path == "/login"
        assert "<form" not in response.get_data(as_text=True)
    elif role not in marker:
        assert status == 403
    elif touches_case and asker in ("stranger", "eng"):
        assert status == 404
    elif arguments & ESTATE_ARGS and asker in OTHER_ESTATE:
        assert status == 404, "staff of another estate reached a row of this one"
    elif endpoint in COMPANY_ONLY and asker in ("manager_here", "manager_other"):
        assert status == 403
    elif arguments & COMPANY_ROWS and asker in ("manager_here", "manager_other"):
        assert status == 404, "an estate manager changed a company default"
    elif endpoint == "notify.open_notification" and asker != "owner":
        assert status == 404  # someone else's notification
    elif endpoint == "board.delete_board_view" and asker != "clerk":
        assert status == 404  # someone else's saved view
    elif method == "GET":
        assert status in (200, 302)
    else:
        assert status not in (401, 403, 404)

    if asker in OUTSIDERS:
        assert _state(case) == before, "someone with no business on the case changed it"
    if asker in OTHER_ESTATE:
        assert case.number.encode() not in _body(response), "another estate's case was shown"


@pytest.mark.parametrize("who", ["resident", "eng"])
def test_outsider_cannot_comment_on_a_case_they_may_not_see(client, people, dataset, who):
    case = dataset["case"]
    before = _state(case)
    login_as(client, people[who])
    response = post(client, f"/cases/{case.id}/act/comment", form_data(case, "comment", note="我来插一句"))
    assert response.status_code == 404
    assert _state(case) == before


@pytest.mark.parametrize("who", ["resident", "eng"])
def test_outsider_cannot_dispatch_or_reject_another_case_via_htmx(client, people, dataset, who):
    case = dataset["case"]
    before = _state(case)
    login_as(client, people[who])
    for name, fields in (("reject", {"note": "不满意"}), ("accept", {}), ("close", {})):
        response = post(client, f"/cases/{case.id}/act/{name}", form_data(case, name, **fields),
                        htmx_target="case-body")
        assert response.status_code == 404, name
    assert _state(case) == before


def test_owner_and_assigned_department_can_comment(client, people, dataset):
    """The positive side of the refusals above: the same request works for those entitled."""
    case = dataset["case"]
    _, _, events = _state(case)
    login_as(client, people["sec"])
    assert post(client, f"/cases/{case.id}/act/comment", form_data(case, "comment", note="已到现场")).status_code == 302
    assert _state(case)[2] == events + 1


def test_resident_list_shows_own_cases_but_not_another_residents(client, people, dataset):
    mine = factories.case(people["resident"], description="我的投诉")
    db.session.commit()
    login_as(client, people["resident"])
    html = client.get("/my/cases").get_data(as_text=True)
    assert mine.number in html and listed(html, mine)
    assert dataset["case"].number not in html


def test_department_queue_shows_own_department_but_not_another(client, people, dataset):
    ours = factories.advance(factories.case(people["resident"], description="水管漏水"),
                             ["classify", "dispatch"], people)  # dispatched to engineering
    db.session.commit()
    login_as(client, people["eng"])
    html = client.get("/dept").get_data(as_text=True)
    assert ours.number in html and listed(html, ours)
    assert dataset["case"].number not in html


def test_department_queue_search_does_not_reach_another_department(client, people, dataset):
    ours = factories.advance(factories.case(people["resident"]), ["classify", "dispatch"], people)
    db.session.commit()
    login_as(client, people["eng"])
    html = client.get("/dept", query_string={"q": ours.number}).get_data(as_text=True)
    assert listed(html, ours)
    html = client.get("/dept", query_string={"q": dataset["case"].number}).get_data(as_text=True)
    assert not listed(html, dataset["case"])


def test_resident_list_search_does_not_reach_another_resident(client, people, dataset):
    mine = factories.case(people["resident"], description="我的投诉")
    db.session.commit()
    login_as(client, people["resident"])
    html = client.get("/my/cases", query_string={"q": mine.number}).get_data(as_text=True)
    assert listed(html, mine)
    html = client.get("/my/cases", query_string={"q": dataset["case"].number}).get_data(as_text=True)
    assert not listed(html, dataset["case"])


def test_assigning_from_the_queue_row_is_the_head_of_that_department_s_for_its_own_staff(client, app, people,
                                                                                         elsewhere, dataset):
    """Issue 15: the row's "assign" reaches only the head of the case's department in the case's estate,
    and offers (and accepts) only that department's staff who work for the estate."""
    case = dataset["case"]  # dispatched to security in 测试花园
    guard = factories.user(Role.DEPARTMENT, department=people["ref"]["sec"], estates=[people["ref"]["estate"]])
    for head in (people["sec"], people["eng"], elsewhere["sec"]):
        head.department_head = True
    db.session.commit()
    before = _state(case)
    row = f"row-{case.id}"
    for outsider in (people["eng"], elsewhere["sec"]):  # another department; the same one of another estate
        login_as(client, outsider)
        assert client.get(f"/board/rows/{case.id}/actions").status_code == 404
        response = post(client, f"/cases/{case.id}/act/assign", form_data(case, "assign", assignee_id=guard.id),
                        htmx_target=row)
        assert response.status_code == 404
        assert _state(case) == before
    login_as(client, people["sec"])
    menu = client.get(f"/board/rows/{case.id}/actions").get_data(as_text=True)
    assert f'value="{guard.id}"' in menu and f'value="{elsewhere["sec"].id}"' not in menu
    response = post(client, f"/cases/{case.id}/act/assign",
                    form_data(case, "assign", assignee_id=elsewhere["sec"].id), htmx_target=row)
    assert response.status_code == 200 and _state(case) == before  # refused beside the field
    no_token = client.post(f"/cases/{case.id}/act/assign", data=form_data(case, "assign", assignee_id=guard.id),
                           headers={"HX-Request": "true", "HX-Target": row})
    assert no_token.status_code == 400 and _state(case) == before  # CSRF
    response = post(client, f"/cases/{case.id}/act/assign", form_data(case, "assign", assignee_id=guard.id),
                    htmx_target=row)
    assert response.status_code == 200 and f'id="{row}"' in response.get_data(as_text=True)
    db.session.refresh(case)
    assert case.assignee_id == guard.id
