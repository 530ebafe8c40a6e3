"""PD hours and certificates in a real Chromium: the participant's ledger with its sources, the certificate
issued when the completion rule says "met" (sent here as the rule sends it), downloaded and read back
(pypdfium2) and rendered to a PNG; the public verification page; the lead's ledger and certificates list.
Each page: no serious/critical axe violations, nothing wider than 360 px, screenshots at 360 and 1280 px."""
from __future__ import annotations

from sqlalchemy import select

from lti_tool.attendance import writes as attendance
from lti_tool.calendar.models import Meeting
from lti_tool.certificates.models import Certificate
from lti_tool.course import events
from lti_tool.course.access import access_for
from lti_tool.db import db
from lti_tool.hours import writes as hours
from lti_tool.programs.models import Cohort
from tests.attendance.helpers import build, membership_of
from tests.browser.helpers import SCREENSHOT_DIR, launch, look
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
        hours.save_profile(s, lead, unit="contact_hour", rounding="down_quarter", caps={"module": 20},
                           reading_minutes=45, excused_percent=0, provider="Heartland Leadership Academy",
                           signer_name="Dr. Lena Ortiz", signer_title="Program director", certificates_enabled=True)
        for meeting_id, keys in zip(d.past_meetings, ("PLA", "PPP")):
            meeting = s.get(Meeting, meeting_id)
            for sub, key in zip(PARTICIPANTS, keys):
                attendance.mark_attendance(s, lead, meeting, cohort, d.members[sub], key)
        hours.add_manual_line(s, lead, d.members[PARTICIPANTS[0]], category="other", on_date=meeting.starts_at.date(),
                              minutes=120, title="State principals' conference", reason="Sign-in sheet on file")
        s.commit()
        # What the completion rule sends when Aisha meets it; the job issues her certificate after the commit.
        events.completion_changed.send(s, program_id=lead.program.id, membership_id=d.members[PARTICIPANTS[0]],
                                       old="on_track", new="met")
        s.commit()
    return d


def test_a_participant_reads_their_ledger_downloads_their_certificate_and_anyone_can_verify_it(
        page, person, app, lti, live_server):
    d = setup(page, app, lti, live_server)
    base = f"{live_server.url}/c/{d.course_id}"
    with app.app_context():
        cert = db.session.scalar(select(Certificate))
        code = cert.data["code"]

    participant = person()
    launch(participant, live_server.url, PARTICIPANTS[0])
    participant.goto(f"{base}/hours/me")
    participant.get_by_role("heading", name="My PD hours").wait_for()
    lines = participant.locator("table", has=participant.locator("caption", has_text="Ledger lines"))
    assert lines.locator("tbody tr").count() == 3                      # two sessions and the conference
    assert "Attendance record" in lines.inner_text() and "Entered by a lead" in lines.inner_text()
    assert "5 contact hours" in participant.locator(".hrs-total").inner_text()
    look(participant, "hours-my-ledger")

    with participant.expect_download() as download_info:
        participant.get_by_role("link", name="Download PDF of version 1").click()
    path = download_info.value.path()
    data = open(path, "rb").read()
    text = pdf_text(data)
    for expected in ("Aisha Rahman", "Heartland Leadership Academy", "Live sessions", "Other (entered by a lead)",
                     "5 contact hours", code, f"/verify/{code}", "Dr. Lena Ortiz"):
        assert expected in text, expected
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    doc[0].render(scale=1.5).to_pil().save(SCREENSHOT_DIR / "certificate-pdf.png")
    doc.close()

    stranger = person()                    # no launch: the public page
    stranger.goto(f"{live_server.url}/verify/{code}")
    stranger.get_by_text("This certificate is genuine and in force.").wait_for()
    assert "Aisha Rahman" in stranger.inner_text("main") and "5 contact hours" in stranger.inner_text("main")
    look(stranger, "certificate-verify")
    stranger.fill("#code", "AAAA-BBBB-CCCC-DDDD")
    stranger.get_by_role("button", name="Verify").click()
    stranger.get_by_text("No certificate has this code").wait_for()
    look(stranger, "certificate-verify-not-found", allowed_console_errors=["status of 404"])


def test_the_lead_sees_everyones_hours_and_the_certificates_list(page, app, lti, live_server):
    d = setup(page, app, lti, live_server)
    base = f"{live_server.url}/c/{d.course_id}"
    page.goto(f"{base}/hours/program")
    table = page.locator("table.hrs-table")
    assert table.locator("tbody tr").count() == len(PARTICIPANTS)
    look(page, "hours-program")
    page.goto(f"{base}/certificates/")
    page.get_by_role("heading", name="Issued").wait_for()
    assert "Aisha Rahman" in page.locator("table").inner_text()
    look(page, "certificates-lead")
    page.goto(f"{base}/hours/settings")
    look(page, "hours-settings")
