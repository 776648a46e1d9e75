"""The escalation area (routes are imported by the factory)."""
from flask import Blueprint

bp = Blueprint("escalation", __name__)
