"""Human labels for the callback enums (msgids in English)."""
from flask_babel import lazy_gettext as _l

from portal.labels import label  # noqa: F401  (re-exported for templates and service)
from portal.messages import register
from portal.models import CallbackKind, Method, PlanStatus, Satisfaction, TaskStatus

KIND = {
    CallbackKind.COMPLAINT: _l("Complaint callback"),
    CallbackKind.REPAIR: _l("Repair callback"),
    CallbackKind.WORKS: _l("Maintenance works"),
    CallbackKind.ROUTINE: _l("Routine"),
    CallbackKind.NEW_RESIDENT: _l("New resident"),
    CallbackKind.MANAGER_VISIT: _l("Manager home visit"),
    CallbackKind.INCIDENT: _l("After an urgent repair at home"),
}
STATUS = {
    TaskStatus.PLANNED: _l("Planned"),
    TaskStatus.PENDING: _l("To do"),
    TaskStatus.DONE: _l("Done"),
    TaskStatus.UNREACHABLE: _l("Unreachable"),
    TaskStatus.CANCELLED: _l("Cancelled"),
}
METHOD = {
    Method.PHONE: _l("Phone"),
    Method.VISIT: _l("Home visit"),
    Method.SMS: _l("SMS"),
    Method.EMAIL: _l("E-mail"),
    Method.LETTER: _l("Letter"),
    Method.ONLINE: _l("Online questionnaire"),
}
SATISFACTION = {
    Satisfaction.VERY_SATISFIED: _l("Very satisfied"),
    Satisfaction.SATISFIED: _l("Satisfied"),
    Satisfaction.NEUTRAL: _l("Neutral"),
    Satisfaction.DISSATISFIED: _l("Dissatisfied"),
}
PLAN_STATUS = {PlanStatus.DRAFT: _l("Draft"), PlanStatus.PUBLISHED: _l("Published")}
REASON = {
    "complaint": _l("Every resolved complaint"),
    "sampled": _l("Sampled"),
    "reopened": _l("Always: the case was reopened"),
    "major": _l("Always: major case"),
    "low_rating": _l("Always: rated low before"),
    "works": _l("Sampled after works"),
    "routine": _l("Quarterly routine callback"),
    "new_resident": _l("New resident, first month"),
    "manager_visit": _l("Manager home visit"),
    "incident": _l("After an urgent repair in the home"),
    "added": _l("Added to the plan by a manager"),
}
register(callback_kind=KIND, method=METHOD, satisfaction=SATISFACTION, callback_status=STATUS)

RATINGS = [(5, "5"), (4, "4"), (3, "3"), (2, "2"), (1, "1")]
