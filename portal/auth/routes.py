"""Login, logout, language switch and the role-based home page."""
from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from portal.access import ALL_ROLES, public, role_required
from portal.auth import bp
from portal.auth.forms import EmptyForm, LoginForm
from portal.extensions import db
from portal.models import Role, User
from portal.security import limiter, login_account_key, login_failed

HOME = {
    Role.RESIDENT: "cases.my_cases",
    Role.CLERK: "board.board",
    Role.MANAGER: "board.board",
    Role.DEPARTMENT: "department.queue",
}


def _safe_next(target: str | None) -> str | None:
    """Only relative paths on this site, never another host."""
    if not target:
        return None
    parts = urlsplit(target)
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
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if user is not None and user.active and user.check_password(form.password.data):
            login_user(user)
            session.permanent = True
            return redirect(_safe_next(form.next.data) or url_for(HOME[user.role]))
        form.password.errors.append(_("Wrong username or password."))
    return render_template("auth/login.html", form=form)


def login_refused():
    """Too many failed attempts: the form comes back with the username and the reason."""
    form = LoginForm()
    form.password.errors = [_("Too many failed attempts. Wait a few minutes and try again.")]
    return render_template("auth/login.html", form=form), 429


@bp.route("/logout", methods=["POST"])
@role_required(*ALL_ROLES)
def logout():
    """End the session."""
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_language(code: str):
    """Switch the interface language for this session."""
    if EmptyForm().validate_on_submit() and code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")) or url_for("auth.home"))
