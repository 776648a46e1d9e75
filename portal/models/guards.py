"""Records are kept: the event log is append-only and nothing is hard-deleted."""
from sqlalchemy import event

from portal.models.cases import Attachment, Case, CaseEvent
from portal.models.people import User


class ImmutableRecordError(RuntimeError):
    pass


def _refuse_delete(mapper, connection, target):
    raise ImmutableRecordError(f"{type(target).__name__} rows are never deleted")


def _refuse_update(mapper, connection, target):
    raise ImmutableRecordError("case events are append-only")


for model in (Case, CaseEvent, Attachment, User):
    event.listen(model, "before_delete", _refuse_delete)
event.listen(CaseEvent, "before_update", _refuse_update)
