"""Signing in (password or SMS code), registering, signing out, the language switch and the home page."""
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.access import ALL_ROLES, public, role_required
from portal.auth import bp, totp
from portal.auth.codes import account_for, check_code, send_code, wait_seconds
from portal.auth.claims import current_residencies
from portal.auth.forms import CodeSignInForm, EmptyForm, LoginForm, RegisterForm
from portal.auth.passwords import check_password_timed, self_reset_enabled
from portal.auth.phone import masked, normalize_phone, residents_with_phone
from portal.auth.sessions import begin_second_factor, sign_in, sign_out
from portal.extensions import db
from portal.models import Role, User
from portal.security import (
    code_address_limit, code_failed, limiter, login_account_key, login_failed, not_sending, sms_address_limit,
    sms_number_key, sms_number_limit, sending,
)

HOME = {
    Role.RESIDENT: "cases.my_cases",
    Role.CLERK: "board.board",
    Role.MANAGER: "board.board",
    Role.DEPARTMENT: "department.queue",
}


def _safe_next(target: str | None) -> str | None:
    """Only relative paths on this site, never another host; control characters go home."""
    if not target or any(ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/")
@public
def home():
    """Send each role to its own start page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOME[current_user.role]))


def _find_account(login: str) -> User | None:
    """By username; a resident may also type the mobile number."""
    user = db.session.scalar(select(User).where(User.username == login))
    phone = normalize_phone(login) if user is None else None
    if phone:
        user = next((u for u in residents_with_phone(phone) if u.password_hash), None)
    return user


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"], key_func=login_account_key,
               methods=["POST"], deduct_when=login_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], methods=["POST"], deduct_when=login_failed)
@public
def login():
    """Username and password; a wrong pair gets one message, no hint which was wrong."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = _find_account(form.username.data.strip())
        if check_password_timed(user, form.password.data) and user.active:
            if totp.enabled(user):
                begin_second_factor(user, _safe_next(form.next.data))
                return redirect(url_for("auth.second_factor"))
            sign_in(user)
            if user.password_temporary:
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(form.next.data) or url_for(HOME[user.role]))
        form.password.errors.append(_("Wrong username or password."))
    return render_template("auth/login.html", form=form, self_reset=self_reset_enabled())


def _code_page(form, template: str, sent_to: str = ""):
    dev_outbox = (current_app.config["OUTBOX_DIR"] if current_app.config["ENV_NAME"] != "production"
                  and current_app.config["SMS_BACKEND"] == "file" else None)
    return render_template(template, form=form, sent_to=sent_to, dev_outbox=dev_outbox)


def _code_flow(form, template: str):
    """Send a code or check one; on success sign in (a new number gets an account without a unit)."""
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        return _code_page(form, template)
    phone, name = form.phone.data, getattr(getattr(form, "name", None), "data", "") or ""
    if form.send.data:
        wait = wait_seconds(phone)
        if wait:
            form.phone.errors.append(_("A code was sent less than a minute ago. Wait %(s)d seconds.", s=wait))
            return _code_page(form, template)
        user = account_for(phone, name)
        send_code(user, phone, request.remote_addr or "")
        db.session.commit()
        form.code.data = ""
        return _code_page(form, template, sent_to=masked(phone))
    result = check_code(phone, form.code.data)
    if result.user is None:
        db.session.commit()  # the wrong try counts
        form.code.errors.append({
            "wrong": _("Wrong code. Check the SMS and try again."),
            "expired": _("The code has expired (codes last 5 minutes). Send a new one."),
            "spent": _("This code can no longer be used. Send a new one."),
        }.get(result.problem, _("No code was sent to this number yet. Press “Send code” first.")))
        return _code_page(form, template)
    user = result.user
    if name and user.display_name == masked(phone):
        user.display_name = name.strip()[:50]
    db.session.commit()
    sign_in(user)
    if not user.unit_id and not current_residencies(user):
        flash(_("Signed in. Tell us which unit is yours."), "success")
        return redirect(url_for("auth.units"))
    return redirect(_safe_next(form.next.data) or url_for(HOME[user.role]))


def _code_limits(view):
    """Per number and per address on sending; per address on wrong codes (Flask-Limiter)."""
    view = limiter.limit(code_address_limit, methods=["POST"], deduct_when=code_failed, exempt_when=sending)(view)
    view = limiter.limit(sms_address_limit, methods=["POST"], exempt_when=not_sending)(view)
    return limiter.limit(sms_number_limit, key_func=sms_number_key, methods=["POST"], exempt_when=not_sending)(view)


@bp.route("/login/code", methods=["GET", "POST"])
@_code_limits
@public
def login_code():
    """Residents: mobile number and SMS code."""
    return _code_flow(CodeSignInForm(), "auth/login_code.html")


@bp.route("/register", methods=["GET", "POST"])
@_code_limits
@public
def register():
    """Residents register with their mobile number and a code, then claim a unit."""
    return _code_flow(RegisterForm(), "auth/register.html")


def refused_page():
    """Too many attempts on a sign-in page: the form comes back with what was typed and the reason (429)."""
    pages = {"auth.login": (LoginForm, "auth/login.html", "password"),
             "auth.login_code": (CodeSignInForm, "auth/login_code.html", "phone"),
             "auth.register": (RegisterForm, "auth/register.html", "phone")}
    if request.endpoint not in pages:
        return None
    form_class, template, field = pages[request.endpoint]
    form = form_class()
    form.validate_on_submit()
    for f in form:
        f.errors = []
    getattr(form, field).errors = [_("Too many failed attempts. Wait a few minutes and try again.")
                                   if field == "password" else
                                   _("Too many attempts. Wait a few minutes and try again.")]
    if field == "password":
        return render_template(template, form=form, self_reset=self_reset_enabled()), 429
    return _code_page(form, template), 429


@bp.route("/logout", methods=["POST"])
@role_required(*ALL_ROLES)
def logout():
    """End the session, and every other session of the account (a copied cookie stops working)."""
    current_user.end_sessions()
    db.session.commit()
    sign_out()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_language(code: str):
    """Switch the interface language for this session, and for a signed-in person's SMS and e-mail."""
    if EmptyForm().validate_on_submit() and code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated and current_user.language != code:
            current_user.language = code  # their SMS and e-mail follow (portal.messages.locale_of)
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("auth.home"))


from portal.auth import account, desk, two_factor  # noqa: E402,F401  (more routes on this blueprint)
