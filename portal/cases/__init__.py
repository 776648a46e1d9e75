"""The cases area (routes are imported by the factory)."""
from flask import Blueprint

bp = Blueprint("cases", __name__)
