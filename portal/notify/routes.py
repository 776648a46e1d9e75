"""In-app notifications (the bell) and the managers' view of deliveries."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import update

from portal.access import ALL_ROLES, can_view, notifications_clause, role_required
from portal.extensions import db
from portal.htmx import render
from portal.models import Notification, Role
from portal.notify import bp
from portal.notify.jobs import reason_of, retry_failed, retry_failed_bulk
from portal.notify.outbox import unread_count
from portal.pagination import page_number, paginate
from portal.timeutil import utcnow

PAGE_SIZE = 20


def _page(stmt):
    """The page of stmt the query string asks for."""
    return paginate(stmt, page_number(request.args.get("page")), PAGE_SIZE)


@bp.route("/notifications/bell")
@role_required(*ALL_ROLES)
def bell():
    """The unread count in the top bar; htmx polls it."""
    return render_template("notify/_bell.html", unread=unread_count(current_user))


@bp.route("/notifications")
@role_required(*ALL_ROLES)
def inbox():
    """The user's in-app notifications, newest first."""
    stmt = (db.select(Notification).where(notifications_clause(current_user), Notification.channel == "inapp")
            .order_by(Notification.id.desc()))
    return render("notify/inbox.html", "notify/_list.html", "notification-list", page=_page(stmt),
                  form=FlaskForm(), unread=unread_count(current_user))


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@role_required(*ALL_ROLES)
def open_notification(notification_id: int):
    """Mark one read and go to its case."""
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != current_user.id or (n.case_id and not can_view(current_user, n.case)):
        abort(404)
    if FlaskForm().validate_on_submit():
        n.read_at = n.read_at or utcnow()
        db.session.commit()
    return redirect(url_for("cases.detail", case_id=n.case_id) if n.case_id else url_for("notify.inbox"))


@bp.route("/notifications/read-all", methods=["POST"])
@role_required(*ALL_ROLES)
def read_all():
    """Mark every notification read."""
    if FlaskForm().validate_on_submit():
        db.session.execute(
            update(Notification).where(Notification.user_id == current_user.id, Notification.channel == "inapp",
                                       Notification.read_at.is_(None)).values(read_at=utcnow())
        )
        db.session.commit()
        flash(_("All notifications marked as read."), "success")
    return redirect(url_for("notify.inbox"))


@bp.route("/admin/outbox")
@role_required(Role.MANAGER)
def outbox():
    """Deliveries by e-mail and SMS: failed first, then pending; each can be retried."""
    state = request.args.get("state", "failed")
    if state not in ("failed", "pending", "sent"):
        state = "failed"
    statuses = ("pending", "sending") if state == "pending" else (state,)
    mine = notifications_clause(current_user, own=False)
    stmt = (db.select(Notification).where(mine, Notification.channel != "inapp", Notification.status.in_(statuses))
            .order_by(Notification.id.desc()))
    counts = dict(db.session.execute(
        db.select(Notification.status, db.func.count()).where(mine, Notification.channel != "inapp")
        .group_by(Notification.status)).all())
    errors = db.session.scalars(db.select(Notification.last_error).where(mine, Notification.status == "failed")
                                .distinct().limit(200))
    reasons = sorted({reason_of(e) for e in errors if e})
    return render_template("notify/outbox.html", page=_page(stmt), state=state,
                           counts=counts, form=FlaskForm(), reasons=reasons)


@bp.route("/admin/outbox/<int:notification_id>/retry", methods=["POST"])
@role_required(Role.MANAGER)
def retry(notification_id: int):
    """Send a failed delivery again."""
    if db.session.scalar(db.select(Notification.id).where(
            Notification.id == notification_id, notifications_clause(current_user, own=False))) is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        if retry_failed(notification_id):
            db.session.commit()
            flash(_("Delivery queued again."), "success")
        else:
            flash(_("Only a failed delivery can be retried."), "error")
    return redirect(url_for("notify.outbox", state="failed"))


@bp.route("/admin/outbox/retry", methods=["POST"])
@role_required(Role.MANAGER)
def retry_bulk():
    """Send every failed delivery again, or those of one channel and/or one reason."""
    if FlaskForm().validate_on_submit():
        channel = request.form.get("channel", "")
        channel = channel if channel in ("email", "sms") else ""
        n = retry_failed_bulk(channel, (request.form.get("reason") or "").strip()[:40],
                              scope=notifications_clause(current_user, own=False))
        db.session.commit()
        flash(_("%(n)d deliveries queued again.", n=n) if n else _("No failed delivery matched."),
              "success" if n else "error")
    return redirect(url_for("notify.outbox", state="failed"))
