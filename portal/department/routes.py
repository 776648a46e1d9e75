"""The department's phone-first work queue."""
from flask_login import current_user

from portal.access import role_required
from portal.board.filters import list_context
from portal.board.routes import row_actionable
from portal.department import bp
from portal.htmx import render
from portal.models import Role


@bp.route("/dept")
@role_required(Role.DEPARTMENT)
def queue():
    """Cases dispatched to the user's department; open ones by nearest deadline unless filtered."""
    ctx = list_context(current_user, "department.queue", defaults={"status": "open", "sort": "due"})
    ctx.update(row_actionable=row_actionable, row_menu=True)
    return render("department/queue.html", "board/_table.html", "case-table", **ctx)
