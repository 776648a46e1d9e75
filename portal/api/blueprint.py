"""flask-smorest fitted to the portal: one multipart location (form fields and photos in one body),
JSON errors with a code and a translated message, and no HTML error handlers touched."""
from __future__ import annotations

from flask_smorest import Api, Blueprint
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict


class ApiParser(FlaskParser):
    """Adds `multipart`: the form fields and the uploaded files of one multipart/form-data body."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "multipart": RAISE}

    def load_multipart(self, req, schema):
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        from portal.api.errors import ApiError, field_messages
        raise ApiError(422, "validation_error", fields=field_messages(error.normalized_messages()))


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}


class PortalApi(Api):
    """The portal's pages keep their own error pages: errors are JSON only inside the API blueprint."""

    def __init__(self, *args, **kwargs):
        from portal.api.schemas import ErrorSchema
        self.ERROR_SCHEMA = ErrorSchema
        super().__init__(*args, **kwargs)

    def _register_error_handlers(self):
        pass
