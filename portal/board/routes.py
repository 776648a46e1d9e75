"""The complaint board for clerks and managers, and the row actions every work list shares."""
from flask import get_template_attribute, render_template
from flask_login import current_user

from portal.access import STAFF, get_case_or_404, role_required
from portal.board import bp
from portal.board.listing import case_list
from portal.board.rows import ROW_ACTIONS, case_row, row_urls
from portal.cases.service import action_form
from portal.cases.lifecycle import can
from portal.models import Role

# What a row offers, filtered by role and state: the desk classifies, dispatches
# and closes; a department accepts from its queue without opening the case.
ROW_ROLES = (Role.CLERK, Role.MANAGER, Role.DEPARTMENT)


def row_forms(case, failed=None, failed_name=None) -> dict:
    """Inline forms for a row: those of ROW_ACTIONS this user may take now."""
    forms = {}
    for name in ROW_ACTIONS:
        if failed is not None and name == failed_name:
            forms[name] = failed  # shown even if the action lost a race, with its message
        elif can(current_user, case, name):
            forms[name] = action_form(name, case)
    return forms


def render_row(case, failed_form=None, failed_name=None, notice=None):
    """One board row after an inline action; a failed one comes back open with its message."""
    forms = row_forms(case, failed_form, failed_name) if failed_form is not None else {}
    staff = current_user.role in STAFF
    row = get_template_attribute("board/_row.html", "row")
    labels = get_template_attribute("board/_labels.html", "L")
    return row(case_row(case, current_user.role), labels, row_urls(), staff, staff, True,
               row_forms=forms, notice=notice)


@bp.route("/board/rows/<int:case_id>/actions")
@role_required(*ROW_ROLES)
def row_actions(case_id: int):
    """The inline forms of one board row, loaded when its menu is opened."""
    case = get_case_or_404(case_id)
    return render_template("board/_row_forms.html", case=case, row_forms=row_forms(case))


@bp.route("/board")
@role_required(*STAFF)
def board():
    """All cases with filters, search, sort, paging; rows act in place."""
    return case_list(current_user, "board.board", "board/board.html", board=True)
