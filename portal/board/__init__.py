"""The board area (routes are imported by the factory)."""
from flask import Blueprint

bp = Blueprint("board", __name__)
