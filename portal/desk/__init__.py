"""The desk area (routes are imported by the factory)."""
from flask import Blueprint

bp = Blueprint("desk", __name__)
