"""SPEC §7 figures checked against hand-computed values on a fixed dataset, and who may see them."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone

import openpyxl
import pytest
import time_machine
from sqlalchemy import select

from portal import settings
from portal.cases.lifecycle import perform
from portal.extensions import db
from portal.models import (
    ActionStatus, CallbackKind, CallbackRecord, CallbackTask, Case, ImprovementAction, Kind, Method, ReportRun,
    RunStatus, Satisfaction, TaskStatus,
)
from portal.reports import disclosure, lists, stats
from portal.reports.periods import Scope, shift
from tests import factories
from tests.conftest import htmx_get, post
from tests.helpers import html, textarea_value
from tests.sla_helpers import at, clock

NOV = Scope("2026-11")
LATER = at(2026, 11, 20, 12, 0)  # "now" for the figures: every clock of the dataset has ended


def step(people, case, moment, name, who=None, **data):
    actor = who or {"acknowledge": "clerk", "classify": "clerk", "dispatch": "clerk", "reject": None,
                    "await_resident": "eng", "resume": "eng", "mark_invalid": "clerk"}.get(name, "eng")
    user = case.resident if actor is None else people[actor]
    defaults = {"acknowledge": {"note": "您好"}, "classify": {"category_id": people["ref"]["water"].id,
                                                               "severity": "minor"},
                "dispatch": {"department_id": people["ref"]["eng"].id}, "complete": {"note": "已修好"},
                "reject": {"note": "仍然漏水"}, "await_resident": {"note": "请约时间"},
                "mark_invalid": {"note": "不属于物业范围"}, "cannot_handle": {"note": "开发商保修"}}
    with clock(moment):
        perform(case, user, name, {**defaults.get(name, {}), **data})
    db.session.flush()


def new_case(people, moment, kind=Kind.COMPLAINT, resident="resident", **kw):
    with clock(moment):
        c = factories.case(people[resident], kind=kind, received_at=moment, **kw)
    return c


def walk(people, case, plan):
    for moment, name in plan:
        step(people, case, moment, name)


@pytest.fixture
def dataset(app, people):
    """Four complaints received Monday 2 November 2026 09:00 Shanghai (working hours 08:30–17:30).

    A: replied 10:00 (on time), minor (resolve within 1 working day: Tue 09:00), completed Mon 15:00 → 6 h.
    B: replied 12:00 (late: 2 h allowed), waits on the resident Mon 13:00 → Tue 13:00 (paused),
       completed Tue 15:00: 4 h + 2 h = 6 h, on time (due moved to Wed 09:00 by the pause).
    C: replied 09:30, completed Wed 4 Nov 17:00: 8.5 + 9 + 8.5 = 26 h, late.
    D: replied 09:30, completed Mon 11:00 (2 h), rejected Mon 14:00 (reopened), completed again
       Tue 10:00 (3.5 + 1.5 = 5 h): 7 h in all, both resolution rounds on time.
    """
    t = lambda d, h, m=0: at(2026, 11, d, h, m)  # noqa: E731
    cases = {}
    for name in "ABCD":
        cases[name] = new_case(people, t(2, 9))
    walk(people, cases["A"], [(t(2, 10), "acknowledge"), (t(2, 10), "classify"), (t(2, 10), "dispatch"),
                              (t(2, 11), "accept"), (t(2, 15), "complete")])
    walk(people, cases["B"], [(t(2, 12), "acknowledge"), (t(2, 12), "classify"), (t(2, 12), "dispatch"),
                              (t(2, 12, 30), "accept"), (t(2, 13), "await_resident"), (t(3, 13), "resume"),
                              (t(3, 15), "complete")])
    walk(people, cases["C"], [(t(2, 9, 30), "acknowledge"), (t(2, 9, 30), "classify"), (t(2, 9, 30), "dispatch"),
                              (t(2, 10), "accept"), (t(4, 17), "complete")])
    walk(people, cases["D"], [(t(2, 9, 30), "acknowledge"), (t(2, 9, 30), "classify"), (t(2, 9, 30), "dispatch"),
                              (t(2, 10), "accept"), (t(2, 11), "complete"), (t(2, 14), "reject"),
                              (t(2, 14, 30), "accept"), (t(3, 10), "complete")])
    db.session.commit()
    return cases


def test_time_to_resolve_counts_working_hours_without_pauses_over_every_round(dataset):
    hours = {k: round(c.resolve_work_seconds / 3600, 2) for k, c in dataset.items()}
    assert hours == {"A": 6.0, "B": 6.0, "C": 26.0, "D": 7.0}


def test_on_time_rates_and_resolve_times_match_hand_computed_values(dataset):
    fig = stats.figures(NOV, LATER)
    assert fig["total"] == 4
    assert (fig["rates"]["first_reply"]["hits"], fig["rates"]["first_reply"]["total"]) == (3, 4)
    assert fig["rates"]["first_reply"]["percent"] == 75.0
    # A, B, D round 0 and D round 1 on time; C late.
    assert (fig["rates"]["resolution"]["hits"], fig["rates"]["resolution"]["total"]) == (4, 5)
    assert fig["rates"]["resolution"]["met"] is False  # 80 % < 90 % target
    assert fig["resolve"]["count"] == 4
    assert fig["resolve"]["mean_hours"] == pytest.approx(11.25, abs=0.06)  # (6 + 6 + 26 + 7) / 4
    assert fig["resolve"]["p90_hours"] == 26.0  # nearest rank: ceil(0.9 × 4) = 4th of 4


def test_a_reopened_case_has_no_resolve_time_until_completed_again(app, people):
    c = new_case(people, at(2026, 11, 2, 9))
    walk(people, c, [(at(2026, 11, 2, 9, 30), "acknowledge"), (at(2026, 11, 2, 9, 30), "classify"),
                     (at(2026, 11, 2, 9, 30), "dispatch"), (at(2026, 11, 2, 10), "accept"),
                     (at(2026, 11, 2, 11), "complete"), (at(2026, 11, 2, 14), "reject")])
    db.session.commit()
    assert c.resolve_work_seconds is None and c.reopen_count == 1
    assert stats.figures(NOV, LATER)["resolve"]["count"] == 0


def test_month_boundary_is_midnight_in_shanghai(app, people):
    late_nov = new_case(people, at(2026, 11, 30, 23, 30))  # 15:30 UTC on the 30th
    early_dec = new_case(people, at(2026, 12, 1, 0, 10))  # still 30 November in UTC
    db.session.commit()
    assert early_dec.received_at.date().isoformat() == "2026-11-30"  # UTC
    assert stats.figures(NOV, LATER)["total"] == 1
    assert stats.figures(Scope("2026-12"), LATER)["total"] == 1
    trend = stats.trend(Scope("2026-12"), LATER)
    assert [p["cases"] for p in trend[-2:]] == [1, 1] and trend[-1]["month"] == "2026-12"
    assert late_nov.id != early_dec.id


def test_empty_month_has_no_rates_rather_than_zero(app, people):
    fig = stats.figures(Scope("2025-02"), LATER)
    assert fig["total"] == 0
    assert all(r["percent"] is None and r["met"] is None for r in fig["rates"].values())
    assert fig["resolve"] == {"count": 0, "mean_hours": None, "p90_hours": None}
    assert lists.all_lists(Scope("2025-02"), LATER) == {
        "repeat_complaints": [], "repeated_repairs": [], "failed_callbacks": [], "invalid_verdicts": [],
        "overdue_by_department": []}


def _task(kind, due, status, case=None):
    t = CallbackTask(kind=kind, status=status, due_at=due, case_id=case.id if case else None,
                     round=0 if case is None else 9, reason="test", attempts=1)
    db.session.add(t)
    db.session.flush()
    return t


def test_callback_satisfaction_and_solved_rates(app, people):
    """October: tasks by due time, answers by the time they were recorded."""
    c1, c2, c3 = (new_case(people, at(2026, 10, 1, 9)) for _ in range(3))
    oct_ = lambda d, h=10: at(2026, 10, d, h)  # noqa: E731
    now = at(2026, 10, 20, 12)
    tasks = [
        _task(CallbackKind.COMPLAINT, oct_(5), TaskStatus.DONE, c1),
        _task(CallbackKind.COMPLAINT, oct_(6), TaskStatus.UNREACHABLE, c2),
        _task(CallbackKind.REPAIR, oct_(7), TaskStatus.DONE, c3),
        _task(CallbackKind.REPAIR, oct_(8), TaskStatus.PENDING),      # overdue: counts as not called back
        _task(CallbackKind.ROUTINE, oct_(9), TaskStatus.DONE),
        _task(CallbackKind.ROUTINE, oct_(31, 22), TaskStatus.PENDING),  # not due yet on the 20th: left out
        _task(CallbackKind.ROUTINE, oct_(10), TaskStatus.CANCELLED),   # left out
        _task(CallbackKind.COMPLAINT, at(2026, 11, 1, 0, 30), TaskStatus.DONE),  # November in Shanghai
    ]
    answers = [(tasks[0], c1, Satisfaction.VERY_SATISFIED), (tasks[4], None, Satisfaction.SATISFIED),
               (tasks[2], c3, Satisfaction.NEUTRAL), (tasks[0], c1, Satisfaction.DISSATISFIED)]
    for task, case, sat in answers:
        db.session.add(CallbackRecord(task_id=task.id, case_id=case.id if case else None, at=oct_(12),
                                      method=Method.PHONE, reached=True, satisfaction=sat))
    db.session.add(CallbackRecord(task_id=tasks[1].id, case_id=c2.id, at=oct_(12), method=Method.PHONE,
                                  reached=False))
    db.session.commit()
    fig = stats.figures(Scope("2026-10"), now)
    r = {k: (v["hits"], v["total"]) for k, v in fig["rates"].items()}
    assert r["callback_complaint"] == (1, 2)
    assert r["callback"] == (3, 5)
    assert r["satisfaction"] == (2, 4)  # very satisfied + satisfied of four answers
    assert r["solved"] == (2, 3)  # answers about a case not dissatisfied
    failed = lists.failed_callbacks(Scope("2026-10"))
    assert {f["outcome"] for f in failed} == {"dissatisfied"}  # unreachable: closed_at not set here


def test_suggestion_adoption_counts_decided_suggestions_only(app, people):
    moment = at(2026, 11, 3, 9)
    adopted, refused, cannot, open_ = (new_case(people, moment, kind=Kind.SUGGESTION) for _ in range(4))
    walk(people, adopted, [(moment, "acknowledge"), (moment, "classify"), (moment, "dispatch"),
                           (moment, "accept"), (at(2026, 11, 3, 11), "complete")])
    step(people, refused, moment, "mark_invalid")
    walk(people, cannot, [(moment, "classify"), (moment, "dispatch"), (moment, "cannot_handle")])
    db.session.commit()
    rate = stats.figures(NOV, LATER)["rates"]["adoption"]
    assert (rate["hits"], rate["total"], rate["percent"]) == (1, 3, 33.3)
    verdicts = lists.invalid_verdicts(NOV)
    assert [v["number"] for v in verdicts] == [refused.number] and verdicts[0]["overturned"] is False


def test_counts_group_by_kind_category_and_department(dataset):
    counts = stats.figures(NOV, LATER)["counts"]
    assert counts["kind"] == [("complaint", 4)]
    assert counts["severity"] == [("minor", 4)]
    water, eng = dataset["A"].category_id, dataset["A"].department_id
    assert counts["category"] == [(water, 4)] and counts["department"] == [(eng, 4)]
    assert counts["building"] == [(dataset["A"].unit.building_id, 4)]


def test_staff_performance_per_department_and_person(dataset, people):
    perf = lists.performance(NOV, LATER)
    dep = perf["departments"][0]
    assert dep["cases"] == 4 and (dep["on_time"]["hits"], dep["on_time"]["total"]) == (4, 5)
    assert (dep["reopen"]["hits"], dep["reopen"]["total"]) == (1, 4)
    person = perf["people"][0]
    assert person["user_id"] == people["eng"].id and person["cases"] == 4


def test_repeated_repairs_at_the_same_place(app, people):
    for day in (2, 9, 16):
        new_case(people, at(2026, 11, day, 9), kind=Kind.REPAIR, category=people["ref"]["water"])
    new_case(people, at(2026, 11, 3, 9), kind=Kind.REPAIR, category=people["ref"]["water"], resident="other_resident")
    db.session.commit()
    rows = lists.repeated_repairs(NOV)
    assert len(rows) == 1 and rows[0]["count"] == 3 and rows[0]["unit"] == "1栋-0101"


def test_small_buildings_are_merged_so_nobody_is_singled_out():
    named, merged = disclosure.merge_small([("1栋", 12), ("2栋", 6), ("3栋", 3), ("4栋", 1)], 5)
    assert named == [("1栋", 12)] and merged == 10  # 3 + 1 < 5, so 2栋 joins "other buildings"
    assert disclosure.merge_small([("A", 5), ("B", 7)], 5) == ([("B", 7), ("A", 5)], 0)
    assert disclosure.merge_small([("A", 2)], 5) == ([], 2)


# --- pages and access ------------------------------------------------------------------------------

def test_manager_dashboard_shows_figures_linked_to_the_board(dataset, as_):
    page = html(as_("manager").get("/reports?month=2026-11"))
    tile = page.one("a", data_rate="first_reply")
    assert "date_from=2026-11-01" in tile.attrs["href"] and "date_to=2026-11-30" in tile.attrs["href"]
    assert page.all("svg", cls="chart")


@pytest.mark.parametrize("url", ["/reports", "/reports/monthly", "/reports/monthly.xlsx", "/board/export.csv"])
def test_residents_never_reach_staff_figures_or_exports(dataset, as_, url):
    assert as_("resident").get(url).status_code == 403


def test_disclosure_is_anonymous(dataset, as_, people):
    body = as_("resident").get("/disclosure?month=2026-11").get_data(as_text=True)
    assert "4" in body
    for c in dataset.values():
        assert c.number not in body and c.description not in body
    assert people["resident"].display_name not in body.replace(people["resident"].display_name + " ·", "")
    assert "0101" not in body  # no unit numbers
    # 1栋 has 4 cases (< 5): merged into "other buildings", never named.
    page = html(as_("resident").get("/disclosure?month=2026-11"))
    assert "1栋" not in page.by_id("buildings").text


def test_disclosure_says_what_it_counts_and_shows_the_categories_once(dataset, as_):
    """Issue 16: all kinds are counted (not complaints alone), and the categories are one chart, no second table."""
    body = as_("resident").get("/disclosure?month=2026-11").get_data(as_text=True)
    assert "并非仅统计投诉" in body
    assert body.count('id="categories"') == 1 and body.count("<table") == 1  # the one table is the buildings'


def test_the_trend_draws_cases_on_their_own_scale_with_every_label_inside(app):
    """Bars use the count axis (130 of a 200 scale), lines the percent axis; no label falls outside the picture."""
    import re
    points = [{"month": "2026-10", "cases": 130, "resolution": 50.0, "satisfaction": 100.0},
              {"month": "2026-11", "cases": 65, "resolution": None, "satisfaction": None}]
    with app.test_request_context():
        svg = str(app.jinja_env.get_template("reports/_charts.html").module.trend(points, "t"))
    assert 'height="97.5"' in svg and 'height="48.8"' in svg  # 150 px × 130/200 and × 65/200
    assert ">200<" in svg and ">100%<" in svg
    width = int(re.search(r'viewBox="0 0 (\d+)', svg).group(1))
    for x, anchor, text in re.findall(r'<text x="([\d.]+)"[^>]*text-anchor="(\w+)"[^>]*>([^<]*)<', svg):
        reach = len(text) * 8  # an axis label at most ~8 px per character
        left = float(x) - (reach if anchor == "end" else reach / 2 if anchor == "middle" else 0)
        assert 0 <= left and left + reach <= width + 1, text


def test_public_disclosure_only_when_published(client, dataset):
    response = client.get("/public/disclosure")
    assert response.status_code == 302 and response.location.startswith("/disclosure")
    assert client.get("/disclosure").status_code == 302  # the logged-in page wants a login
    settings.put("disclosure_public", True)
    db.session.commit()
    assert client.get("/public/disclosure?month=2026-11").status_code == 200


def test_department_csv_holds_only_its_own_cases(dataset, as_, people):
    other = new_case(people, at(2026, 11, 5, 9))
    step(people, other, at(2026, 11, 5, 9), "classify", category_id=people["ref"]["parking"].id)
    step(people, other, at(2026, 11, 5, 9), "dispatch", department_id=people["ref"]["sec"].id)
    db.session.commit()
    body = as_("eng").get("/board/export.csv").get_data(as_text=True)
    assert body.startswith("\ufeff") and dataset["A"].number in body and other.number not in body
    assert people["resident"].display_name not in body and people["resident"].phone not in body
    manager = as_("manager").get("/board/export.csv?department=%d" % people["ref"]["sec"].id).get_data(as_text=True)
    assert other.number in manager and dataset["A"].number not in manager


def test_generating_the_report_runs_the_job_and_shows_last_months_comparison(dataset, as_):
    manager = as_("manager")
    response = post(manager, "/reports/monthly/generate?month=2026-11")
    assert response.status_code == 302
    run = db.session.scalar(select(ReportRun).order_by(ReportRun.id.desc()))
    assert run.status == RunStatus.DONE and run.step == run.steps
    page = html(manager.get("/reports/monthly?month=2026-11"))
    assert page.one("a", data_rate="resolution")
    poll = htmx_get(manager, f"/reports/runs/{run.id}/progress", "report-progress")
    assert poll.headers.get("HX-Refresh") == "true" and "<html" not in poll.get_data(as_text=True)


def test_progress_polls_while_the_job_runs(app, people, as_):
    run = ReportRun(month="2026-11", status=RunStatus.RUNNING, step=2, steps=5)
    db.session.add(run)
    db.session.commit()
    fragment = htmx_get(as_("manager"), f"/reports/runs/{run.id}/progress", "report-progress")
    node = html(fragment).by_id("report-progress")
    assert node.attrs["hx-trigger"] == "every 1s" and "HX-Refresh" not in fragment.headers
    assert node.one("progress").attrs["value"] == "40"


def test_xlsx_holds_the_cases_and_callbacks_of_the_month(dataset, as_):
    task = db.session.scalar(select(CallbackTask).order_by(CallbackTask.id))
    for minute, satisfaction in ((0, None), (30, Satisfaction.SATISFIED)):  # the latest answer is exported
        db.session.add(CallbackRecord(task_id=task.id, case_id=task.case_id, at=at(2026, 11, 6, 10, minute),
                                      method=Method.PHONE, reached=satisfaction is not None,
                                      satisfaction=satisfaction))
    db.session.commit()
    with time_machine.travel(datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc), tick=False):  # 07:30 in Shanghai
        response = as_("manager").get("/reports/monthly.xlsx?month=2026-11")
    assert response.status_code == 200
    assert "report-2026-11-20261201-0730.xlsx" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["摘要", "案件", "回访"]
    summary = [row for row in book["摘要"].iter_rows(values_only=True)]
    resolved = next(row for row in summary if row[0] == "按时处结率")
    assert resolved[1:3] == (4, 5) and resolved[3] == pytest.approx(0.8) and resolved[4] == 90
    cases = list(book["案件"].iter_rows(values_only=True))
    assert cases[0][0] == "案件编号" and {row[0] for row in cases[1:]} == {c.number for c in dataset.values()}
    a = next(row for row in cases if row[0] == dataset["A"].number)
    assert a[8] == datetime(2026, 11, 2, 9, 0) and a[11] == 6.0  # local time as a date cell, hours as a number
    case_a = dataset["A"]
    # labels in the reader's language; category, department and building looked up for each row
    assert a[1:8] == ("投诉", "网上平台", "已解决", "轻微", "水电", "工程部", "1栋")
    assert (case_a.category.name, case_a.department.name, case_a.unit.building.name) == ("水电", "工程部", "1栋")
    assert dataset["A"].resident.display_name not in str(cases)
    answered = next(row for row in book["回访"].iter_rows(values_only=True) if row[0] == task.id)
    assert answered[6:] == (datetime(2026, 11, 6, 10, 30), "电话", "是", "满意")
    raw = zipfile.ZipFile(io.BytesIO(response.data)).read("xl/worksheets/sheet2.xml").decode()
    assert '<pane ySplit="1"' in raw and "<autoFilter" in raw and "<col " in raw


def test_improvement_actions_are_kept_and_followed_up_next_month(app, people, as_):
    manager = as_("manager")
    response = post(manager, "/reports/actions?month=2026-11", {
        "problem": "水电报修超时较多", "action": "工程部增加夜班维修人员", "owner": "工程部", "disclose": "y"})
    assert response.status_code == 302
    row = db.session.scalar(select(ImprovementAction))
    assert row.month == "2026-11" and row.status == ActionStatus.PLANNED
    december = html(manager.get("/reports/monthly?month=2026-12"))
    assert december.by_id(f"action-{row.id}")  # last month's action to follow up
    post(manager, f"/reports/actions/{row.id}", {f"a{row.id}-status": "done", f"a{row.id}-follow_up": "已落实",
                                                 "month": "2026-12"})
    db.session.expire_all()
    assert row.status == ActionStatus.DONE and row.follow_up == "已落实"
    resident = as_("resident").get("/disclosure?month=2026-11").get_data(as_text=True)
    assert "工程部增加夜班维修人员" in resident and "水电报修超时较多" not in resident


def test_a_refused_follow_up_comes_back_filled_with_its_message(app, people, as_):
    manager = as_("manager")
    post(manager, "/reports/actions?month=2026-11", {"problem": "保洁不及时", "action": "增加巡查", "owner": "保洁组"})
    row = db.session.scalar(select(ImprovementAction))
    typed = "跟进说明" * 600  # longer than the 2000 characters allowed
    response = post(manager, f"/reports/actions/{row.id}", {f"a{row.id}-status": "done",
                                                             f"a{row.id}-follow_up": typed, "month": "2026-12"})
    assert response.status_code == 200  # refused forms answer 200, as everywhere in the portal
    page = html(response)
    item = page.by_id(f"action-{row.id}")
    assert textarea_value(item.one("textarea")) == typed  # nothing lost
    assert item.all(cls="error")  # the message sits by the field
    assert "跟进未保存" in page.text
    db.session.expire_all()
    assert row.status == ActionStatus.PLANNED and not row.follow_up


def test_scope_form_falls_back_on_a_bad_month(app, people, as_):
    assert as_("manager").get("/reports?month=2026-13&site=x").status_code == 200
    assert shift("2026-01", -1) == "2025-12"


def test_backfill_measures_cases_resolved_before_the_migration(dataset, runner):
    case = dataset["C"]
    case.resolve_work_seconds = None
    db.session.commit()
    result = runner.invoke(args=["reports", "backfill"])
    assert "Measured 1" in result.output
    db.session.expire_all()
    assert db.session.get(Case, case.id).resolve_work_seconds == 26 * 3600


def test_a_report_run_whose_job_died_is_generated_when_the_tick_takes_the_job_back(app, people, monkeypatch):
    from portal import jobs
    from portal.models import Job
    from portal.reports import report
    monkeypatch.setattr(jobs, "hand_over", lambda job_id, queue: None)   # the process dies after its commit
    run = report.start_run(NOV, people["manager"])
    db.session.commit()
    dead = jobs.owner().rpartition(":")[0] + ":999999999"
    db.session.execute(db.update(Job).values(state="running", owner=dead, attempts=1))   # ... or mid-job
    run.status = RunStatus.RUNNING
    db.session.commit()
    monkeypatch.undo()
    assert jobs.redrive() == 1
    db.session.refresh(run)
    assert run.status == RunStatus.DONE and db.session.scalar(select(Job.attempts)) == 2


def test_a_report_run_that_never_finishes_fails_and_its_page_stops_polling(app, people, as_):
    from portal.reports.jobs import fail_stalled
    from portal.timeutil import utcnow
    run = ReportRun(month="2026-11", status=RunStatus.QUEUED, step=0, steps=5,
                    created_at=utcnow() - timedelta(hours=1))
    fresh = ReportRun(month="2026-11", status=RunStatus.RUNNING, step=1, steps=5)
    db.session.add_all([run, fresh])
    db.session.commit()
    assert fail_stalled(utcnow()) == 1
    assert (run.status, fresh.status) == (RunStatus.FAILED, RunStatus.RUNNING)
    fragment = htmx_get(as_("manager"), f"/reports/runs/{run.id}/progress", "report-progress")
    assert "hx-trigger" not in fragment.get_data(as_text=True) and fragment.headers.get("HX-Refresh") == "true"
