"""The callback area 回访 (routes are imported by the factory)."""
from flask import Blueprint

bp = Blueprint("callbacks", __name__)
