"""Who may see the complainant behind a case, and the logged reveal of their number (SPEC §1, §9).

One place for the rule, so every screen that shows a case's contact (the case page, the work slip,
the department's queue on a phone) asks the same questions:

- `masked(phone)`: 138****0000, what department staff see before they press "call".
- `sees_complainant(user, case)`: a complaint about a member of staff (`Case.misconduct`) keeps the
  complainant's identity, contact, witnesses and evidence for the customer-service centre (clerks)
  and managers; the department sees the matter only. Otherwise everyone who sees the case does.
- `needs_reveal(user, case)`: department staff get the masked number and a call button; clerks and
  managers (who register and call back) and the resident themself see it plainly.
- `may_see_attachment(user, attachment)`: evidence follows the complainant; a department's own
  photos (its completion report) stay visible to it.
- `reveal(user, case, at, address)`: logs one use of the call button and returns the number.
The template side is the `contact_phone(case)` macro of `templates/_privacy.html`.
"""
from __future__ import annotations

from datetime import datetime

from portal.extensions import db
from portal.models import Attachment, Case, PhoneReveal, Role, User

CONFIDANTS = (Role.CLERK, Role.MANAGER)  # the customer-service centre and managers


def masked(phone: str | None) -> str:
    """138****0000: the first three and the last four digits of a mobile, the rest hidden."""
    digits = (phone or "").strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) <= 7:
        return "*" * (len(digits) - 4) + digits[-4:]
    return f"{digits[:3]}****{digits[-4:]}"


def sees_complainant(user: User, case: Case) -> bool:
    """Whether the user may know who complained (and their witnesses and evidence)."""
    if user.role in CONFIDANTS or user.role == Role.RESIDENT:
        return True  # a resident only ever opens cases scoped to them
    return not case.misconduct


def needs_reveal(user: User, case: Case) -> bool:
    """Whether the user sees the number masked behind a logged call button."""
    return user.role == Role.DEPARTMENT and sees_complainant(user, case)


def phone_of(case: Case) -> str:
    """The number to call about the case: the one given with it, else the resident's mobile."""
    return case.contact_phone or (case.resident.phone if case.resident else "") or ""


def may_see_attachment(user: User, attachment: Attachment) -> bool:
    """Evidence is the complainant's: hidden from the department on a misconduct case, but its own photos."""
    case = attachment.case
    if sees_complainant(user, case):
        return True
    uploader = db.session.get(User, attachment.uploaded_by_id) if attachment.uploaded_by_id else None
    return uploader is not None and uploader.role == Role.DEPARTMENT


def reveal(user: User, case: Case, at: datetime, address: str = "") -> str:
    """Log one reveal of the case's number by `user` at `at` and return the number. The caller commits."""
    db.session.add(PhoneReveal(case_id=case.id, user_id=user.id, estate_id=case.estate_id, at=at,
                               address=(address or "")[:64]))
    return phone_of(case)
