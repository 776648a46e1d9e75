"""The desk decides residents' unit claims for its estates."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import STAFF, role_required
from portal.auth import bp
from portal.auth.claims import approve, desk_may_decide, refuse, waiting_claims
from portal.auth.forms import RELATION, EmptyForm, RefuseClaimForm
from portal.extensions import db
from portal.models import ClaimStatus, UnitClaim


def _claim_or_404(claim_id: int) -> UnitClaim:
    claim = db.session.get(UnitClaim, claim_id)
    if claim is None or not desk_may_decide(current_user, claim):
        abort(404)
    return claim


def _refuse_form(claim_id: int, formdata=None) -> RefuseClaimForm:
    """One refusal form per claim: the prefix keeps field ids unique on the page. The token is the
    page's plain `csrf_token`, which CSRFProtect checks before the view (a prefixed form would rename it)."""
    if formdata is None:
        return RefuseClaimForm(prefix=f"claim{claim_id}", formdata=None, meta={"csrf": False})
    return RefuseClaimForm(prefix=f"claim{claim_id}", meta={"csrf": False})


def _page(posted: RefuseClaimForm | None = None, claim_id: int | None = None):
    claims = waiting_claims(current_user)
    forms = {c.id: posted if c.id == claim_id else _refuse_form(c.id) for c in claims}
    return render_template("auth/desk_claims.html", claims=claims, refuse_forms=forms, relations=RELATION)


@bp.route("/desk/claims")
@role_required(*STAFF)
def desk_claims():
    """Residents' unit claims waiting for this desk."""
    return _page()


@bp.route("/desk/claims/<int:claim_id>/approve", methods=["POST"])
@role_required(*STAFF)
def approve_claim(claim_id: int):
    """Record the resident at the unit; they are told in-app and by SMS."""
    claim = _claim_or_404(claim_id)
    if EmptyForm().validate_on_submit() and claim.status == ClaimStatus.PENDING:
        approve(claim, current_user)
        db.session.commit()
        flash(_("%(name)s is recorded at %(unit)s.", name=claim.user.display_name, unit=claim.unit.label), "success")
    return redirect(url_for("auth.desk_claims"))


@bp.route("/desk/claims/<int:claim_id>/refuse", methods=["POST"])
@role_required(*STAFF)
def refuse_claim(claim_id: int):
    """Refuse with a reason the resident reads."""
    claim = _claim_or_404(claim_id)
    form = _refuse_form(claim.id, formdata=True)
    if claim.status != ClaimStatus.PENDING:
        return redirect(url_for("auth.desk_claims"))
    if not form.validate_on_submit() or not form.reason.data.strip():
        if not form.reason.errors:
            form.reason.errors = [_("Give the resident a reason.")]
        return _page(form, claim.id)
    refuse(claim, current_user, form.reason.data)
    db.session.commit()
    flash(_("The claim is refused; %(name)s is told why.", name=claim.user.display_name), "success")
    return redirect(url_for("auth.desk_claims"))
