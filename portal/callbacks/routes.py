"""The callback queue, the resident's survey (in the portal and by signed link), plans and works."""
from __future__ import annotations

from datetime import timedelta, timezone

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.access import (
    STAFF, can_view_task, estate_ids, get_case_or_404, in_estates, is_filer, public, role_required,
)
from portal import org, settings
from portal.cases.service import phrase_values
from portal.callbacks import bp, labels, links, plans, sampling, works
from portal.callbacks.forms import (
    DrawCheckForm, EmptyForm, GeneratePlanForm, PlanItemForm, PromiseAnswerForm, RecordForm, SurveyForm, WorksForm,
)
from portal.callbacks.links import read_token
from portal.callbacks.queue import next_task, queue_context
from portal.callbacks.service import (
    AlreadyDone, CallbackError, answer_promise, answer_survey, may_record, record_callback, survey_task,
)
from portal.extensions import db
from portal.forms import get_by_id
from portal.htmx import is_htmx, render, targets
from portal.security import limiter
from portal.models import (
    Building, CallbackPlan, CallbackPromise, CallbackTask, MaintenanceWork, Role, SampleSeed, TaskStatus, Unit,
)
from portal.timeutil import local_now, local_zone, utcnow

bp.add_app_template_global(survey_task, "pending_survey")

def _outcome_message(code: str, case=None) -> str:
    if code == "opened":
        return _("Callback recorded: the resident is dissatisfied, so case %(number)s was opened "
                 "(found during a callback) for the desk to classify and dispatch.", number=case.number)
    return {
        "done": _("Callback recorded."),
        "reopened": _("Callback recorded: the resident is dissatisfied, the case is reopened to its department "
                      "and the supervisor must visit."),
        "attempt": _("Attempt logged; the next attempt is scheduled."),
        "unreachable": _("Attempt logged; that was the last one: the callback ends as unreachable."),
    }[code]


def _task_or_404(task_id: int) -> CallbackTask:
    task = db.session.get(CallbackTask, task_id)
    if task is None or task.status == TaskStatus.PLANNED or not can_view_task(current_user, task):
        abort(404)
    return task


def _record_data(form: RecordForm) -> dict:
    data = {k: v for k, v in form.data.items() if k != "csrf_token"}
    data["reached"] = form.reached.data == "yes"
    if data.get("promised_reply_at") is not None:
        data["promised_reply_at"] = data["promised_reply_at"].replace(tzinfo=local_zone()).astimezone(timezone.utc)
    return data


def _panel_context(task: CallbackTask, form=None, answer_form=None, notice=None, following=None) -> dict:
    case = task.case
    promises = list(db.session.scalars(select(CallbackPromise).where(CallbackPromise.task_id == task.id)
                                       .order_by(CallbackPromise.id)))
    resident = links.recipient(task) if case is not None else None
    drawn = sampling.parse_detail(task.reason_detail)
    draw_check = {"month": drawn[0], "rate": drawn[1], "key": sampling.key_of(task)} if drawn else None
    return {"task": task, "case": case, "events": case.events if case else [], "promises": promises,
            "form": form or RecordForm(formdata=None), "answer_form": answer_form or PromiseAnswerForm(formdata=None),
            "may_record": may_record(current_user, task), "survey_sms": links.sent(task),
            "survey_phone": links.mask(resident.phone) if resident else None, "mask": links.mask,
            "empty": EmptyForm(formdata=None), "draw_check": draw_check, "notice": notice,
            "next_task": following, "L": labels, "phrases": _callback_phrases(task)}


def _callback_phrases(task: CallbackTask) -> list[str]:
    """The estate's standard phrases for callbacks, placeholders filled (case, department, promise, clerk)."""
    case = task.case
    estate_id = case.estate_id if case is not None else (task.unit.building.estate_id if task.unit else None)
    values = (phrase_values(case, current_user) if case is not None
              else {"case": "", "department": "", "promised": "", "clerk": current_user.display_name or ""})
    return [org.fill_phrase(p.text, values) for p in org.phrases_for(estate_id, "callback")]


