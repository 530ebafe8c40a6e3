"""The grade passback page in a real Chromium: a facilitator sees sent, pending and failed scores (with the
LMS's reason), presses "Sync now" once the LMS is fixed and follows the progress bar; a running job's bar
refreshes itself (htmx polling under the CSP) until it has finished. Each page: no serious/critical axe
violations, no CSP refusals, nothing wider than a 360 px phone, screenshots at 360 and 1280 px."""
from __future__ import annotations

import re

from sqlalchemy import select

from lti_tool.db import db
from lti_tool.grades import delivery, writes
from lti_tool.grades.models import ComponentKind
from lti_tool.jobs import JobStatus, open_job, report
from lti_tool.lti.models import Course, Membership, User
from lti_tool.sandbox import services as sb
from tests.browser.helpers import launch, look

LEARNERS = [f"demo-participant-{i}" for i in range(1, 7)]


def _no_worker(job_id: int) -> None:
    """A queue whose worker has not picked the job up yet: the job stays queued."""


def _record(course_id, key, kind, label, maximum, scores, comment=""):
    course = db.session.get(Course, course_id)
    component = writes.ensure_component(db.session, course, key, kind, label, maximum)
    members = {m.user.sub: m for m in db.session.scalars(
        select(Membership).join(User).where(Membership.course_id == course_id))}
    for sub, score in scores.items():
        writes.record_score(db.session, component, members[sub], score, comment=comment)
    db.session.commit()


def test_a_facilitator_sees_the_passback_status_and_syncs_with_a_progress_bar(page, live_server, lti, app):
    base = live_server.url
    course_id = launch(page, base, "demo-facilitator-1")
    for sub in LEARNERS:
        lti(sub)
    with app.app_context():
        platform = sb.first_platform(db.session)
        sandbox_course = sb.get_course(db.session, platform, "demo-course")
        _record(course_id, "attendance", ComponentKind.attendance, "Attendance", 8,
                {s: 6.0 for s in LEARNERS[:3]}, comment="6 of 8 live sessions")
        sb.remove_enrollment(db.session, sandbox_course, "demo-participant-4")
        db.session.commit()
        _record(course_id, "attendance", ComponentKind.attendance, "Attendance", 8, {"demo-participant-4": 5.0})
        sb.add_fault(db.session, "/scores", "down", times=1000)
        db.session.commit()
        _record(course_id, "discussion", ComponentKind.discussion, "Book study: posts and replies", 10,
                {s: 9.0 for s in LEARNERS[4:]})
        # The LMS comes back and the learner is enrolled again: "Sync now" sends what waited and what failed.
        sb.clear_faults(db.session)
        sb.enroll(db.session, sandbox_course, sb.get_user(db.session, platform, "demo-participant-4"), [sb.LEARNER])
        db.session.commit()

    page.goto(f"{base}/c/{course_id}/grades/")
    cells = page.locator("table.grd-cells tbody tr")
    assert cells.filter(has_text="Failed").count() == 1
    assert "not a student" in cells.filter(has_text="Failed").inner_text()
    assert cells.filter(has_text="Pending").count() == 2
    assert cells.filter(has_text="Next attempt").count() == 2
    look(page, "grades-status")

    page.get_by_role("combobox", name="Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=failed"))
    assert page.locator("table.grd-cells tbody tr").count() == 1
    look(page, "grades-status-failed")

    page.get_by_role("button", name="Sync now").click()
    page.wait_for_url(re.compile(rf"/c/{course_id}/jobs/\d+"))
    bar = page.get_by_label(re.compile("Progress"))
    assert bar.evaluate("el => el.tagName") == "PROGRESS" and bar.get_attribute("value") == "100"
    assert "3 sent" in page.locator(".app-job").inner_text()
    look(page, "grades-sync-finished")
    page.reload()                                                 # the job's page survives a reload
    assert "Finished" in page.locator(".app-job").inner_text()

    page.get_by_role("link", name="Back to grade passback").click()
    page.wait_for_url(re.compile(rf"/c/{course_id}/grades/"))
    assert page.locator("table.grd-cells tbody tr", has_text="Sent").count() == len(LEARNERS)
    with app.app_context():
        items = sb.line_items(db.session, sb.get_course(db.session, sb.first_platform(db.session), "demo-course"))
        history = [h.user_sub for item in items for h in sb.score_history(db.session, item)]
        assert sorted(history) == sorted(LEARNERS), "each score reached the gradebook once"


def test_a_running_jobs_progress_bar_refreshes_itself_until_it_has_finished(page, live_server, sandbox, app):
    base = live_server.url
    course_id = launch(page, base, "demo-facilitator-1")
    with app.app_context():
        job_id = open_job(db.session, delivery.SYNC_JOB_KIND, course_id, None, _no_worker)[0].id
        db.session.commit()
    with app.app_context():
        report(job_id, status=JobStatus.running, done=312, total=1000,
               message="312 of 1000 handled: 300 sent, 12 to retry, 0 failed.")
    page.goto(f"{base}/c/{course_id}/jobs/{job_id}")
    assert page.get_by_label(re.compile("Progress")).get_attribute("value") == "31"
    look(page, "grades-sync-running")
    with page.expect_response(lambda r: f"/jobs/{job_id}" in r.url and r.request.headers.get("hx-request")):
        with app.app_context():
            report(job_id, done=640, message="640 of 1000 handled.")
    page.get_by_text("640 of 1000 handled.").wait_for(timeout=5000)
    with app.app_context():
        report(job_id, status=JobStatus.done, done=1000, message="Sync finished: 1000 sent.")
    page.get_by_text("Sync finished: 1000 sent.").wait_for(timeout=5000)
    assert page.locator(f"#job-{job_id}").get_attribute("hx-trigger") is None     # polling stopped
    assert page.get_by_label(re.compile("Progress")).get_attribute("value") == "100"
    assert page.console_errors == []
