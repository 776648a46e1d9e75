"""The managers' screens for integrations: keys (issue, shown once, revoke, last use) and webhook
subscriptions (create, deliveries with every attempt, resend). Scoped to the manager's estates."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select, update
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, URL
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from portal import audit
from portal.access import estate_ids, role_required
from portal.api.keys import issue, revoke
from portal.extensions import db
from portal.models import ApiKey, Estate, Notification, Role, WebhookAttempt, WebhookSubscription
from portal.models.api import EVENTS, PERMISSIONS
from portal.pagination import paginate
from portal.timeutil import utcnow

bp = Blueprint("integrations", __name__, url_prefix="/admin/integrations")


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class KeyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=80)])
    estates = Checkboxes(_l("Estates"), coerce=int, validators=[DataRequired(_l("Choose at least one estate."))])
    permissions = Checkboxes(_l("Permissions"), choices=[SelectChoice(p, p) for p in PERMISSIONS],
                             validators=[DataRequired(_l("Choose at least one permission."))])


class HookForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=80)])
    url = StringField(_l("URL"), validators=[DataRequired(_l("Enter the receiver's URL.")), Length(max=500),
                                             URL(require_tld=False, message=_l("Enter an http(s) URL."))])
    estates = Checkboxes(_l("Estates"), coerce=int, validators=[DataRequired(_l("Choose at least one estate."))])
    events = Checkboxes(_l("Events"), choices=[SelectChoice(e, e) for e in EVENTS],
                        validators=[DataRequired(_l("Choose at least one event."))])


def _estate_choices() -> list[SelectChoice]:
    ids = estate_ids(current_user)
    rows = db.session.execute(select(Estate.id, Estate.name).where(Estate.active.is_(True)).order_by(Estate.name))
    return [SelectChoice(i, n) for i, n in rows if ids is None or i in ids]


def _mine(estates) -> bool:
    """A manager administers a key or subscription only if every one of its estates is theirs."""
    ids = estate_ids(current_user)
    return ids is None or all(e.id in ids for e in estates)


def _key_or_404(key_id: int) -> ApiKey:
    key = db.session.get(ApiKey, key_id)
    if key is None or not _mine(key.estates):
        abort(404)
    return key


def _hook_or_404(hook_id: int) -> WebhookSubscription:
    hook = db.session.get(WebhookSubscription, hook_id)
    if hook is None or not _mine(hook.estates):
        abort(404)
    return hook


@bp.route("/", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def keys():
    """Integration keys: issue one (shown once), see last use, revoke."""
    form = KeyForm()
    form.estates.choices = _estate_choices()
    secret = None
    if form.validate_on_submit():
        estates = [db.session.get(Estate, i) for i in form.estates.data]
        key, secret = issue(form.name.data, estates, form.permissions.data, current_user)
        audit.record(current_user, "api_key", key.id, "create", after={
            "name": key.name, "permissions": key.permissions, "estates": [e.name for e in estates]},
            estate_id=estates[0].id if len(estates) == 1 else None)
        db.session.commit()
        form = KeyForm(formdata=None)
        form.estates.choices = _estate_choices()
    rows = [k for k in db.session.scalars(select(ApiKey).order_by(ApiKey.id.desc())) if _mine(k.estates)]
    return render_template("api/keys.html", form=form, keys=rows, secret=secret, action_form=FlaskForm())


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"])
@role_required(Role.MANAGER)
def revoke_key(key_id: int):
    """Revoke a key: refused from its next call on."""
    key = _key_or_404(key_id)
    if FlaskForm().validate_on_submit() and key.revoked_at is None:
        revoke(key)
        audit.record(current_user, "api_key", key.id, "revoke", before={"revoked": False}, after={"revoked": True})
        db.session.commit()
        flash(_("The key is revoked."), "success")
    return redirect(url_for("integrations.keys"))


@bp.route("/webhooks", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def webhooks():
    """Webhook subscriptions: create one (its signing secret shown once), open its deliveries."""
    form = HookForm()
    form.estates.choices = _estate_choices()
    secret = None
    if form.validate_on_submit():
        secret = secrets.token_urlsafe(32)
        hook = WebhookSubscription(name=form.name.data.strip(), url=form.url.data.strip(), secret=secret,
                                   events=",".join(form.events.data), created_by=current_user, created_at=utcnow(),
                                   estates=[db.session.get(Estate, i) for i in form.estates.data])
        db.session.add(hook)
        db.session.flush()
        audit.record(current_user, "webhook", hook.id, "create", after={"url": hook.url, "events": hook.events})
        db.session.commit()
        form = HookForm(formdata=None)
        form.estates.choices = _estate_choices()
    rows = [h for h in db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id.desc()))
            if _mine(h.estates)]
    return render_template("api/webhooks.html", form=form, hooks=rows, secret=secret, action_form=FlaskForm())


@bp.route("/webhooks/<int:hook_id>")
@role_required(Role.MANAGER)
def deliveries(hook_id: int):
    """A subscription's deliveries, newest first, each with every attempt and a resend button."""
    hook = _hook_or_404(hook_id)
    stmt = (select(Notification).where(Notification.channel == "webhook",
                                       Notification.dedup_key.startswith(f"wh:{hook.id}:"))
            .order_by(Notification.id.desc()))
    page = paginate(stmt, request.args.get("page", 1, type=int), 20)
    ids = [n.id for n in page.items]
    attempts: dict[int, list] = {}
    for a in db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.notification_id.in_(ids or [-1]))
                                .order_by(WebhookAttempt.id)):
        attempts.setdefault(a.notification_id, []).append(a)
    return render_template("api/deliveries.html", hook=hook, page=page, attempts=attempts, action_form=FlaskForm())


@bp.route("/webhooks/<int:hook_id>/toggle", methods=["POST"])
@role_required(Role.MANAGER)
def toggle_hook(hook_id: int):
    """Pause or resume a subscription."""
    hook = _hook_or_404(hook_id)
    if FlaskForm().validate_on_submit():
        hook.active = not hook.active
        audit.record(current_user, "webhook", hook.id, "update", before={"active": not hook.active},
                     after={"active": hook.active})
        db.session.commit()
    return redirect(url_for("integrations.webhooks"))


@bp.route("/webhooks/<int:hook_id>/deliveries/<int:delivery_id>/resend", methods=["POST"])
@role_required(Role.MANAGER)
def resend(hook_id: int, delivery_id: int):
    """Send a delivery again, whatever its state: the same event id, so the receiver can drop a repeat."""
    hook = _hook_or_404(hook_id)
    row = db.session.get(Notification, delivery_id)
    if row is None or row.channel != "webhook" or not row.dedup_key.startswith(f"wh:{hook.id}:"):
        abort(404)
    if FlaskForm().validate_on_submit():
        from portal.jobs import after_commit
        if row.status != "sending":
            db.session.execute(update(Notification).where(Notification.id == row.id).values(
                status="pending", attempts=0, errors=0, claimed_at=None, next_attempt_at=None))
            after_commit("portal.notify.jobs.deliver_many", [row.id], queue="portal-notify")
            db.session.commit()
            flash(_("Delivery queued again."), "success")
    return redirect(url_for("integrations.deliveries", hook_id=hook.id))
