"""API errors: JSON with a stable code and a message in the request's language (Accept-Language)."""
from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

MESSAGES = {
    "unauthorized": _l("Send a valid integration key: Authorization: Bearer <key>."),
    "forbidden": _l("This integration key does not have the permission for this call."),
    "not_found": _l("Not found, or outside the estates of this integration key."),
    "validation_error": _l("Some fields are missing or not valid."),
    "rate_limited": _l("Too many calls for this integration key; wait and try again."),
    "idempotency_conflict": _l("This Idempotency-Key was used for a different request."),
    "conflict": _l("The case cannot do this in its present state."),
    "no_callback_due": _l("No callback is due on this case."),
    "method_not_allowed": _l("This method is not allowed here."),
    "too_large": _l("The request is too large."),
    "bad_request": _l("The request could not be read."),
    "unavailable": _l("The service is temporarily unavailable; nothing was saved. Try again."),
    "server_error": _l("Something went wrong on our side and nothing was saved. Try again."),
}
# Messages for a field: marshmallow's English ones are replaced by these, so both languages read alike.
FIELD_MESSAGES = {
    "Missing data for required field.": _l("This field is required."),
    "Unknown field.": _l("This field is not part of the request."),
    "Field may not be null.": _l("This field is required."),
}
BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
             409: "conflict", 413: "too_large", 422: "validation_error", 429: "rate_limited", 503: "unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message=None, fields: dict | None = None,
                 headers: dict | None = None):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message
        self.fields, self.headers = fields or {}, headers or {}


def field_messages(messages) -> dict[str, str]:
    """{'mobile': '...'}: webargs nests marshmallow's messages by location; flatten to field → one message
    in the request's language (marshmallow's English texts are replaced)."""
    flat: dict[str, str] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                top = prefix in ("", "json", "multipart", "query", "querystring", "headers", "files", "form")
                walk(str(key) if top else f"{prefix}.{key}", inner)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            flat[prefix] = str(FIELD_MESSAGES.get(value[0], _l("This value is not valid.")))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(prefix, item)
        else:
            flat[prefix] = str(_l("This value is not valid."))
    walk("", messages)
    return flat


def response(status: int, code: str, message=None, fields: dict | None = None, headers: dict | None = None):
    body = {"code": code, "message": str(message or MESSAGES.get(code) or _("Error."))}
    if fields:
        body["fields"] = {name: str(text) for name, text in fields.items()}
    resp = jsonify(body)
    resp.status_code = status
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def init_errors(bp) -> None:
    @bp.errorhandler(ApiError)
    def api_error(error: ApiError):
        return response(error.status, error.code, error.message, error.fields, error.headers)

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = BY_STATUS.get(error.code or 500, "server_error")
        return response(error.code or 500, code)


def for_path(error: HTTPException):
    """The app-level handlers' answer for a URL under /api/ that matched no view (404, 405)."""
    return response(error.code, BY_STATUS.get(error.code, "server_error"))
