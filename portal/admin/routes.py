"""Manager settings: the standard reply phrases (规范用语)."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import audit

from portal.access import role_required
from portal.admin import bp
from portal.admin.scope import chosen_estate, may_edit
from portal.admin.changes import log_change, log_create
from portal.admin.forms import PhraseForm
from portal.extensions import db
from portal.models import Phrase, Role

PHRASE_FIELDS = ("text", "position", "active", "use")


def _phrases(estate_id: int | None):
    """The company's phrases (None) or one estate's own."""
    owner = Phrase.estate_id.is_(None) if estate_id is None else Phrase.estate_id == estate_id
    return list(db.session.scalars(select(Phrase).where(owner).order_by(Phrase.position, Phrase.id)))


def _page(form, edits, estate_id, estates):
    return render_template("admin/phrases.html", form=form, edits=edits, estate_id=estate_id, estates=estates,
                           owner_endpoint="admin.phrases")


@bp.route("/admin/phrases", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def phrases():
    """List the company's or one estate's phrases and add one."""
    estate_id, estates = chosen_estate(current_user, request.args.get("estate", type=int))
    form = PhraseForm(prefix="new")
    if form.validate_on_submit():
        phrase = Phrase(text=form.text.data.strip(), position=form.position.data or 0, active=True,
                        estate_id=estate_id, use=form.use.data or "")
        db.session.add(phrase)
        db.session.flush()
        log_create(current_user, "phrase", phrase, PHRASE_FIELDS, estate_id=phrase.estate_id,
                   summary=phrase.text[:60])
        db.session.commit()
        flash(_("Phrase added."), "success")
        return redirect(url_for("admin.phrases", estate=estate_id))
    edits = [(p, PhraseForm(formdata=None, prefix=f"p{p.id}", obj=p)) for p in _phrases(estate_id)]
    return _page(form, edits, estate_id, estates)


@bp.route("/admin/phrases/<int:phrase_id>", methods=["POST"])
@role_required(Role.MANAGER)
def edit_phrase(phrase_id: int):
    """Change a phrase's text, order or whether it is offered (never deleted)."""
    phrase = db.session.get(Phrase, phrase_id) or abort(404)
    if not may_edit(current_user, phrase.estate_id):
        abort(404)
    estate_id, estates = chosen_estate(current_user, phrase.estate_id)
    form = PhraseForm(prefix=f"p{phrase.id}")
    if form.validate_on_submit():
        before = audit.snapshot(phrase, PHRASE_FIELDS)
        form.populate_obj(phrase)
        phrase.position = phrase.position or 0
        phrase.use = phrase.use or ""
        log_change(current_user, "phrase", phrase, PHRASE_FIELDS, before, estate_id=phrase.estate_id,
                   summary=phrase.text[:60])
        db.session.commit()
        flash(_("Phrase saved."), "success")
        return redirect(url_for("admin.phrases", estate=estate_id))
    edits = [(p, form if p.id == phrase.id else PhraseForm(formdata=None, prefix=f"p{p.id}", obj=p))
             for p in _phrases(estate_id)]
    return _page(PhraseForm(formdata=None, prefix="new"), edits, estate_id, estates)


@bp.route("/admin/settings", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def settings_page():
    """Every declared setting on one page; invalid input comes back with messages beside it."""
    from portal import settings
    from portal.admin.settings_form import sections, settings_form

    form = settings_form()
    if form.validate_on_submit():
        for key in settings.SPECS:
            value, old = form[key].data, settings.get(key)
            if value != old:
                settings.put(key, value, current_user)
                audit.record(current_user, "setting", key, "update", before={key: old}, after={key: value},
                             summary=key)
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("admin.settings_page"))
    return render_template("admin/settings.html", form=form, sections=sections(form))


# The administration screens (SPEC §9) register on the same blueprint.
from portal.admin import audit_log, catalog, places, residents, reveals, staff  # noqa: E402,F401
