"""The roster page in a real Chromium: a facilitator launches from the sandbox LMS, opens the roster, presses
"Sync roster now", watches the progress bar fill while a background worker reads the LMS page by page (the page
polls with htmx), and sees the result; then the updated list and the people who left. Each state: no
serious/critical axe violations, no CSP refusals, nothing wider than a 360 px phone, screenshots at 360/1280."""
from __future__ import annotations

import threading

from playwright.sync_api import expect

from lti_tool.db import db
from lti_tool.lti import roster
from lti_tool.sandbox import services as sb
from lti_tool.sandbox.views import _encode_cursor
from tests.browser.helpers import launch, look


def test_a_facilitator_syncs_the_roster_and_watches_it_progress_to_the_result(page, live_server, sandbox, app,
                                                                             monkeypatch):
    base = live_server.url
    monkeypatch.setitem(app.config, "ROSTER_PAGE_SIZE", 10)         # 28 members: three pages
    with app.app_context():
        s = db.new_session()
        platform = sb.first_platform(s)
        course = sb.get_course(s, platform, "demo-course")
        # The LMS is slow on the second page, long enough to see the job half-way.
        sb.add_fault(s, f"page={_encode_cursor(10)}", "timeout", delay=6)
        s.commit()
        s.close()
    # A background worker: the job runs in its own thread, as the Huey consumer would run it.
    workers: list[threading.Thread] = []

    run_roster_sync = roster.run_roster_sync

    def work(job_id):
        with app.app_context():
            run_roster_sync.call_local(job_id)

    def enqueue(job_id):
        worker = threading.Thread(target=work, args=(job_id,), daemon=True)
        workers.append(worker)
        worker.start()

    monkeypatch.setattr(roster, "run_roster_sync", enqueue)    # what open_job enqueues after the commit

    course_id = launch(page, base, "demo-facilitator-1")
    page.goto(f"{base}/c/{course_id}/roster/")
    expect(page.get_by_role("heading", name="Course roster")).to_be_visible()
    expect(page.get_by_text("The roster has not been read in full from the LMS yet")).to_be_visible()
    look(page, "roster-before-sync")

    page.get_by_role("button", name="Sync roster now").click()
    expect(page.get_by_text("10 members read so far.")).to_be_visible(timeout=10_000)
    expect(page.get_by_text("Sync in progress")).to_be_visible()
    expect(page.get_by_label("Members read from the LMS")).to_be_visible()
    expect(page.get_by_role("button", name="Sync roster now")).to_have_count(0)
    page.reload()                                                    # the job survives a reload
    expect(page.get_by_text("Sync in progress")).to_be_visible()
    expect(page.get_by_text("10 members read so far.")).to_be_visible()
    look(page, "roster-sync-running")

    # htmx polls the job until it ends, then shows the result without a reload.
    expect(page.get_by_text("28 members: 27 new, 0 changed, 0 no longer in the course.")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("Last sync done")).to_be_visible()
    look(page, "roster-sync-done")
    for worker in workers:
        worker.join(timeout=10)

    page.get_by_role("link", name="Show the updated roster").click()
    expect(page.get_by_role("link", name="In the course (28)")).to_be_visible()
    page.get_by_text("2 roles of Tomás Lindqvist").click()           # the raw LTI roles, on demand
    expect(page.get_by_text("membership/Instructor#TeachingAssistant")).to_be_visible()
    look(page, "roster-members")

    # Someone leaves the LMS course: after the next sync they are kept, apart, with their history.
    with app.app_context():
        s = db.new_session()
        sb.clear_faults(s)
        sb.remove_enrollment(s, sb.get_course(s, sb.first_platform(s), "demo-course"), "demo-participant-4")
        s.commit()
        s.close()
    page.get_by_role("button", name="Sync roster now").click()
    expect(page.get_by_text("27 members: 0 new, 0 changed, 1 no longer in the course.")).to_be_visible(timeout=20_000)
    page.goto(f"{base}/c/{course_id}/roster/?status=inactive")
    expect(page.get_by_role("rowheader", name="Daniel Kim")).to_be_visible()
    look(page, "roster-inactive")
