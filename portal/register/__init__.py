"""Importing the property register (房产台账): parse, validate, plan, apply; the screen and the command."""
from flask import Blueprint

# cli_group=None: the command is `flask import-register`, not `flask register import-register`.
bp = Blueprint("register", __name__, cli_group=None)
