"""Jinja filters and globals shared by every template."""
from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app, g, url_for
from flask_babel import get_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.validators import Length

from portal import labels, messages
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
              ("admin.audit_log", _l("Audit log")), ("admin.phone_reveals", _l("Number reveals")),
              ("register.upload", _l("Import the register"))]
# Managers' "Reports and data" menu: everything else a manager has, so nothing is reachable only by URL.
DATA_MENU = [("reports.monthly", _l("Monthly report")), ("reports.disclosure_page", _l("Disclosure")),
             ("callbacks.plans_page", _l("Callback plans")), ("callbacks.works_page", _l("Maintenance works")),
             ("notify.outbox", _l("Outbox")), ("reports.board_csv", _l("Export the board (CSV)")),
             ("notify.inbox", _l("Notifications"))]
# The drop-down menus of the top bar per role: (title, test id, items).
MENUS = {Role.MANAGER: [(_l("Reports and data"), "data-menu", DATA_MENU),
                        (_l("Administration"), "admin-menu", ADMIN_MENU)]}


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
    return labels.table(CLOCKS).get(name, name or "")  # translated once per language, not once per row


def missing_calendar_years() -> list[int]:
    """Years a manager must enter; called only by base.html for managers (calendar.load caches in g)."""
    from portal.sla.calendar import missing_years
    return missing_years(local_now().date())


def field_limits(f) -> dict:
    """Data attributes for static/portal.js's checks before sending: a text field's length, a photo
    field's count and size (the same numbers and messages the server applies)."""
    if f.type in ("MultipleFileField", "FileField"):
        cap, limit = current_app.config["MAX_PHOTOS"], current_app.config["MAX_PHOTO_BYTES"]
        mb = f"{round(limit / 2**20, 2):g}"
        return {"data-max-files": cap, "data-max-bytes": limit,
                "data-msg-count": str(_l("At most %(n)d photos.", n=cap)),
                "data-msg-size": str(_l("%(name)s is larger than %(mb)s MB.", name="{name}", mb=mb))}
    if f.type == "TextAreaField":
        longest = [v.max for v in f.validators if isinstance(v, Length) and v.max and v.max > 0]
        if longest:
            return {"data-maxlength": min(longest), "maxlength": False,  # the counter, not a silent cut
                    "data-msg-length": str(_l("At most %(n)d characters (now {count}).", n=min(longest)))}
    return {}


def _catalogue():
    """This request's translations, looked up once per locale: Flask-Babel's own template `_()` looks them
    up through four context lookups on every call (~180 calls on a board page). `force_locale` (mail in the
    recipient's language) sets another locale object, so the identity check looks again."""
    ctx = g.get("_flask_babel")
    found = getattr(ctx, "portal_catalogue", None)
    if found is not None and found[0] is getattr(ctx, "babel_locale", None):
        return found[1]
    catalogue = get_translations()
    ctx = g.get("_flask_babel")
    locale = getattr(ctx, "babel_locale", None)
    if locale is not None:
        ctx.portal_catalogue = (locale, catalogue)
    return catalogue


def init_templating(app: Flask) -> None:
    app.jinja_env.install_gettext_callables(  # Flask-Babel's, with the catalogue looked up once (above)
        gettext=lambda s: _catalogue().ugettext(s), ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n), newstyle=True)
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
        extra = {"register": _l("Registered"), "callback": _l("Callback"), "escalate": _l("Escalated")}
        return str(ACTIONS[name].label if name in ACTIONS else extra.get(name, name))

    app.jinja_env.globals["event_label"] = event_label
    # What the system wrote, in the reader's language (portal.messages); older rows show their text.
    app.jinja_env.globals["shown"] = messages.shown
    # A case's description: as typed, or (found at a callback) the system's sentence in the reader's language.
    app.jinja_env.filters["description"] = lambda case: messages.shown(case.description_msg, case.description)
    from portal import privacy
    from portal.cases.actions import audience_of
    # The complainant's privacy (portal.privacy) and the audience of a form's fields, for the templates.
    app.jinja_env.globals.update(masked=privacy.masked, sees_complainant=privacy.sees_complainant,
                                 needs_reveal=privacy.needs_reveal, phone_of=privacy.phone_of,
                                 may_see_attachment=privacy.may_see_attachment, audience_of=audience_of)

    def audience_hint(name: str, key: str) -> str:
        """Beside a staff form's text field: whether the resident reads it (the action table says)."""
        where = audience_of(name, key)
        if not current_user.is_authenticated or current_user.role == Role.RESIDENT or where is None:
            return ""
        return str(_l("The resident reads this.") if where == "public"
                   else _l("Internal: staff only, never shown to the resident."))

    app.jinja_env.globals["audience_hint"] = audience_hint
    app.jinja_env.tests["visible_attachment"] = lambda att: privacy.may_see_attachment(current_user, att)
    app.jinja_env.globals["is_overdue"] = lambda case: is_overdue(case, utcnow())
    app.jinja_env.globals["urgency"] = lambda case: urgency(case, utcnow())
    app.jinja_env.globals["now_utc"] = utcnow
    app.jinja_env.globals["field_limits"] = field_limits
    app.jinja_env.filters["timeleft"] = time_left

    app.jinja_env.filters["clock"] = clock_label

    @app.context_processor
    def inject():
        nav = NAV.get(current_user.role, []) if current_user.is_authenticated else []
        menus = MENUS.get(current_user.role, []) if current_user.is_authenticated else []
        return {
            "nav": [(url_for(endpoint), text, endpoint) for endpoint, text in nav],
            "menus": [(title, test_id, [(url_for(endpoint), text, endpoint) for endpoint, text in items])
                      for title, test_id, items in menus],
            "locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "htmx_cdn": HTMX_CDN if app.config.get("HTMX_CDN") else None,
            "htmx_sri": HTMX_SRI,
            "htmx_local": url_for("static", filename=f"vendor/htmx-{HTMX_VERSION}.min.js"),
            "now_local": local_now(),
            "Role": Role,
            "missing_calendar_years": missing_calendar_years,
        }
