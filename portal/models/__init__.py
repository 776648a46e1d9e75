"""Typed SQLAlchemy models, one module per part of the domain."""
from portal.models.people import (
    Building, Category, CategoryOverride, Department, Estate, Relation, Residency, Role, Unit, User,
    user_estate,
)
from portal.models.audit import AuditEntry
from portal.models.cases import (
    Attachment,
    Case,
    CaseEvent,
    CaseSequence,
    Channel,
    Kind,
    LocationType,
    Severity,
    Status,
)
from portal.models.settings import Phrase, Setting
from portal.models.stamp import DataStamp
from portal.models.sla import Alert, CalendarDay, Deadline, SlaRule
from portal.models.notify import Notification
from portal.models.callbacks import (  # noqa: E402
    CallbackKind, CallbackPlan, CallbackPromise, CallbackRecord, CallbackTask, MaintenanceWork,
    Method, PlanStatus, SampleSeed, Satisfaction, TaskStatus,
)
from portal.models.signin import ClaimStatus, PasswordReset, SignInCode, TotpCredential, UnitClaim  # noqa: E402
from portal.models.reports import ActionStatus, ImprovementAction, MonthFigure, ReportRun, RunStatus  # noqa: E402
from portal.models.jobs import Job  # noqa: E402
from portal.models.privacy import PhoneReveal  # noqa: E402
from portal.models.views import SavedView  # noqa: E402
from portal.models.api import (  # noqa: E402
    ApiCallCount, ApiIdempotency, ApiKey, WebhookAttempt, WebhookSubscription, webhook_estate,
)
from portal.models import guards  # noqa: E402,F401  (append-only, no hard deletes)

__all__ = [
    "Alert", "AuditEntry", "CategoryOverride", "Relation", "Residency", "user_estate",
    "CalendarDay", "Deadline", "Notification", "SlaRule",
    "CallbackKind", "CallbackPlan", "CallbackPromise", "CallbackRecord", "CallbackTask",
    "MaintenanceWork", "Method", "PlanStatus", "SampleSeed", "Satisfaction", "TaskStatus",
    "Attachment", "Building", "Case", "CaseEvent", "CaseSequence", "Category",
    "Channel", "Department", "Estate", "Kind", "LocationType", "Phrase", "Role",
    "DataStamp", "Setting", "Severity", "Status", "Unit", "User",
    "ActionStatus", "ImprovementAction", "MonthFigure", "ReportRun", "RunStatus", "Job", "PhoneReveal", "SavedView",
    "ApiCallCount", "ApiIdempotency", "ApiKey", "WebhookAttempt", "WebhookSubscription", "webhook_estate",
    "ClaimStatus", "PasswordReset", "SignInCode", "TotpCredential", "UnitClaim",
]
