"""The API's views: authenticate the key, check its permission, make one domain call, answer JSON."""
from __future__ import annotations

from functools import wraps

from flask import g, request

from portal import audit
from portal.access import ACCESS_ATTR
from portal.api import bp, keys, service
from portal.api.errors import ApiError, init_errors
from portal.api.schemas import (
    CallbackResultSchema, CallbackSchema, CallerQuerySchema, CallerSchema, CaseSchema, ChangesQuerySchema,
    ChangesSchema, CreatedSchema, ErrorSchema, NewCaseSchema,
)
from portal.extensions import db
from portal.timeutil import utcnow

API_KEY = "api_key"  # the access marker of views authenticated by an integration key
ERRORS = (401, 403, 404, 429)

init_errors(bp)


def key_required(permission: str):
    """Bearer integration key (never the session cookie), within its rate, holding `permission`."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, secret = header.partition(" ")
            key = keys.find(secret.strip()) if scheme.lower() == "bearer" else None
            if key is None:
                raise ApiError(401, "unauthorized", headers={"WWW-Authenticate": 'Bearer realm="portal-api"'})
            g.api_key = key
            count, left = keys.count_call(key)
            db.session.commit()
            limit = keys.limit_of(key)
            if count > limit:
                raise ApiError(429, "rate_limited", headers={"Retry-After": str(left)})
            if permission not in key.allowed:
                raise ApiError(403, "forbidden")
            return view(*args, **kwargs)
        setattr(wrapped, ACCESS_ATTR, API_KEY)
        for status in ERRORS:
            wrapped = bp.alt_response(status, schema=ErrorSchema, description=str(status))(wrapped)
        wrapped = bp.doc(security=[{"integrationKey": []}])(wrapped)
        setattr(wrapped, ACCESS_ATTR, API_KEY)
        return wrapped
    return decorator


@bp.after_request
def audit_call(response):
    """Every call with a known key is audited: key, endpoint, case, status."""
    key = g.get("api_key")
    if key is None:
        return response
    try:
        if response.status_code >= 400:
            db.session.rollback()
        number = g.get("api_case_number") or ""
        audit.record(key.user_id, "api_call", key.id, (request.endpoint or "")[:30], estate_id=g.get("api_estate_id"),
                     summary=f"{request.method} {request.path} → {response.status_code} {number}".strip(),
                     at=utcnow())
        db.session.commit()
    except Exception:  # noqa: BLE001 - the answer stands even if the audit row could not be written
        db.session.rollback()
    return response


def _note_case(case) -> None:
    g.api_case_number, g.api_estate_id = case.number, case.estate_id


@bp.route("/cases", methods=["POST"])
@key_required("cases:create")
@bp.arguments(NewCaseSchema, location="multipart")
@bp.response(201, CreatedSchema)
@bp.alt_response(200, schema=CreatedSchema, description="The case this Idempotency-Key created before.")
@bp.alt_response(409, schema=ErrorSchema, description="A concurrent call with this key has not finished.")
@bp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "required": False,
                     "schema": {"type": "string", "maxLength": 100},
                     "description": "A retry with the same key returns the first call's case."}])
def create_case(data):
    """Create a case (multipart: fields and photos); the resident is found by mobile or unit."""
    idem = (request.headers.get("Idempotency-Key") or "").strip()[:100] or None
    photos = [f for f in data.get("photos", []) if f and f.filename]
    case, replayed = service.create_case(g.api_key, data, photos, idem)
    db.session.commit()
    _note_case(case)
    body = {**service.public_view(case, service.estate_names(g.api_key)), "replayed": replayed}
    return body, 200 if replayed else 201


@bp.route("/cases/changes")
@key_required("cases:read")
@bp.arguments(ChangesQuerySchema, location="query")
@bp.response(200, ChangesSchema)
def changes(args):
    """Cases changed after the cursor, oldest change first (for a sync)."""
    rows, cursor = service.changes(g.api_key, args["cursor"], args["limit"])
    names = service.estate_names(g.api_key)
    return {"items": [service.summary(c, names) for c in rows], "next_cursor": cursor}


@bp.route("/cases/<number>")
@key_required("cases:read")
@bp.response(200, CaseSchema)
def read_case(number: str):
    """A case's public status and timeline, by its number."""
    case = service.case_in_scope(g.api_key, number)
    _note_case(case)
    return service.public_view(case, service.estate_names(g.api_key))


@bp.route("/callers")
@key_required("callers:lookup")
@bp.arguments(CallerQuerySchema, location="query")
@bp.response(200, CallerSchema)
def caller(args):
    """Screen pop: the caller's household, unit, open and recent cases, by mobile."""
    return service.caller(g.api_key, args["mobile"])


@bp.route("/cases/<number>/callbacks", methods=["POST"])
@key_required("callbacks:record")
@bp.arguments(CallbackSchema, location="json")
@bp.response(201, CallbackResultSchema)
@bp.alt_response(409, schema=ErrorSchema, description="No callback due, or one a manager must make.")
def record_callback(data, number: str):
    """Record a callback made by an outbound-call system on the case's due callback."""
    case = service.case_in_scope(g.api_key, number)
    _note_case(case)
    outcome, case = service.callback(g.api_key, case, data)
    db.session.commit()
    return {"outcome": outcome, "case": service.summary(case, service.estate_names(g.api_key))}
