"""Dashboard, monthly report, exports and the residents' disclosure page."""
from portal.reports import bp  # noqa: F401
from portal.reports import timing  # noqa: F401  (registers the completion hooks)
