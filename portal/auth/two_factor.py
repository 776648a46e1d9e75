"""Managers' optional second factor: switching it on and off, and the step after the password."""
from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import public, role_required
from portal.auth import bp, totp
from portal.auth.forms import PasswordConfirmForm, TotpCodeForm
from portal.auth.routes import HOME
from portal.auth.sessions import MAX_SECOND_FACTOR_TRIES, pending_second_factor, sign_in
from portal.extensions import db
from portal.models import Role
from portal.security import code_address_limit, code_failed, limiter


@bp.route("/login/2fa", methods=["GET", "POST"])
@limiter.limit(code_address_limit, methods=["POST"], deduct_when=code_failed)
@public
def second_factor():
    """The code from the manager's authenticator app (or a recovery code) after the password."""
    user = pending_second_factor()
    if user is None:
        session.pop("2fa", None)
        return redirect(url_for("auth.login"))
    form = TotpCodeForm()
    if form.validate_on_submit():
        if totp.verify(user, form.code.data):
            db.session.commit()
            target = session["2fa"].get("next")
            sign_in(user)
            if user.password_temporary:
                return redirect(url_for("auth.change_password"))
            return redirect(target or url_for(HOME[user.role]))
        pending = dict(session["2fa"], tries=session["2fa"].get("tries", 0) + 1)
        if pending["tries"] >= MAX_SECOND_FACTOR_TRIES:
            session.pop("2fa", None)
            flash(_("Too many wrong codes. Sign in again."), "error")
            return redirect(url_for("auth.login"))
        session["2fa"] = pending
        form.code.errors.append(_("Wrong code. Check the time on your phone and try again."))
    return render_template("auth/second_factor.html", form=form)


@bp.route("/account/2fa", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def two_factor():
    """Switch on sign-in with an authenticator app; the recovery codes are shown once."""
    user = current_user._get_current_object()
    if totp.enabled(user):
        return render_template("auth/two_factor.html", enabled=True, remaining=totp.remaining_recovery_codes(user),
                               off_form=PasswordConfirmForm())
    secret = session.get("totp_secret") or totp.new_secret()
    session["totp_secret"] = secret  # kept in the session until confirmed: a GET writes nothing
    form = TotpCodeForm()
    if form.validate_on_submit():
        codes = totp.confirm(user, secret, form.code.data)
        if codes:
            session.pop("totp_secret", None)
            db.session.commit()
            return render_template("auth/two_factor.html", enabled=True, codes=codes,
                                   remaining=len(codes), off_form=PasswordConfirmForm())
        form.code.errors.append(_("Wrong code. Check the time on your phone and try again."))
    return render_template("auth/two_factor.html", enabled=False, form=form, secret=secret,
                           uri=totp.provisioning_uri(user, secret))


@bp.route("/account/2fa/off", methods=["POST"])
@role_required(Role.MANAGER)
def two_factor_off():
    """Switch the second factor off (the password is asked again)."""
    user = current_user._get_current_object()
    if not totp.enabled(user):
        return redirect(url_for("auth.two_factor"))
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        if user.check_password(form.password.data):
            totp.disable(user)
            db.session.commit()
            flash(_("Two-step sign-in is off."), "success")
            return redirect(url_for("auth.account"))
        form.password.errors.append(_("This is not your current password."))
    return render_template("auth/two_factor.html", enabled=True,
                           remaining=totp.remaining_recovery_codes(user), off_form=form)
