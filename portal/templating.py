"""Jinja filters and globals shared by every template."""
from __future__ import annotations

from datetime import datetime

from flask import Flask, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import labels
from portal.models import Role
from portal.sla.deadlines import is_overdue, urgency
from portal.timeutil import fmt_dt, local_now, utcnow  # noqa: F401  (fmt_dt: the `dt` filter)

HTMX_VERSION = "2.0.10"
HTMX_CDN = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
HTMX_SRI = "sha384-H5SrcfygHmAuTDZphMHqBJLc3FhssKjG7w/CeCpFReSfwBWDTKpkzPP8c+cLsK+V"

NAV = {
    Role.RESIDENT: [("cases.my_cases", _l("My cases")), ("cases.new_case", _l("File a case")),
                    ("reports.disclosure_page", _l("Service report")), ("auth.units", _l("My homes"))],
    Role.CLERK: [("board.board", _l("Board")), ("desk.register", _l("Register a case")),
                 ("callbacks.queue", _l("Callbacks")), ("auth.desk_claims", _l("Unit claims"))],
    Role.DEPARTMENT: [("department.queue", _l("Work queue"))],
    Role.MANAGER: [("board.board", _l("Board")), ("desk.register", _l("Register a case")),
                   ("escalation.escalations", _l("Escalations")), ("callbacks.queue", _l("Callbacks")),
                   ("auth.desk_claims", _l("Unit claims")),
                   ("reports.dashboard", _l("Reports"))],
}
# Managers' "Administration" menu (base.html): the organisation, then the rules the portal runs by.
ADMIN_MENU = [("admin.estates", _l("Estates, buildings and units")), ("admin.residents", _l("Residents")),
              ("admin.staff", _l("Staff accounts")), ("admin.departments", _l("Departments")),
              ("admin.categories", _l("Categories")), ("admin.phrases", _l("Phrases")),
              ("sla.deadlines", _l("Service levels")), ("sla.calendar_page", _l("Holidays")),
              ("admin.settings_page", _l("Settings")), ("integrations.keys", _l("Integrations")),
              ("admin.audit_log", _l("Audit log"))]


class TimeLeft:
    """'3h 20m left' / 'overdue 2d 4h' in the user's language; translated once, then used for many rows."""

    def __init__(self):
        from flask_babel import gettext as _
        # Without variables Flask-Babel's gettext returns the translation unformatted: kept as templates.
        self.days, self.hours, self.minutes = _("%(d)dd %(h)dh"), _("%(h)dh %(m)dm"), _("%(m)dm")
        self.left, self.overdue = _("%(span)s left"), _("overdue %(span)s")

    def __call__(self, due: datetime | None, now: datetime | None = None) -> str:
        if due is None:
            return ""
        seconds = int((due - (now or utcnow())).total_seconds())
        minutes = abs(seconds) // 60
        days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
        span = (self.days % {"d": days, "h": hours} if days else
                self.hours % {"h": hours, "m": mins} if hours else self.minutes % {"m": mins})
        return (self.left if seconds >= 0 else self.overdue) % {"span": span}


def time_left(due: datetime | None) -> str:
    """'3h 20m left' / 'overdue 2d 4h' in the user's language."""
    return TimeLeft()(due)


def clock_label(name: str | None) -> str:
    """A deadline clock's name in the user's language."""
    from portal.sla.policy import CLOCKS
    return str(CLOCKS.get(name, name or ""))


def missing_calendar_years() -> list[int]:
    """Years a manager must enter; called only by base.html for managers (calendar.load caches in g)."""
    from portal.sla.calendar import missing_years
    return missing_years(local_now().date())


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["dt"] = fmt_dt
    app.jinja_env.filters["kind"] = lambda v: labels.label(labels.KIND, v)
    app.jinja_env.filters["status"] = lambda v: labels.label(labels.STATUS, v)
    app.jinja_env.filters["severity"] = lambda v: labels.label(labels.SEVERITY, v)
    app.jinja_env.filters["channel"] = lambda v: labels.label(labels.CHANNEL, v)
    app.jinja_env.filters["role"] = lambda v: labels.label(labels.ROLE, v)
    app.jinja_env.filters["relation"] = lambda v: labels.label(labels.RELATION, v)
    app.jinja_env.filters["enumval"] = lambda v: getattr(v, "value", v) or ""

    def event_label(name: str) -> str:
        from portal.cases.lifecycle import ACTIONS
        extra = {"register": _l("Registered"), "callback": _l("Callback")}
        return str(ACTIONS[name].label if name in ACTIONS else extra.get(name, name))

    app.jinja_env.globals["event_label"] = event_label
    app.jinja_env.globals["is_overdue"] = lambda case: is_overdue(case, utcnow())
    app.jinja_env.globals["urgency"] = lambda case: urgency(case, utcnow())
    app.jinja_env.globals["now_utc"] = utcnow
    app.jinja_env.filters["timeleft"] = time_left

    app.jinja_env.filters["clock"] = clock_label

    @app.context_processor
    def inject():
        nav = NAV.get(current_user.role, []) if current_user.is_authenticated else []
        menu = ADMIN_MENU if current_user.is_authenticated and current_user.role == Role.MANAGER else []
        return {
            "nav": [(url_for(endpoint), text, endpoint) for endpoint, text in nav],
            "admin_menu": [(url_for(endpoint), text, endpoint) for endpoint, text in menu],
            "locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "htmx_cdn": HTMX_CDN if app.config.get("HTMX_CDN") else None,
            "htmx_sri": HTMX_SRI,
            "htmx_local": url_for("static", filename=f"vendor/htmx-{HTMX_VERSION}.min.js"),
            "now_local": local_now(),
            "Role": Role,
            "missing_calendar_years": missing_calendar_years,
        }
