"""Binding the API to the app: the OpenAPI document, the docs page, CSRF exemption, access markers."""
from __future__ import annotations

from flask import Flask, render_template

from portal.access import ACCESS_ATTR, public
from portal.api import bp
from portal.api.blueprint import PortalApi
from portal.extensions import csrf

VERSION = "1.0.0"


def init_api(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "物业投诉与回访 portal API")
    app.config.setdefault("API_VERSION", VERSION)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    from portal.api import routes  # noqa: F401  (the views)
    api = PortalApi(app, spec_kwargs={"info": {"description": (
        "Authenticate every call with an integration key: `Authorization: Bearer <key>`. Errors are JSON "
        "`{code, message, fields}`, the message in the Accept-Language of the request (zh-CN or en).")}})
    api.spec.components.security_scheme("integrationKey", {"type": "http", "scheme": "bearer"})
    csrf.exempt(bp)
    api.register_blueprint(bp)
    app.extensions["portal-api"] = api
    from portal.api.manage import bp as manage_bp
    app.register_blueprint(manage_bp)
    from portal.api.cli import init_cli
    init_cli(app)
    serve_json = app.view_functions["api-docs.openapi_json"]  # a bound method: wrap it to mark it

    @public
    def openapi_json():
        """The OpenAPI 3 document."""
        return serve_json()
    app.view_functions["api-docs.openapi_json"] = openapi_json

    @app.route("/api/v1/docs", endpoint="api_docs")
    @public
    def docs():
        """The API reference, rendered from the same OpenAPI document (no scripts from elsewhere)."""
        return render_template("api/docs.html", spec=api.spec.to_dict())

    @app.errorhandler(405)
    def method_not_allowed(error):
        from flask import request
        if request.path.startswith("/api/"):
            from portal.api.errors import for_path
            return for_path(error)
        return error

    assert getattr(app.view_functions["api-docs.openapi_json"], ACCESS_ATTR) == "public"
