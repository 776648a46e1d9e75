"""The department's phone-first work queue."""
from flask_login import current_user

from portal.access import role_required
from portal.board.listing import case_list
from portal.department import bp
from portal.models import Role


@bp.route("/dept")
@role_required(Role.DEPARTMENT)
def queue():
    """Cases dispatched to the user's department; open ones by nearest deadline unless filtered."""
    return case_list(current_user, "department.queue", "department/queue.html",
                     defaults={"status": "open", "sort": "due"})
