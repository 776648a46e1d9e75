"""What the API's views call: find the caller, create a case through intake, read public status,
list changes after a cursor, record a callback through the callback rules. Scoped by the key's estates."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from portal import org
from portal.accounts import AccountError, find_unit
from portal.api.errors import ApiError
from portal.auth.phone import normalize_phone, residents_with_phone
from portal.callbacks.service import CallbackError, record_callback, survey_task
from portal.cases.actions import TransitionError
from portal.cases.intake import register_case
from portal.cases.uploads import UploadError, check_photos, save_photos
from portal.extensions import db
from portal.labels import RELATION, STATUS, label
from portal.messages import shown
from portal.models import (
    ApiIdempotency, ApiKey, Case, CaseEvent, Category, Estate, LocationType, Residency, Unit, User,
)
from portal.models.cases import OPEN_STATUSES
from portal.timeutil import utcnow

# Rows changed this recently are left for the next page: a transaction that stamped an earlier time
# but commits later must not slip behind a cursor that has moved past it.
SETTLE = timedelta(seconds=5)
RECENT_DAYS = 90


def estate_names(key: ApiKey) -> dict[int, str]:
    return {e.id: e.name for e in key.estates}


def case_in_scope(key: ApiKey, number: str) -> Case:
    """The case with this number in one of the key's estates, else 404 (another estate's case does not exist)."""
    case = db.session.scalar(select(Case).where(Case.number == number.strip().upper()))
    if case is None or case.estate_id not in estate_names(key):
        raise ApiError(404, "not_found")
    return case


# --- reading ------------------------------------------------------------------------------

def summary(case: Case, names: dict[int, str]) -> dict:
    return {"number": case.number, "kind": case.kind.value, "status": case.status.value,
            "status_label": label(STATUS, case.status), "estate": names.get(case.estate_id),
            "category": case.category.name if case.category else None,
            "received_at": case.received_at, "updated_at": case.updated_at}


def public_view(case: Case, names: dict[int, str]) -> dict:
    """The case as its resident reads it: public events only, no staff names, no internal notes."""
    from portal.cases.lifecycle import ACTIONS
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                        CaseEvent.public.is_(True)).order_by(CaseEvent.id))
    timeline = [{"at": e.at, "action": e.action,
                 "label": str(ACTIONS[e.action].label) if e.action in ACTIONS else e.action,
                 "status": e.to_status, "note": shown(e.note_msg, e.note)} for e in events]
    return {**summary(case, names), "channel": case.channel.value, "place": case.place,
            "description": case.description, "timeline": timeline}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="api-changes-cursor")


def changes(key: ApiKey, cursor: str, limit: int, at: datetime | None = None) -> tuple[list[Case], str]:
    """Cases of the key's estates changed after the cursor, oldest change first, and the next cursor."""
    after_time, after_id = None, 0
    if cursor:
        try:
            stamp, after_id = _serializer().loads(cursor)
            after_time = datetime.fromisoformat(stamp)
        except (BadSignature, ValueError, TypeError):
            raise ApiError(422, "validation_error", fields={"cursor": str(_l("This cursor is not one we gave."))})
    stmt = select(Case).where(Case.estate_id.in_(sorted(estate_names(key))),
                              Case.updated_at <= (at or utcnow()) - SETTLE)
    if after_time is not None:
        stmt = stmt.where(or_(Case.updated_at > after_time,
                              and_(Case.updated_at == after_time, Case.id > after_id)))
    rows = list(db.session.scalars(stmt.order_by(Case.updated_at, Case.id).limit(limit)))
    if rows:
        last = rows[-1]
        cursor = _serializer().dumps([last.updated_at.isoformat(), last.id])
    return rows, cursor or _serializer().dumps([datetime.min.replace(tzinfo=utcnow().tzinfo).isoformat(), 0])


def caller(key: ApiKey, mobile: str) -> dict:
    """Screen pop: the resident with this number in the key's estates, their households and cases."""
    names = estate_names(key)
    phone = normalize_phone(mobile)
    if phone is None:
        raise ApiError(422, "validation_error", fields={"mobile": str(_l("Enter an 11-digit mainland mobile number."))})
    people = [u for u in residents_with_phone(phone) if u.active]
    homes, unit_ids, person = [], set(), None
    for user in people:
        for res in db.session.scalars(select(Residency).where(Residency.user_id == user.id,
                                                              Residency.moved_out.is_(None))):
            estate_id = res.unit.building.estate_id
            if estate_id in names:
                person = person or user
                unit_ids.add(res.unit_id)
                homes.append({"unit": f"{res.unit.building.name}-{res.unit.number}", "estate": names[estate_id],
                              "relation": label(RELATION, res.relation)})
    ids = [u.id for u in people]
    cases = []
    if ids or unit_ids:
        since = utcnow() - timedelta(days=RECENT_DAYS)
        cases = list(db.session.scalars(
            select(Case).where(Case.estate_id.in_(sorted(names)),
                               or_(Case.resident_id.in_(ids or [-1]), Case.unit_id.in_(sorted(unit_ids) or [-1])),
                               or_(Case.status.in_(OPEN_STATUSES), Case.received_at >= since))
            .order_by(Case.received_at.desc()).limit(50)))
        if person is None and cases:
            person = next((u for u in people if any(c.resident_id == u.id for c in cases)), None)
    return {"known": person is not None, "name": person.display_name if person else None, "households": homes,
            "open_cases": [summary(c, names) for c in cases if c.status in OPEN_STATUSES],
            "recent_cases": [summary(c, names) for c in cases if c.status not in OPEN_STATUSES]}


