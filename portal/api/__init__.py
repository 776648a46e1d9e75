"""The integration API (/api/v1): a flask-smorest blueprint, so the OpenAPI document and the
request validation come from the same marshmallow declarations."""
from portal.api.blueprint import ApiBlueprint

bp = ApiBlueprint("api", __name__, url_prefix="/api/v1", description="Cases, callers and callbacks for the "
                  "hotline and the WeChat service account.")
