"""Records are kept: the event log is append-only and nothing is hard-deleted."""
from sqlalchemy import event

from portal.models.audit import AuditEntry
from portal.models.cases import Attachment, Case, CaseEvent
from portal.models.privacy import PhoneReveal
from portal.models.people import Building, Category, Department, Estate, Residency, Unit, User


class ImmutableRecordError(RuntimeError):
    pass


def _refuse_delete(mapper, connection, target):
    raise ImmutableRecordError(f"{type(target).__name__} rows are never deleted")


def _refuse_update(mapper, connection, target):
    raise ImmutableRecordError(f"{type(target).__name__} rows are append-only")


# The organisation is deactivated, never deleted: cases and reports keep pointing at it.
for model in (Case, CaseEvent, Attachment, User, Estate, Building, Unit, Department, Category, Residency,
              AuditEntry, PhoneReveal):
    event.listen(model, "before_delete", _refuse_delete)
for model in (CaseEvent, AuditEntry, PhoneReveal):
    event.listen(model, "before_update", _refuse_update)
