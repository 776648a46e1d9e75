"""The department area (routes are imported by the factory)."""
from flask import Blueprint

bp = Blueprint("department", __name__)
