"""The auth area (routes are imported by the factory)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)
