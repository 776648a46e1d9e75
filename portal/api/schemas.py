"""The API's request and response shapes: the OpenAPI document and the validation both come from here."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from portal.models import Channel, Kind, Method, Satisfaction, Status

_values = [c.value for c in Channel]


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "A stable code, e.g. validation_error."})
    message = fields.String(required=True, metadata={"description": "In the request's language (Accept-Language)."})
    fields = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "Validation errors: field name → message."})


class NewCaseSchema(Schema):
    mobile = fields.String(validate=validate.Length(max=30), metadata={
        "description": "The caller's mobile: finds the resident and their unit."})
    unit = fields.String(validate=validate.Length(max=60), metadata={
        "description": "BUILDING-UNIT such as 3栋-1201, when the caller is not known by number."})
    estate = fields.String(validate=validate.Length(max=100), metadata={
        "description": "The estate's name; needed when the key has several estates and no unit says which."})
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in Kind]))
    channel = fields.String(load_default=Channel.PHONE.value, validate=validate.OneOf(_values))
    category = fields.String(validate=validate.Length(max=30), metadata={"description": "A category code."})
    description = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    location = fields.String(load_default="", validate=validate.Length(max=200))
    contact_name = fields.String(load_default="", validate=validate.Length(max=50))
    photos = fields.List(Upload(), metadata={"description": "JPEG, PNG, GIF or WebP pictures."})


class EventSchema(Schema):
    at = fields.DateTime(required=True)
    action = fields.String(required=True)
    label = fields.String(required=True)
    status = fields.String(allow_none=True, metadata={"description": "The status after the event, if it changed."})
    note = fields.String(required=True)


class CaseSummarySchema(Schema):
    number = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in Kind]))
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in Status]))
    status_label = fields.String(required=True)
    estate = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    received_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CaseSchema(CaseSummarySchema):
    channel = fields.String(required=True)
    place = fields.String(required=True)
    description = fields.String(required=True)
    timeline = fields.List(fields.Nested(EventSchema), required=True,
                           metadata={"description": "Public events only: what the resident reads."})


class CreatedSchema(CaseSchema):
    replayed = fields.Boolean(required=True, metadata={
        "description": "True when this Idempotency-Key had already created the case."})


class ChangesQuerySchema(Schema):
    cursor = fields.String(load_default="", validate=validate.Length(max=300), metadata={
        "description": "Opaque; from the previous page's next_cursor. Empty: from the beginning."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ChangesSchema(Schema):
    items = fields.List(fields.Nested(CaseSummarySchema), required=True)
    next_cursor = fields.String(required=True, metadata={"description": "Pass it as cursor for what changed next."})


class CallerQuerySchema(Schema):
    mobile = fields.String(required=True, validate=validate.Length(min=1, max=30))


class HouseholdSchema(Schema):
    unit = fields.String(required=True, metadata={"description": "BUILDING-UNIT"})
    estate = fields.String(required=True)
    relation = fields.String(required=True)


class CallerSchema(Schema):
    known = fields.Boolean(required=True)
    name = fields.String(allow_none=True)
    households = fields.List(fields.Nested(HouseholdSchema), required=True)
    open_cases = fields.List(fields.Nested(CaseSummarySchema), required=True)
    recent_cases = fields.List(fields.Nested(CaseSummarySchema), required=True)


class CallbackSchema(Schema):
    reached = fields.Boolean(required=True)
    method = fields.String(load_default=Method.PHONE.value,
                           validate=validate.OneOf([Method.PHONE.value, Method.SMS.value]))
    satisfaction = fields.String(validate=validate.OneOf([s.value for s in Satisfaction]),
                                 metadata={"description": "Required when reached."})
    quality_rating = fields.Integer(validate=validate.Range(min=1, max=5))
    effect_rating = fields.Integer(validate=validate.Range(min=1, max=5))
    shortcomings = fields.String(load_default="", validate=validate.Length(max=2000))
    suggestions = fields.String(load_default="", validate=validate.Length(max=2000))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    confirmed = fields.Boolean(load_default=False)


class CallbackResultSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(["done", "reopened", "attempt", "unreachable"]))
    case = fields.Nested(CaseSummarySchema, required=True)
