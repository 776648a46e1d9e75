"""Screenshots of every page for every demo role, at desktop and phone width.

Usage: .venv/bin/python scripts/screenshots.py [outdir] [--lang en] [--only NAME,NAME]
(default: screenshots/, Chinese; --lang en switches every session to English with the
page's own language button; --only takes shots whose names contain one of the words)

Starts a throw-away seeded demo server on 127.0.0.1, drives Debian's Chromium
(/usr/bin/chromium, never a downloaded browser) and prints each PNG's path.
"""
from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402

from portal.demo import PASSWORD  # noqa: E402
from portal.demo_server import CHROMIUM, CHROMIUM_ARGS as ARGS, serve_demo as live_server  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Case, Department, Status, User  # noqa: E402

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}


def pick_cases(app) -> dict[str, int]:
    """Representative case ids: one the resident owns, one per department, a resolved one."""
    with app.app_context():
        def first(*where):
            return db.session.scalar(select(Case.id).where(*where).order_by(Case.id.desc()).limit(1))
        resident = db.session.scalar(select(User).filter_by(username="resident1"))
        eng = db.session.scalar(select(Department.id).filter_by(code="engineering"))
        sec = db.session.scalar(select(Department.id).filter_by(code="security"))
        ids = {
            "resident": first(Case.resident_id == resident.id),
            # clerk1 sees only their estate's cases (the newest registered one may be in the other estate)
            "registered": first(Case.status == Status.REGISTERED, Case.estate_id.in_(
                [e.id for e in db.session.scalar(select(User).filter_by(username="clerk1")).estates])),
            "eng": first(Case.department_id == eng, Case.status == Status.DISPATCHED)
            or first(Case.department_id == eng),
            "sec": first(Case.department_id == sec, Case.status == Status.IN_PROGRESS)
            or first(Case.department_id == sec),
            "resolved": first(Case.status == Status.RESOLVED),
        }
        from portal.models import CallbackPlan, CallbackTask, Role, TaskStatus
        ids["task"] = db.session.scalar(select(CallbackTask.id).where(
            CallbackTask.status == TaskStatus.PENDING, CallbackTask.case_id.is_not(None),
            CallbackTask.assignee_role == Role.CLERK).order_by(CallbackTask.due_at).limit(1))
        ids["plan"] = db.session.scalar(select(CallbackPlan.id).order_by(CallbackPlan.id).limit(1))
        from portal.sla.scan import scan
        scan()  # the demo server has no ticker: fire what is due so escalations and bells show
        db.session.remove()
    return ids


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def submit_empty(page: Page) -> None:
    """Submit the main form untouched, to show its validation errors."""
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()


def generate_report(page: Page) -> None:
    """Generate the month's report and wait for the progress bar to reload the page."""
    with page.expect_navigation():
        page.locator("form.generate button").click()
    page.wait_for_selector("#report-progress:not([hx-trigger])", timeout=30000)
    page.wait_for_timeout(500)


def plans(ids: dict[str, int]) -> dict[str | None, list[tuple]]:
    """Per user (None: logged out): (name, path, optional action before the shot)."""
    return {
        None: [("login", "/login", None)],
        "clerk1": [
            ("board", "/board", None),
            ("board-filtered", "/board?status=registered&sort=oldest", None),
            ("board-search-digits", "/board?q=0001&status=", None),  # every day's first case, by its counter
            ("desk-register-error", "/desk/new", submit_empty),
            ("case-clerk", f"/cases/{ids['registered']}", None),
            ("slip", f"/cases/{ids['eng']}/slip", None),
            ("callbacks", "/callbacks", None),
            ("callback-task", f"/callbacks/{ids['task']}", None),
            ("desk-claims", "/desk/claims", None),
            ("register", "/register", None),
        ],
        "manager1": [
            ("escalations", "/escalations", None),
            ("phrases", "/admin/phrases", None),
            ("settings", "/admin/settings", None),
            ("service-levels", "/admin/deadlines", None),
            ("calendar", "/admin/calendar", None),
            ("outbox", "/admin/outbox?state=sent", None),
            ("notifications", "/notifications", None),
            ("case-manager", f"/cases/{ids['resolved']}", None),
            ("callback-plan", f"/callbacks/plans/{ids['plan']}", None),
            ("reports-dashboard", "/reports", None),
            ("reports-monthly", "/reports/monthly", generate_report),
            ("reports-trend", "/reports/trend", None),
            ("integrations", "/admin/integrations/", None),
            ("webhooks", "/admin/integrations/webhooks", None),
            ("phone-reveals", "/admin/phone-reveals", None),
            ("audit", "/admin/audit", None),
            ("estates", "/admin/estates", None),
            ("staff", "/admin/staff", None),
            ("residents", "/admin/residents", None),
            ("categories", "/admin/categories", None),
            ("departments", "/admin/departments", None),
            ("works-callbacks", "/callbacks/works", None),
            ("callback-draws", "/callbacks/draws", None),  # managers only
            ("plans", "/callbacks/plans", None),
        ],
        "resident1": [
            ("my-cases", "/my/cases", None),
            ("new-case", "/cases/new", None),
            ("new-case-error", "/cases/new", submit_empty),
            ("case-resident", f"/cases/{ids['resident']}", None),
            ("receipt", f"/cases/{ids['resident']}/receipt", None),
            ("disclosure", "/disclosure", None),
            ("account", "/account", None),
            ("account-units", "/account/units", None),
        ],
        "eng1": [
            ("dept-eng", "/dept", None),
            ("dept-eng-unassigned", "/dept?view=unassigned", None),
            ("dept-eng-done", "/dept?view=done", None),
            ("case-eng", f"/cases/{ids['eng']}", None),
        ],
        "sec1": [
            ("dept-sec", "/dept", None),
            ("case-sec", f"/cases/{ids['sec']}", None),
        ],
    }


def main(outdir: Path, lang: str = "zh", only: list[str] | None = None) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request log between the paths
    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp)) as (base, app), sync_playwright() as pw:
        ids = pick_cases(app)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for size, options in SIZES.items():
                for user, shots in plans(ids).items():
                    context = browser.new_context(locale="zh-CN", **options)
                    page = context.new_page()
                    if user:
                        login(page, base, user)
                    if lang == "en":
                        page.goto(base + "/login" if not user else base + "/")
                        with page.expect_navigation():
                            page.locator("[data-testid=lang-switch]").click()
                    for name, path, action in shots:
                        if only and not any(word in name for word in only):
                            continue
                        page.goto(base + path)
                        if action:
                            action(page)
                        page.wait_for_load_state("networkidle")
                        file = outdir / f"{size}-{lang}-{name}.png"
                        page.screenshot(path=str(file), full_page=True)
                        width = page.evaluate("document.documentElement.scrollWidth")
                        wide = options["viewport"]["width"]
                        note = f"  (scrollWidth {width} > {wide})" if width > wide + 1 else ""
                        print(f"{file}{note}")
                    context.close()
        finally:
            browser.close()


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir", nargs="?", default="screenshots")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    main(Path(args.outdir), args.lang, [w for w in args.only.split(",") if w])
