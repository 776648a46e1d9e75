"""Application factory."""
from __future__ import annotations

import logging

from flask import Flask, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError

from portal.config import INSTANCE_DIR, Config
from portal.extensions import babel, csrf, db, login_manager


log = logging.getLogger(__name__)

AREAS = ("auth", "cases", "desk", "board", "department", "escalation", "admin", "sla", "notify",
         "callbacks", "reports", "register")
# What follows a lifecycle action: each area's subscribers, connected by its `init_app` when the app is built.
SUBSCRIBERS = ("portal.sla.hooks", "portal.callbacks.subscribers", "portal.reports.timing", "portal.reports.monthly",
               "portal.webhooks.events",
               "portal.department.notices")


def select_locale() -> str:
    """The user's explicit choice, else Simplified Chinese (staff PCs often run English systems)."""
    from flask import current_app, has_request_context
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.path.startswith("/api/"):
        # Integrations say what they read in Accept-Language; there is no session.
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        return "en" if best == "en" else current_app.config["BABEL_DEFAULT_LOCALE"]
    choice = session.get("lang")
    if choice in current_app.config["LANGUAGES"]:
        return choice
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    from flask import current_app
    return current_app.config["TIMEZONE"]


def _no_jit(app: Flask) -> None:
    """PostgreSQL: no JIT compilation on the portal's connections (a libpq option of its engine).

    At a million cases the planner's cost estimates of ordinary report and list queries pass
    jit_above_cost, and compiling took longer than running: a callback list of one estate's month ran
    in 54 ms and spent 1,133 ms in JIT (bench/scale.py, docs/benchmarks.md). The portal's queries are
    short index reads and GROUP BYs over a month, which JIT does not pay back."""
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args["options"] = (connect_args.get("options", "") + " -c jit=off").strip()
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def create_app(config: Config | None = None) -> Flask:
    app = Flask(
        __name__, instance_path=str(INSTANCE_DIR),
        template_folder="../templates", static_folder="../static",
    )
    app.config.from_object(config or Config())
    from portal.forms import PortalRequest, PrimaryKeyConverter
    app.request_class = PortalRequest
    app.url_map.converters["int"] = PrimaryKeyConverter  # before any route is added

    _no_jit(app)
    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    _init_login(app)
    from portal.security import init_security
    init_security(app)

    import importlib

    from portal import models  # noqa: F401  (register tables for migrations)
    from portal import stamp  # noqa: F401  (commits that change listed data move the data stamp)
    from portal import search
    search.init_app(app)  # cases written through the ORM keep their search terms
    from portal.extensions import init_read_memo
    init_read_memo()  # what a request reads several times is read once, and again after any write

    for name in SUBSCRIBERS:
        importlib.import_module(name).init_app(app)
    for area in AREAS:
        importlib.import_module(f"portal.{area}.routes")
        app.register_blueprint(importlib.import_module(f"portal.{area}").bp)

    from portal.api.setup import init_api
    init_api(app)

    from portal.templating import init_templating
    init_templating(app)
    _init_errors(app)

    from portal.cli import init_cli
    init_cli(app)

    from portal.ticker import serving, start_background
    if serving():  # gunicorn or `flask run`: never a CLI command, a worker or a test
        start_background(app)
    return app


def _init_login(app: Flask) -> None:
    from portal.models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(user_id: str):
        # "id:session_version": a bumped version (deactivation, role or scope change) ends the session.
        uid, _, version = user_id.partition(":")
        user = db.session.get(User, int(uid)) if uid.isdigit() else None
        if user is None or not user.active or str(user.session_version or 0) != (version or "0"):
            return None
        return user

    from portal.auth.sessions import init_sessions
    init_sessions(app)

    @login_manager.unauthorized_handler
    def unauthorized():
        target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        if request.headers.get("HX-Request") == "true":
            # A login form must never be swapped into a table cell.
            return "", 401, {"HX-Redirect": target}
        return redirect(target)


def _init_errors(app: Flask) -> None:
    def page(code: int, message: str):
        if request.headers.get("HX-Request") == "true":
            return render_template("errors/_message.html", code=code, message=message), code
        return render_template("errors/error.html", code=code, message=message), code

    from flask_babel import gettext as _

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        from flask_login import current_user
        if not current_user.is_authenticated and request.headers.get("HX-Request") == "true":
            # The session behind the token expired: send the browser to the login page.
            return "", 401, {"HX-Redirect": url_for("auth.login")}
        return page(400, _("Your session has expired or the form is stale. Reload the page and try again."))

    @app.errorhandler(403)
    def forbidden(error):
        return page(403, _("You do not have access to this page."))

    @app.errorhandler(404)
    def not_found(error):
        if request.path.startswith("/api/"):
            from portal.api.errors import for_path
            return for_path(error)
        return page(404, _("This page or case does not exist, or is not yours to see."))

    @app.errorhandler(429)
    def too_many(error):
        from portal.auth.routes import refused_page
        refused = refused_page()
        if refused is not None:
            return refused
        return page(429, _("Too many attempts. Wait a few minutes and try again."))

    @app.errorhandler(413)
    def too_large(error):
        return page(413, _("The upload is too large."))

    def unavailable(code: int, title: str, message: str, headers=None):
        """A page that reads nothing from the database (which may be what failed)."""
        try:
            db.session.rollback()
        except Exception:  # the connection itself may be gone
            log.warning("rollback after a failed request did not succeed", exc_info=True)
        if request.headers.get("HX-Request") == "true":
            # htmx leaves the form as it is and shows this message in its error toast.
            return render_template("errors/_message.html", code=code, message=message), code, headers or {}
        return (render_template("errors/unavailable.html", code=code, title=title, message=message),
                code, headers or {})

    @app.errorhandler(DBAPIError)
    def database_down(error):
        log.error("database error: %s", error)
        return unavailable(503, _("Temporarily unavailable"),
                           _("The service is temporarily unavailable. Nothing was saved: try again in a minute."),
                           {"Retry-After": "30"})

    @app.errorhandler(500)
    def server_error(error):
        return unavailable(500, _("Something went wrong"),
                           _("Something went wrong on our side and nothing was saved. Try again; "
                             "if it happens again, tell the customer-service centre."))
