"""A server error or a database outage answers a page in the reader's language, never Werkzeug's."""
from sqlalchemy.exc import OperationalError

from tests.conftest import login_as, post


def _break(app, endpoint, exc):
    def boom(*args, **kwargs):
        raise exc
    original = app.view_functions[endpoint]
    app.view_functions[endpoint] = boom
    return original


def test_database_outage_is_a_503_page_in_chinese(app, client, people):
    login_as(client, people["clerk"])
    _break(app, "board.board", OperationalError("SELECT 1", {}, Exception("connection refused")))
    response = client.get("/board")
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "服务暂时不可用" in html and "Internal Server Error" not in html


def test_database_outage_in_english(app, client, people):
    login_as(client, people["clerk"])
    post(client, "/lang/en", data={"next": "/"})
    _break(app, "board.board", OperationalError("SELECT 1", {}, Exception("connection refused")))
    html = client.get("/board").get_data(as_text=True)
    assert "temporarily unavailable" in html


def test_htmx_request_gets_the_message_for_the_toast(app, client, people):
    login_as(client, people["clerk"])
    _break(app, "board.board", OperationalError("SELECT 1", {}, Exception("connection refused")))
    response = client.get("/board", headers={"HX-Request": "true", "HX-Target": "case-table"})
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "<html" not in html and 'class="error-message"' in html


def test_unexpected_error_is_a_500_page(app, client, people):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login_as(client, people["clerk"])
    _break(app, "board.board", RuntimeError("bug"))
    response = client.get("/board")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "出错" in html and "Internal Server Error" not in html
