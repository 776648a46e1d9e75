"""Which lifecycle events become webhook events, and their outbox rows (one per subscription and event).

The row is an ordinary outbox row on the `webhook` channel: the delivery jobs claim it, retry it with
the back-off of NOTIFY_RETRY_DELAYS, and a manager resends it. Its dedup key `wh:<subscription>:<event id>`
makes the event go out once per subscription however often a subscriber runs.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import select

from portal.callbacks.service import recorded as callback_recorded
from portal.cases.lifecycle import acted, escalated
from portal.extensions import db
from portal.models import CallbackTask, Case, Estate, Unit, WebhookSubscription
from portal.notify.outbox import queue_rows, row
from portal.timeutil import utcnow

CALLBACK_ACTIONS = ("callback", "callback_reopen", "callback_attempt", "callback_unreachable", "callback_note")


def dedup_key(subscription_id: int, event_id: str) -> str:
    return f"wh:{subscription_id}:{event_id}"


def subscription_of(dedup: str) -> int | None:
    parts = dedup.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[0] == "wh" and parts[1].isdigit() else None


def case_data(case: Case) -> dict:
    """What a subscriber learns of a case: public facts, never the resident's name or number."""
    estate = db.session.get(Estate, case.estate_id) if case.estate_id else None
    return {"number": case.number, "kind": case.kind.value, "status": getattr(case.status, "value", case.status),
            "estate": estate.name if estate else None, "category": case.category.name if case.category else None,
            "received_at": case.received_at.isoformat(), "updated_at": case.updated_at.isoformat()}


def _active() -> list[WebhookSubscription]:
    return list(db.session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))))


def emit(event_type: str, case: Case | None, data: dict, at: datetime | None = None,
         estate_id: int | None = None, subscriptions: list[WebhookSubscription] | None = None) -> list[int]:
    """Queue the event to every active subscription of the estate (the case's) that wants it (the caller
    commits). A callback with no case behind it names its estate and carries `data` alone.
    `subscriptions`: the active ones, when the caller has read them already (one read for many events)."""
    at = at or utcnow()
    estate_id = case.estate_id if case is not None else estate_id
    subs = _active() if subscriptions is None else subscriptions
    wanted = [s for s in subs if event_type in s.event_list and any(e.id == estate_id for e in s.estates)]
    if not wanted:
        return []
    event_id = f"evt_{uuid.uuid4().hex}"
    body = {"case": case_data(case), **data} if case is not None else data
    payload = json.dumps({"id": event_id, "type": event_type, "created_at": at.isoformat(),
                          "data": body}, ensure_ascii=False, sort_keys=True)
    rows = []
    for sub in wanted:
        r = row(sub.created_by, "webhook", sub.url, event_type, event_type, payload,
                dedup_key(sub.id, event_id), case_id=case.id if case is not None else None, now=at)
        rows.append(r)
    return queue_rows(rows)


def on_acted(sender: str, case: Case, user, before, event, at, **_) -> None:
    """case.created, case.status_changed, case.escalated and callback.recorded from one lifecycle action."""
    if sender == "register":
        emit("case.created", case, {}, at)
    elif event.to_status is not None and (before is None or getattr(before, "value", before) != event.to_status):
        emit("case.status_changed", case, {"from_status": getattr(before, "value", before),
                                           "to_status": event.to_status, "action": sender}, at)
    if sender == "callback_escalate":
        emit("case.escalated", case, {"level": 1, "reason": "callback"}, at)
    if sender in CALLBACK_ACTIONS:
        emit("callback.recorded", case, {"outcome": sender}, at)


def on_escalated(sender, notes: list[tuple[int, str]], at: datetime, **_) -> None:
    """The scan's escalations (service levels missed, repeat complaints): one event per case.

    The subscriptions are read once and the cases of the estates they cover in one query: a scan
    escalating 1,000 cases issued two statements per case (bench/scale.py)."""
    subs = [s for s in _active() if "case.escalated" in s.event_list]
    estates = sorted({e.id for s in subs for e in s.estates})
    if not estates:
        return
    ids = list(dict.fromkeys(case_id for case_id, _ in notes))
    cases = {}
    for start in range(0, len(ids), 1000):
        cases.update((c.id, c) for c in db.session.scalars(
            select(Case).where(Case.id.in_(ids[start:start + 1000]), Case.estate_id.in_(estates))))
    for case_id in ids:
        if case_id in cases:
            emit("case.escalated", cases[case_id], {"reason": "scan"}, at, subscriptions=subs)


def on_callback_recorded(task: CallbackTask, outcome: str, at: datetime, **_) -> None:
    """callback.recorded for a callback with no case behind it (routine, works, new residents, visits)."""
    unit = db.session.get(Unit, task.unit_id) if task.unit_id else None
    if unit is None:
        return  # no household, no estate: no subscription can want it
    estate = db.session.get(Estate, unit.building.estate_id)
    # Like case_data: public facts only, never the household's unit, name or number.
    emit("callback.recorded", None, {"callback": {"id": task.id, "kind": task.kind.value, "estate": estate.name},
                                     "outcome": outcome}, at, estate_id=estate.id)


def init_app(app) -> None:
    from portal.webhooks import sender
    acted.connect(on_acted, weak=False)
    callback_recorded.connect(on_callback_recorded, weak=False)
    escalated.connect(on_escalated, weak=False)
    sender.register()
