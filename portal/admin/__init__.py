"""The admin area (routes are imported by the factory)."""
from flask import Blueprint

bp = Blueprint("admin", __name__)
