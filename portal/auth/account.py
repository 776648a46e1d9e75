"""The account page: password, homes (unit claims), signing out everywhere; password resets."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.access import ALL_ROLES, public, role_required
from portal.auth import bp
from portal.auth.claims import claim_unit, current_residencies, find_unit
from portal.auth.forms import ChangePasswordForm, ClaimForm, EmptyForm, NewPasswordForm, ResetRequestForm
from portal.auth import passwords
from portal.auth.passwords import policy_problem, request_reset, reset_for, self_reset_enabled, use_reset
from portal.auth.sessions import sign_in, sign_out
from portal.extensions import db
from portal.models import Estate, Role, UnitClaim


@bp.route("/account")
@role_required(*ALL_ROLES)
def account():
    """Who I am, my password, my homes and signing out everywhere."""
    return render_template("auth/account.html", end_form=EmptyForm())


@bp.route("/account/password", methods=["GET", "POST"])
@role_required(*ALL_ROLES)
def change_password():
    """Change (or, for a resident signed in by code, add) a password; other sessions end."""
    form = ChangePasswordForm()
    has_password = bool(current_user.password_hash)
    if form.validate_on_submit():
        if has_password and not current_user.check_password(form.current_password.data or ""):
            form.current_password.errors.append(_("This is not your current password."))
        elif problem := policy_problem(form.new_password.data, current_user.username):
            form.new_password.errors.append(problem)
        else:
            user = current_user._get_current_object()
            change_password_of(user, form.new_password.data)
            flash(_("Your password is changed. Every other session was signed out."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/password.html", form=form, has_password=has_password)


def change_password_of(user, password: str) -> None:
    passwords.change_password(user, password)
    db.session.commit()
    sign_in(user)  # this session carries on with the new session version


@bp.route("/account/sessions/end", methods=["POST"])
@role_required(*ALL_ROLES)
def end_sessions():
    """Sign out everywhere: every session of the account, this one included."""
    if EmptyForm().validate_on_submit():
        current_user.end_sessions()
        db.session.commit()
        sign_out()
        flash(_("You were signed out on every device."), "success")
    return redirect(url_for("auth.login"))


def _claim_form() -> ClaimForm:
    form = ClaimForm()
    estates = db.session.scalars(select(Estate).where(Estate.active.is_(True)).order_by(Estate.position, Estate.id))
    form.estate_id.choices = [(0, _("Choose…"))] + [(e.id, e.name) for e in estates]
    return form


@bp.route("/account/units", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
def units():
    """A resident's homes and claims; claim another unit."""
    form = _claim_form()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        unit = find_unit(form.estate_id.data, form.building.data, form.unit.data)
        if unit is None:
            form.unit.errors.append(_("There is no such unit in this estate. Check the building and unit number."))
        else:
            from portal.models import Relation
            outcome = claim_unit(user, unit, Relation(form.relation.data), form.note.data or "")
            if outcome.problem == "held":
                form.unit.errors.append(_("This unit is already yours."))
            elif outcome.problem == "pending":
                form.unit.errors.append(_("Your claim for this unit is already waiting for the service centre."))
            else:
                db.session.commit()
                flash(_("%(unit)s is now linked to your account.", unit=unit.label) if outcome.linked else
                      _("Your claim for %(unit)s was sent to the service centre. We will tell you by SMS.",
                        unit=unit.label), "success")
                return redirect(url_for("auth.units"))
    claims = db.session.scalars(select(UnitClaim).where(UnitClaim.user_id == user.id)
                                .order_by(UnitClaim.created_at.desc(), UnitClaim.id.desc()).limit(20))
    return render_template("auth/units.html", form=form, homes=current_residencies(user), claims=list(claims))


@bp.route("/reset", methods=["GET", "POST"])
@public
def request_password_reset():
    """Staff with an e-mail address ask for a 30-minute reset link."""
    form = ResetRequestForm()
    if self_reset_enabled() and form.validate_on_submit():
        request_reset(form.login.data)
        db.session.commit()
        flash(_("If an account with an e-mail address matches, a link valid for 30 minutes is on its way."),
              "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form, enabled=self_reset_enabled())


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    """Choose a new password with a one-time link."""
    reset = reset_for(token)
    form = NewPasswordForm()
    if reset is not None and form.validate_on_submit():
        if problem := policy_problem(form.new_password.data, reset.user.username):
            form.new_password.errors.append(problem)
        else:
            use_reset(reset, form.new_password.data)
            db.session.commit()
            flash(_("Your new password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, valid=reset is not None, token=token)