# --- creating -----------------------------------------------------------------------------

def request_hash(data: dict, photos) -> str:
    plain = {k: v for k, v in sorted(data.items()) if k != "photos"}
    digest = hashlib.sha256(json.dumps(plain, ensure_ascii=False, sort_keys=True).encode())
    for f in photos:
        digest.update((f.filename or "").encode())
    return digest.hexdigest()


def _estate(key: ApiKey, name: str | None) -> Estate | None:
    if name:
        estate = next((e for e in key.estates if e.name == name.strip()), None)
        if estate is None:
            raise ApiError(422, "validation_error", fields={"estate": str(_l("Not an estate of this key."))})
        return estate
    return key.estates[0] if len(key.estates) == 1 else None


def _where(key: ApiKey, data: dict) -> tuple[User | None, int | None, int, str]:
    """(resident, unit id, estate id, contact phone) from the mobile, the unit and the estate given."""
    names = estate_names(key)
    estate = _estate(key, data.get("estate"))
    resident, unit_id, phone = None, None, ""
    if data.get("mobile"):
        phone = normalize_phone(data["mobile"])
        if phone is None:
            raise ApiError(422, "validation_error",
                           fields={"mobile": str(_l("Enter an 11-digit mainland mobile number."))})
        for user in residents_with_phone(phone):
            home = user.unit if user.unit_id else None
            if user.active and home is not None and home.building.estate_id in names and (
                    estate is None or home.building.estate_id == estate.id):
                resident, unit_id = user, home.id
                break
    if data.get("unit"):
        if estate is None:
            raise ApiError(422, "validation_error", fields={"estate": str(_l("Say which estate the unit is in."))})
        try:
            unit_id = find_unit(estate, data["unit"]).id
        except AccountError:
            raise ApiError(422, "validation_error", fields={"unit": str(_l("No such unit in this estate."))})
    estate_id = (db.session.get(Unit, unit_id).building.estate_id if unit_id else None) or (estate and estate.id)
    if estate_id is None:
        raise ApiError(422, "validation_error", fields={"estate": str(_l("Say which estate the case is for."))})
    return resident, unit_id, estate_id, phone or ""


def create_case(key: ApiKey, data: dict, photos, idempotency_key: str | None) -> tuple[Case, bool]:
    """Register a case for the key's account through intake (the lifecycle's `register`); (case, replayed).

    With an Idempotency-Key the claim row goes in first, in the same transaction as the case: a retry
    that races the first call waits on the unique constraint and then gets the first call's case.
    The caller commits.
    """
    digest = request_hash(data, photos)
    if idempotency_key:
        existing = _claimed(key, idempotency_key)
        if existing is not None:
            return _replay(existing, digest), True
        claim = ApiIdempotency(key_id=key.id, idempotency_key=idempotency_key, request_hash=digest,
                               created_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(claim)
        except IntegrityError:  # a concurrent retry claimed it first (and has committed its case)
            return _replay(_claimed(key, idempotency_key), digest), True
    checked = check_photos(photos, key.user)
    if checked.errors:
        raise ApiError(422, "validation_error", fields={"photos": checked.errors[0]})
    resident, unit_id, estate_id, phone = _where(key, data)
    category_id = None
    if data.get("category"):
        category_id = db.session.scalar(select(Category.id).where(Category.code == data["category"]))
        if not org.offers(category_id, estate_id):
            raise ApiError(422, "validation_error", fields={"category": str(_l("Not a category of this estate."))})
    try:
        case = register_case(
            actor=key.user, resident=resident, kind=data["kind"], channel=data["channel"],
            description=data["description"], location=data.get("location", ""),
            location_type=LocationType.UNIT if unit_id else LocationType.COMMON, category_id=category_id,
            contact_name=data.get("contact_name", ""), contact_phone=phone, estate_id=estate_id, unit_id=unit_id)
        if checked.ready:
            save_photos(case, key.user, checked)
    except (TransitionError, UploadError) as exc:
        raise ApiError(422, "validation_error", message=str(getattr(exc, "message", exc)))
    if idempotency_key:
        db.session.flush()
        claim.case_id = case.id
    return case, False


def _claimed(key: ApiKey, idempotency_key: str) -> ApiIdempotency | None:
    return db.session.scalar(select(ApiIdempotency).where(ApiIdempotency.key_id == key.id,
                                                          ApiIdempotency.idempotency_key == idempotency_key))


def _replay(claim: ApiIdempotency | None, digest: str) -> Case:
    if claim is None or claim.case_id is None:
        raise ApiError(409, "conflict")
    if claim.request_hash != digest:
        raise ApiError(422, "idempotency_conflict", fields={"Idempotency-Key": str(
            _l("This key was used for a different request."))})
    return db.session.get(Case, claim.case_id)


# --- callbacks ----------------------------------------------------------------------------

def callback(key: ApiKey, case: Case, data: dict) -> tuple[str, Case]:
    """Record a callback made by the outbound-call system on the case's pending callback. The caller commits."""
    task = survey_task(case)
    if task is None:
        raise ApiError(409, "no_callback_due")
    try:
        outcome = record_callback(task, key.user, data)
    except CallbackError as exc:
        fields = {exc.field: str(exc.message)} if exc.field else None
        raise ApiError(422 if exc.field else 409, "validation_error" if exc.field else "conflict",
                       message=None if exc.field else str(exc.message), fields=fields)
    return outcome.code, case