@bp.route("/callbacks")
@role_required(*STAFF)
def queue():
    """The callback queue: due today, overdue, upcoming, done; filters by kind, caller, building."""
    ctx = queue_context(request.args, current_user)
    return render("callbacks/queue.html", "callbacks/_queue.html", "callback-queue", **ctx)


@bp.route("/callbacks/<int:task_id>")
@role_required(*STAFF)
def task(task_id: int):
    """One callback: the case history, the contact, what was promised, and the record form."""
    task = _task_or_404(task_id)
    if targets("task-panel"):
        return render("callbacks/queue.html", "callbacks/_task.html", "task-panel", **_panel_context(task))
    ctx = queue_context(request.args, current_user)
    return render("callbacks/queue.html", "callbacks/_queue.html", "callback-queue",
                  **{**ctx, **_panel_context(task)})


def _panel_response(task, status=200, changed=False, **kwargs):
    """The task panel after a POST; without htmx a redirect back to the queue page."""
    if not is_htmx():
        if changed:
            flash(kwargs.get("notice"), "success")
            return redirect(url_for("callbacks.task", task_id=task.id))
        ctx = queue_context(request.args, current_user)
        return render("callbacks/queue.html", "callbacks/_queue.html", "callback-queue",
                      **{**ctx, **_panel_context(task, **kwargs)})
    response = make_response(render_template("callbacks/_task.html", **_panel_context(task, **kwargs)), status)
    if changed:
        response.headers["HX-Trigger"] = "callbacks-changed"  # the list refreshes itself
    return response


@bp.route("/callbacks/<int:task_id>/record", methods=["POST"])
@role_required(*STAFF)
def record(task_id: int):
    """Record a callback or an unreachable attempt, without leaving the queue."""
    task = _task_or_404(task_id)
    form = RecordForm()
    if form.validate():
        try:
            outcome = record_callback(task, current_user, _record_data(form))
            db.session.commit()
            return _panel_response(task, changed=True, notice=_outcome_message(outcome.code, outcome.case),
                                   following=next_task(current_user, task))
        except CallbackError as exc:
            db.session.rollback()
            _blame(form, exc)
    return _panel_response(task, form=form)


@bp.route("/callbacks/<int:task_id>/answer", methods=["POST"])
@role_required(*STAFF)
def answer(task_id: int):
    """Give the reply promised during this callback."""
    task = _task_or_404(task_id)
    form = PromiseAnswerForm()
    promise = get_by_id(CallbackPromise, form.promise_id.data)
    if promise is None or promise.task_id != task.id:
        form.form_errors.append(_("Choose the question to answer."))
    elif form.validate():
        try:
            answer_promise(promise, current_user, form.answer.data)
            db.session.commit()
            return _panel_response(task, changed=True, notice=_("Reply recorded on the case."))
        except CallbackError as exc:
            db.session.rollback()
            _blame(form, exc)
    return _panel_response(task, answer_form=form)


@bp.route("/callbacks/<int:task_id>/send-survey", methods=["POST"])
@role_required(*STAFF)
def send_survey(task_id: int):
    """Have the server text the signed survey link to the resident's mobile (once per callback)."""
    task = _task_or_404(task_id)
    if not may_record(current_user, task):
        abort(403)  # the same assignment rule as recording the callback
    if not EmptyForm().validate():
        abort(400)
    notice = links.send(task)
    if notice is None:
        return _panel_response(task, notice=_("The survey cannot be sent: the resident has no mobile number "
                                              "or the callback is finished."))
    db.session.commit()
    return _panel_response(task, changed=True, notice=_("Survey link sent by SMS to %(phone)s.",
                                                        phone=links.mask(notice.address)))


