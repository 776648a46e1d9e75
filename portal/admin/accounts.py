"""Staff accounts: who may change whom, the last company manager, sessions, temporary passwords."""
from __future__ import annotations

import secrets

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.admin import scope
from portal.audit import record, snapshot
from portal.extensions import db
from portal.models import Estate, Role, User

STAFF_ROLES = (Role.CLERK, Role.DEPARTMENT, Role.MANAGER)
FIELDS = ("display_name", "phone", "email", "role", "department_id", "department_head", "manager_level",
          "company_wide", "active", "estate_ids")
# Changing any of these ends the account's sessions at once (SPEC §9).
SESSION_FIELDS = ("role", "company_wide", "estate_ids", "department_id", "active")
# No 0/O, 1/l/I: read aloud or copied from a screen without mistakes.
ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Refused(Exception):
    """A change the rules do not allow; `field` is where the message belongs (None: the whole form)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def state(user: User) -> dict:
    data = snapshot(user, FIELDS[:-1])
    data["estate_ids"] = sorted(e.id for e in user.estates)
    return data


def may_manage(actor: User, user: User) -> bool:
    """A company manager manages every staff account; an estate manager those of their estates only."""
    if user.role not in STAFF_ROLES:
        return False
    if scope.is_company(actor):
        return True
    if user.company_wide:
        return False
    mine = scope.estate_ids(actor) or set()
    theirs = {e.id for e in user.estates}
    return bool(theirs) and theirs <= mine


def _is_company_manager(user_state: dict) -> bool:
    return user_state["role"] == Role.MANAGER.value and user_state["company_wide"] and user_state["active"]


def _check_last_manager(user: User, before: dict, after: dict) -> None:
    if _is_company_manager(before) and not _is_company_manager(after):
        others = db.session.scalar(select(func.count()).select_from(User).where(
            User.role == Role.MANAGER, User.company_wide.is_(True), User.active.is_(True), User.id != user.id))
        if not others:
            raise Refused(_("This is the last active company-level manager: make another manager company-level "
                            "first, or nobody could run the company's administration."))


def _check_shape(actor: User, values: dict) -> None:
    role = Role(values["role"])
    if values["company_wide"] and not scope.is_company(actor):
        raise Refused(_("Only a company-level manager can give company-level access."), "company_wide")
    if not values["company_wide"] and not values["estate_ids"]:
        raise Refused(_("Choose at least one estate (or make the account company-level)."), "estates")
    if role == Role.DEPARTMENT and not values["department_id"]:
        raise Refused(_("Choose the department this person works in."), "department_id")


def temporary_password() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(12))


def apply(actor: User, user: User, values: dict, *, new: bool = False) -> str | None:
    """Create or change a staff account from checked form values; returns a new temporary password
    for a new account. Raises Refused. An estate manager's edit keeps estates they do not administer."""
    ids = scope.estate_ids(actor)
    chosen = set(values["estate_ids"])
    if ids is not None:
        chosen &= ids
        chosen |= {e.id for e in user.estates} - ids
    values = dict(values, estate_ids=sorted(chosen))
    _check_shape(actor, values)
    before = None if new else state(user)
    if before is not None and before["company_wide"] and not scope.is_company(actor):
        raise Refused(_("Only a company-level manager can change a company-level account."))
    after = dict(before or {}, **{k: v for k, v in values.items()}, active=True if new else user.active)
    role = Role(values["role"])
    after["role"] = role.value
    after["department_id"] = values["department_id"] if role == Role.DEPARTMENT else None
    after["department_head"] = bool(values.get("department_head")) and role == Role.DEPARTMENT
    after["manager_level"] = values["manager_level"] if role == Role.MANAGER else 1
    if not new:
        _check_last_manager(user, before, after)
    user.display_name, user.phone, user.email = after["display_name"], after["phone"], after["email"]
    user.role, user.department_id, user.department_head = role, after["department_id"], after["department_head"]
    user.manager_level, user.company_wide = after["manager_level"], bool(after["company_wide"])
    user.estates = list(db.session.scalars(select(Estate).where(Estate.id.in_(after["estate_ids"] or [-1]))))
    password = None
    if new:
        user.active = True
        password = temporary_password()
        user.set_password(password)
        user.password_temporary = True
        db.session.add(user)
        db.session.flush()
        record(actor, "user", user.id, "create", after={**after, "username": user.username},
                       estate_id=_first(after["estate_ids"]), summary=f"{user.username} {user.display_name}")
        return password
    if any(before[k] != after[k] for k in SESSION_FIELDS):
        user.end_sessions()
    db.session.flush()
    record(actor, "user", user.id, "update", before=before, after=state(user),
           estate_id=_first(after["estate_ids"]), summary=f"{user.username} {user.display_name}")
    return None


def _first(ids):
    return ids[0] if ids else None


def set_active(actor: User, user: User, active: bool) -> None:
    """Deactivate (sessions end at once) or reactivate a staff account. Raises Refused."""
    before = state(user)
    after = dict(before, active=active)
    _check_last_manager(user, before, after)
    if user.active == active:
        return
    user.active = active
    if not active:
        user.end_sessions()
    record(actor, "user", user.id, "reactivate" if active else "deactivate", before={"active": before["active"]},
           after={"active": active}, estate_id=_first(before["estate_ids"]),
           summary=f"{user.username} {user.display_name}")


def reset_password(actor: User, user: User) -> str:
    """A new temporary password, shown once; the old one and every session stop working."""
    password = temporary_password()
    user.set_password(password)
    user.password_temporary = True
    user.end_sessions()
    record(actor, "user", user.id, "password", after={"password_temporary": True},
           estate_id=_first(sorted(e.id for e in user.estates)), summary=f"{user.username} {user.display_name}")
    return password
