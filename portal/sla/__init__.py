from flask import Blueprint

bp = Blueprint("sla", __name__)
