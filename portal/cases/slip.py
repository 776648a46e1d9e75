"""The work contact slip 工作联系单: what it prints, and the QR code that opens the case on a technician's phone."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from portal import settings
from portal.auth.passwords import external_url
from portal.extensions import db
from portal.models import Case, CaseEvent, Estate

settings.define("company_name", "", _l("Company name (printed on work contact slips)"), "str",
                _l("Work contact slips"))


def case_qr_svg(url: str) -> Markup:
    """The URL as an inline SVG QR code (no XML declaration, no external file: allowed by the CSP)."""
    import segno  # here, not at start: only the slip draws QR codes
    qr = segno.make(url, error="m")
    return Markup(qr.svg_inline(scale=3, border=2, dark="#000", light="#fff", omitsize=False))


def slip_context(case: Case) -> dict:
    """The last dispatch (its instruction and time), the case link and its QR code, the company name."""
    dispatch = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "dispatch")
                                 .order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(1))
    # The instruction to the department is internal text (portal.cases.actions: dispatch's "note").
    instruction = (dispatch.internal_note or "").strip() if dispatch is not None else ""
    link = external_url("cases.detail", case_id=case.id)
    estate = db.session.get(Estate, case.estate_id) if case.estate_id else None
    return {"dispatch": dispatch, "estate_name": estate.name if estate else "", "instruction": instruction, "case_link": link, "qr": case_qr_svg(link),
            "company_name": settings.get("company_name") or ""}