def _blame(form, exc: CallbackError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    (target.errors.append if target is not None else form.form_errors.append)(str(exc.message))


# --- the resident's survey -----------------------------------------------------------------

ANSWERED = "answered"


def _survey(task, resident, form) -> bool | str:
    """Validate and record a survey answer; True when it was recorded, ANSWERED when someone was first."""
    if request.method == "POST" and form.validate():
        try:
            answer_survey(task, resident, form.data, client_address=request.remote_addr or "",
                          user_agent=request.user_agent.string or "")
            db.session.commit()
            return True
        except AlreadyDone:
            db.session.rollback()
            return ANSWERED
        except CallbackError as exc:
            db.session.rollback()
            _blame(form, exc)
    return False


@bp.route("/cases/<int:case_id>/survey", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
def survey(case_id: int):
    """The resident answers the pending callback of their own case online."""
    case = get_case_or_404(case_id)
    task = survey_task(case)
    if task is None or not is_filer(current_user, case):
        abort(404)
    form = SurveyForm()
    result = _survey(task, current_user, form)
    if result:
        flash(_("Thank you: your answer is recorded.") if result is True
              else _("This survey has already been answered. Thank you."), "success")
        return redirect(url_for("cases.detail", case_id=case.id))
    return render_template("callbacks/survey.html", case=case, form=form,
                           action=url_for("callbacks.survey", case_id=case.id), L=labels)


@bp.route("/s/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SURVEY_LIMIT_ADDRESS"], methods=["POST"])
@public
def signed_survey(token: str):
    """The survey from an SMS/WeChat link: one case, no login, for a limited time."""
    payload, expired = read_token(token)
    task = db.session.get(CallbackTask, payload["t"]) if payload else None
    if task is None or task.case_id != payload.get("c") or task.case is None or task.case.resident is None:
        message = _("This survey link has expired. Call us and we will gladly take your answer.") if expired \
            else _("This survey link is not valid.")
        return render_template("callbacks/survey_closed.html", message=message), 410 if expired else 404
    if current_user.is_authenticated and current_user.role != Role.RESIDENT:
        # A satisfaction answer is the resident's alone: never one typed in at a staff desk.
        return render_template("callbacks/survey_closed.html", message=_(
            "You are signed in as staff: this survey can only be answered by the resident, on their own "
            "phone. Record what the resident told you in the callback queue instead.")), 403
    already = _("This survey has already been answered. Thank you.")
    if not task.is_open:
        return render_template("callbacks/survey_closed.html", message=already), 200
    form = SurveyForm()
    result = _survey(task, task.case.resident, form)
    if result:
        return render_template("callbacks/survey_closed.html", message=_("Thank you: your answer is recorded.")
                               if result is True else already), 200
    return render_template("callbacks/survey.html", case=task.case, form=form, signed=True,
                           action=url_for("callbacks.signed_survey", token=token), L=labels)


# --- plans and works -----------------------------------------------------------------------

@bp.route("/callbacks/plans", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def plans_page():
    """Monthly plans; generate the next one."""
    form = GeneratePlanForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        now = local_now()
        form.month.data = f"{now.year + (now.month == 12)}-{now.month % 12 + 1:02d}"
    if request.method == "POST" and estate_ids(current_user) is not None:
        abort(403)  # a plan covers every estate: the company's managers generate it
    if request.method == "POST" and form.validate():
        year, month = map(int, form.month.data.split("-"))
        plan = plans.generate(year, month)
        db.session.commit()
        return redirect(url_for("callbacks.plan", plan_id=plan.id))
    rows = db.session.scalars(select(CallbackPlan).order_by(CallbackPlan.year.desc(), CallbackPlan.month.desc()))
    return render_template("callbacks/plans.html", form=form, plans=list(rows), L=labels)


def _item_form(plan, formdata=None):
    form = PlanItemForm(formdata=formdata)
    units = db.session.scalars(select(Unit).join(Building).where(in_estates(current_user, Building.estate_id))
                               .order_by(Building.id, Unit.number))
    from portal.labels import opts
    form.unit_id.choices = opts([(0, _("— choose —"))] + [(u.id, u.label) for u in units])
    form.kind.choices = opts((k.value, labels.KIND[k]) for k in plans.PLAN_KINDS)
    return form


@bp.route("/callbacks/plans/<int:plan_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def plan(plan_id: int):
    """Review a plan week by week; add a household (POST)."""
    plan = db.session.get(CallbackPlan, plan_id) or abort(404)
    form = _item_form(plan, request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():  # the unit is one of the choices: the user's estates
        try:
            plans.add_item(plan, form.unit_id.data, form.kind.data, form.day.data)
            db.session.commit()
            flash(_("Household added to the plan."), "success")
            return redirect(url_for("callbacks.plan", plan_id=plan.id))
        except CallbackError as exc:
            db.session.rollback()
            _blame(form, exc)
    return _plan_page(plan, form)


def _plan_page(plan, form):
    tasks = [t for t in plan.tasks if t.status != TaskStatus.CANCELLED and can_view_task(current_user, t)]
    slots = plans.weeks(plan.year, plan.month)
    by_week = [(start, end - timedelta(days=1), [t for t in tasks if t.not_before and start <= t.not_before.astimezone(local_zone()).date() < end])
               for start, end in slots]
    return render_template("callbacks/plan.html", plan=plan, form=form, by_week=by_week, total=len(tasks),
                           empty=EmptyForm(formdata=None), L=labels, short_weeks=plans.short_weeks(plan),
                           weekly_minimum=settings.get("callback_weekly_minimum"))


@bp.route("/callbacks/plan-items/<int:task_id>/remove", methods=["POST"])
@role_required(Role.MANAGER)
def remove_item(task_id: int):
    """Take a household out of a draft plan."""
    task = db.session.get(CallbackTask, task_id)
    if task is None or not can_view_task(current_user, task):
        abort(404)
    if EmptyForm().validate():
        try:
            plans.remove_item(task)
            db.session.commit()
            flash(_("Household removed from the plan."), "success")
        except CallbackError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
    if task.plan_id is None:
        return redirect(url_for("callbacks.plans_page"))
    return redirect(url_for("callbacks.plan", plan_id=task.plan_id))


@bp.route("/callbacks/plans/<int:plan_id>/publish", methods=["POST"])
@role_required(Role.MANAGER)
def publish(plan_id: int):
    """Publish a plan: its households enter the callback queue."""
    plan = db.session.get(CallbackPlan, plan_id) or abort(404)
    if estate_ids(current_user) is not None:
        abort(403)  # publishing puts every estate's households in the queue: the company's managers do it
    if EmptyForm().validate():
        try:
            n = plans.publish(plan, current_user)
            db.session.commit()
            flash(_("Plan published: %(n)d callbacks are in the queue.", n=n), "success")
        except CallbackError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
    return redirect(url_for("callbacks.plan", plan_id=plan.id))


@bp.route("/callbacks/works", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def works_page():
    """Register finished maintenance works; affected households are sampled for a callback."""
    form = WorksForm(formdata=request.form if request.method == "POST" else None)
    form.buildings.choices = [(b.id, b.name) for b in db.session.scalars(
        select(Building).where(in_estates(current_user, Building.estate_id)).order_by(Building.id))]
    if request.method == "POST" and form.validate():
        work = works.record_works(form.title.data, form.completed_on.data, form.buildings.data, current_user)
        n = works.sample(work)
        db.session.commit()
        flash(_("Works recorded: %(n)d households drawn for a callback.", n=n), "success")
        return redirect(url_for("callbacks.works_page"))
    rows = db.session.scalars(select(MaintenanceWork).where(MaintenanceWork.buildings.any(
        in_estates(current_user, Building.estate_id))).order_by(MaintenanceWork.completed_on.desc()).limit(50))
    return render_template("callbacks/works.html", form=form, works=list(rows), L=labels)


@bp.route("/callbacks/draws")
@role_required(Role.MANAGER)
def draws():
    """The monthly seeds of the sampling draws (once published) and the formula, to recompute any draw."""
    now = utcnow()
    months = [(row.month, sampling.published_seed(row.month, now), sampling.published_at(row.month))
              for row in db.session.scalars(select(SampleSeed).order_by(SampleSeed.month.desc()).limit(36))]
    form = DrawCheckForm(formdata=request.args)
    check = None
    if form.validate() and form.month.data and form.key.data and (form.rate.data or "").isdigit():
        seed = sampling.published_seed(form.month.data, now)
        if seed is None:
            form.month.errors = [_("This month's seed is not published yet (or the month had no draws).")]
        else:
            check = sampling.draw(seed, form.key.data.strip(), min(int(form.rate.data), 100), form.month.data)
    return render_template("callbacks/draws.html", months=months, form=form, check=check, seed_of=dict(
        (m, s) for m, s, _p in months), L=labels)
