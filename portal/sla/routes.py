"""Managers' service-level pages: the policy table and the holiday schedule."""
from __future__ import annotations

from portal.sla import bp  # noqa: F401
from portal.sla import policy  # noqa: F401  (declares the deadline settings)
