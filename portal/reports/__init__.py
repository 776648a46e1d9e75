"""Statistics, the monthly analysis report and the residents' disclosure (SPEC §7)."""
from flask import Blueprint

bp = Blueprint("reports", __name__)
