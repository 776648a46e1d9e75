"""First escalation view: what a manager must not miss."""
from flask_login import current_user
from sqlalchemy import and_, or_

from portal.access import role_required
from portal.board.filters import list_context
from portal.board.routes import row_actionable
from portal.sla.deadlines import overdue_clause
from portal.escalation import bp
from portal.htmx import render
from portal.models import Case, Role, Severity
from portal.models.cases import OPEN_STATUSES
from portal.timeutil import utcnow


def escalation_clause(now):
    """Open cases that are major, were reopened, or passed a promised time."""
    return and_(Case.status.in_(OPEN_STATUSES),
                or_(Case.severity == Severity.MAJOR, Case.reopen_count > 0, overdue_clause(now)))


@bp.route("/escalations")
@role_required(Role.MANAGER)
def escalations():
    """Major, reopened and overdue open cases, filterable like the board."""
    ctx = list_context(current_user, "escalation.escalations", extra=escalation_clause(utcnow()))
    ctx.update(row_actionable=row_actionable, board=True, row_menu=True)
    return render("escalation/escalations.html", "board/_table.html", "case-table", **ctx)
