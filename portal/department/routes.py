"""The department's phone-first work queue: mine, unassigned, all of the department, done."""
from flask import abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import true

from portal.access import role_required
from portal.board.listing import case_list
from portal.department import bp
from portal.models import Case, Role
from portal.models.cases import OPEN_STATUSES

# view -> (label, the defaults its tab link carries). Open views list new and returned work
# first, then the nearest deadline (portal.board.query SORTS["queue"]); "done" the latest first.
VIEWS = {
    "mine": (_l("Mine"), {"status": "open", "sort": "queue"}),
    "unassigned": (_l("Unassigned"), {"status": "open", "sort": "queue"}),
    "all": (_l("All of the department"), {"status": "open", "sort": "queue"}),
    "done": (_l("Done"), {"sort": "updated"}),
}
DEFAULT_VIEW = "all"


def _narrowing(view: str, user):
    """(SQL clause, cache key) of one view; "mine" depends on the user, the others on the department."""
    if view == "mine":
        return Case.assignee_id == user.id, ("mine", user.id)
    if view == "unassigned":
        return Case.assignee_id.is_(None), ("unassigned",)
    if view == "done":
        return Case.status.not_in(OPEN_STATUSES), ("done",)
    return true(), ("all",)


@bp.route("/dept")
@role_required(Role.DEPARTMENT)
def queue():
    """Cases dispatched to the user's department, by view; new and returned work first."""
    view = request.args.get("view", DEFAULT_VIEW)
    if view not in VIEWS:
        abort(404)
    return case_list(current_user, "department.queue", "department/queue.html",
                     defaults={"view": view, **VIEWS[view][1]}, narrow=_narrowing(view, current_user),
                     views=VIEWS, view=view)
