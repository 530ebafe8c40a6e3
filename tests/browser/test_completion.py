"""The completion rule in a real Chromium: the lead builds a rule in the form and watches the live preview, saves
the draft, reads who would meet it and applies it; the participant reads their forecast ("what I still need"),
meets the rule when the facilitator marks the next session, and downloads the certificate the rule's event issued
(its text read back); the facilitator's cohort by risk. Each page: no serious/critical axe violations, nothing
wider than 360 px, screenshots at 360 and 1280 px."""
from __future__ import annotations

from lti_tool.attendance import writes as attendance
from lti_tool.calendar.models import Meeting
from lti_tool.course.access import access_for
from lti_tool.db import db
from lti_tool.hours import writes as hours
from lti_tool.programs.models import Cohort
from tests.attendance.helpers import build, membership_of
from tests.browser.helpers import launch, look
from tests.certificates.conftest import pdf_text

PARTICIPANTS = ["demo-participant-1", "demo-participant-2", "demo-participant-3"]


def setup(page, app, lti, live_server):
    course_id = launch(page, live_server.url, "demo-facilitator-1")
    for sub in PARTICIPANTS:
        lti(sub)
    d = build(app, course_id, PARTICIPANTS)
    with app.app_context():
        s = db.session
        lead = access_for(s, membership_of("demo-facilitator-1", course_id))
        cohort = s.get(Cohort, d.cohort_id)
        attendance.ensure_statuses(s, lead.program)
        hours.save_profile(s, lead, unit="clock_hour", rounding="down_quarter", caps={}, reading_minutes=45,
                           excused_percent=0, provider="Heartland Leadership Academy", signer_name="Dr. Lena Ortiz",
                           certificates_enabled=True)
        for meeting_id, keys in zip(d.past_meetings, ("PAP", "PAP")):
            meeting = s.get(Meeting, meeting_id)
            for sub, key in zip(PARTICIPANTS, keys):
                attendance.mark_attendance(s, lead, meeting, cohort, d.members[sub], key)
        s.commit()
    return d


def test_the_lead_builds_a_rule_the_participant_follows_it_and_gets_the_certificate(page, person, app, lti, live_server):
    d = setup(page, app, lti, live_server)
    base = f"{live_server.url}/c/{d.course_id}/completion"
    page.goto(f"{base}/rule")
    page.get_by_role("heading", name="Build the rule").wait_for()
    page.get_by_label("Criterion 1", exact=True).select_option("sessions")
    page.get_by_label("Criterion 1: at least").fill("3")
    page.get_by_label("Criterion 1: at least").press("Tab")
    preview = page.locator("#live-preview")
    preview.get_by_text("people would meet it today").wait_for()
    assert "0 of 3" in preview.inner_text()
    page.get_by_label("Criterion 2", exact=True).select_option("points")
    page.get_by_label("Criterion 2: at least").fill("1")
    page.get_by_label("Criterion 2: in the rule or a group").select_option("A")
    page.get_by_label("What changed").fill("Three sessions and some engagement")
    look(page, "completion-rule-builder")
    page.get_by_role("button", name="Save as draft and preview").click()
    page.get_by_role("heading", name="Draft: version 1").wait_for()
    draft = page.locator("#draft")
    assert "At least 3 sessions attended; At least 1 point earned" in draft.inner_text()
    look(page, "completion-rule-draft")
    page.get_by_role("button", name="Apply version 1").click()
    page.get_by_text("The new version of the rule applies now").wait_for()
    look(page, "completion-rule-applied")

    participant = person()
    launch(participant, live_server.url, PARTICIPANTS[0])
    participant.goto(f"{base}/")
    participant.get_by_role("heading", name="My progress toward completion").wait_for()
    main = participant.inner_text("main")
    assert "2 of 3 sessions attended so far; 4 left; you can miss 3 more." in main
    assert "2 points earned (1 needed): met." in main
    assert "Attend 1 more session (next: Today's session" in main
    look(participant, "completion-my-progress")

    page.goto(f"{base}/cohorts/{d.cohort_id}")
    rows = page.locator("table.cmp-table tbody tr")
    assert rows.count() == 3
    assert "Ben Carter" in rows.first.inner_text() and "At risk" in rows.first.inner_text()   # absent twice
    look(page, "completion-cohort-by-risk")

    # The facilitator marks today's session: Aisha meets the rule, and the job issues her certificate.
    with app.app_context():
        s = db.session
        lead = access_for(s, membership_of("demo-facilitator-1", d.course_id))
        attendance.mark_attendance(s, lead, s.get(Meeting, d.now_meeting), s.get(Cohort, d.cohort_id),
                                   d.members[PARTICIPANTS[0]], "P")
        s.commit()
    participant.reload()
    participant.get_by_text("They have met", exact=False).or_(participant.get_by_text("You have met the program's completion rule.")).first.wait_for()
    look(participant, "completion-met")
    participant.goto(f"{live_server.url}/c/{d.course_id}/hours/me")
    with participant.expect_download() as download_info:
        participant.get_by_role("link", name="Download PDF of version 1").click()
    text = pdf_text(open(download_info.value.path(), "rb").read())
    assert "Aisha Rahman" in text and "Heartland Leadership Academy" in text
    participant.goto(f"{live_server.url}/c/{d.course_id}/notices/")
    assert "You have met the completion rule of the program." in participant.inner_text("main")
