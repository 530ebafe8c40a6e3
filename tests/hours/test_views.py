"""PD-hours and certificate pages through real LTI launches from the sandbox LMS: "My hours" with its
sources and CSV, the program ledger, the settings form, manual lines, the certificates list (issue, revoke),
downloads, the public verification page (no launch, rate-limited, nothing but the public facts); and every
crossing of lines: another participant's ledger or certificate (404), a participant acting as a lead (403),
CSRF refused, bad input answered 400 with nothing saved, what a user typed escaped."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lti_tool.attendance import writes as attendance
from lti_tool.certificates.models import Certificate
from lti_tool.course.access import access_for
from lti_tool.db import db
from lti_tool.hours import writes as hours
from lti_tool.hours.models import HoursProfile, ManualLine
from lti_tool.calendar.models import Meeting
from lti_tool.programs.models import Cohort, Program
from tests.attendance.helpers import build, membership_of
from tests.certificates.conftest import pdf_text
from tests.lti_client import forms

P1, P2, P4 = "demo-participant-1", "demo-participant-2", "demo-participant-4"


def course_of(response) -> int:
    return int(re.search(r"/c/(\d+)/", response.url).group(1))


@pytest.fixture
def demo(app, lti):
    fac = lti("demo-facilitator-1")
    course_id = course_of(fac.last)
    people = {sub: lti(sub) for sub in (P1, P2, P4)}
    d = build(app, course_id, [P1, P2], other_members=[P4])
    with app.app_context():
        s = db.session
        lead = access_for(s, membership_of("demo-facilitator-1", course_id))
        meeting = s.get(Meeting, d.past_meetings[0])
        cohort = s.get(Cohort, d.cohort_id)
        attendance.ensure_statuses(s, meeting.program)
        attendance.mark_attendance(s, lead, meeting, cohort, d.members[P1], "P")
        hours.save_profile(s, lead, unit="clock_hour", rounding="down_quarter", caps={}, reading_minutes=60,
                           excused_percent=0, provider="Academy <b>", signer_name="Dr. Ortiz",
                           certificates_enabled=True)
        s.commit()
    return d, fac, people


def token_of(browser, path: str) -> str:
    return next(f.fields["csrf_token"] for f in forms(browser.get(path).text) if "csrf_token" in f.fields)


def participant_token(browser, d) -> str:
    """A participant's CSRF token (their PD-hours pages have no form: the check-in page has one)."""
    return token_of(browser, f"/c/{d.course_id}/attendance/meetings/{d.now_meeting}/checkin")


def hours_url(d, rest="") -> str:
    return f"/c/{d.course_id}/hours{rest}"


def test_my_hours_shows_my_lines_with_their_source_and_downloads_as_csv(demo):
    d, _fac, people = demo
    me = people[P1]
    page = me.get(hours_url(d, "/me"))
    assert page.status_code == 200 and "My PD hours" in page.text
    assert "Session 1" in page.text and "Attendance record" in page.text and "1.5 clock hours" in page.text
    assert f"/attendance/people/{d.members[P1]}" in page.text          # the line links to its record
    csv_text = me.get(hours_url(d, f"/people/{d.members[P1]}.csv")).content.decode("utf-8-sig")
    assert "Session 1" in csv_text and "Live sessions" in csv_text and "Attendance record" in csv_text


def test_another_participants_ledger_and_certificate_do_not_exist_for_me(app, demo):
    d, fac, people = demo
    assert people[P2].get(hours_url(d, f"/people/{d.members[P1]}")).status_code == 404
    assert people[P2].get(hours_url(d, f"/people/{d.members[P1]}.csv")).status_code == 404
    issue(fac, d, d.members[P1])
    with app.app_context():
        cert_id = db.session.scalar(select(Certificate.id))
    base = f"/c/{d.course_id}/certificates"
    assert people[P1].get(f"{base}/{cert_id}.pdf").status_code == 200
    assert people[P2].get(f"{base}/{cert_id}.pdf").status_code == 404
    assert people[P4].get(f"{base}/{cert_id}.pdf").status_code == 404
    # A participant trying the leads' pages and actions.
    assert people[P1].get(f"{base}/").status_code == 403
    assert people[P1].get(hours_url(d, "/settings")).status_code == 403
    token = participant_token(people[P1], d)
    assert people[P1].post(f"{base}/{cert_id}/revoke", {"csrf_token": token, "reason": "x"}).status_code == 403


def test_a_lead_sees_the_program_ledger_and_its_csv(demo):
    d, fac, _people = demo
    page = fac.get(hours_url(d, "/program"))
    assert page.status_code == 200 and "Aisha Rahman" in page.text and "Daniel Kim" in page.text
    csv_text = fac.get(hours_url(d, "/program.csv")).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Participant,Email,Cohorts")


def issue(fac, d, membership_id):
    base = f"/c/{d.course_id}/certificates"
    token = token_of(fac, f"{base}/")
    return fac.post(f"{base}/issue", {"csrf_token": token, "membership_id": membership_id})


def test_a_lead_issues_by_hand_and_the_participant_downloads_the_frozen_pdf(app, demo):
    d, fac, people = demo
    answer = issue(fac, d, d.members[P1])
    assert answer.status_code == 200 and "Certificate issued to Aisha Rahman" in answer.text
    page = people[P1].get(hours_url(d, "/me"))
    cert_path = re.search(r'href="(/c/\d+/certificates/\d+\.pdf)"', page.text).group(1)
    pdf = people[P1].get(cert_path)
    assert pdf.headers["Content-Type"] == "application/pdf" and "attachment" in pdf.headers["Content-Disposition"]
    text = pdf_text(pdf.content)
    assert "Aisha Rahman" in text and "1.5 clock hours" in text and "Academy <b>" in text


def test_the_verify_page_shows_only_the_public_facts_and_unknown_codes_look_alike(app, demo, lti):
    d, fac, _people = demo
    issue(fac, d, d.members[P1])
    with app.app_context():
        cert = db.session.scalar(select(Certificate))
        code, email = cert.data["code"], cert.membership.user.email
    anonymous = lti()                                                  # no launch at all
    page = anonymous.get(f"/verify/{code}")
    assert page.status_code == 200 and "Aisha Rahman" in page.text and "Valid" in page.text
    assert "1.5 clock hours" in page.text and "Academy &lt;b&gt;" in page.text
    assert email not in page.text and f"/c/{d.course_id}" not in page.text and "Signed in as" not in page.text
    by_query = anonymous.get(f"/verify/?code={code.lower()}")
    assert by_query.status_code == 200 and "Aisha Rahman" in by_query.text
    unknown, guessed = anonymous.get("/verify/AAAA-BBBB-CCCC-DDDD"), anonymous.get("/verify/1")
    assert unknown.status_code == guessed.status_code == 404
    strip = lambda html: re.sub(r'value="[^"]*"|Request id: <code>[^<]*</code>', "", html)  # noqa: E731
    assert strip(unknown.text) == strip(guessed.text)
    assert "No certificate has this code" in unknown.text


def test_the_verify_page_is_rate_limited(app, lti):
    anonymous = lti()
    app.config["CERTIFICATE_VERIFY_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [anonymous.get(f"/verify/AAAA-BBBB-CCCC-DDD{i}").status_code for i in range(5)]
    finally:
        app.config["CERTIFICATE_VERIFY_RATE_LIMIT"] = "30 per minute"
    assert codes[:3] == [404, 404, 404] and codes[3:] == [429, 429]


def test_revoking_without_a_reason_is_refused_and_keeps_the_certificate_valid(app, demo):
    d, fac, _people = demo
    issue(fac, d, d.members[P1])
    with app.app_context():
        cert_id = db.session.scalar(select(Certificate.id))
    path = f"/c/{d.course_id}/certificates/{cert_id}/revoke"
    answer = fac.post(path, {"csrf_token": token_of(fac, path), "reason": ""})
    assert answer.status_code == 400 and "Give the reason" in answer.text
    assert fac.post(path, {"reason": "No token"}).status_code == 400              # CSRF refused
    with app.app_context():
        assert db.session.get(Certificate, cert_id).status.value == "valid"
    answer = fac.post(path, {"csrf_token": token_of(fac, path), "reason": "Issued in error"})
    assert answer.status_code == 200 and "Certificate revoked" in answer.text


def test_the_settings_form_saves_and_refuses_bad_input_with_nothing_saved(app, demo):
    d, fac, _people = demo
    path = hours_url(d, "/settings")
    page = fac.get(path)
    assert page.status_code == 200
    fields = forms(page.text)[0].fields
    bad = fac.post(path, {**fields, "unit": "ceu", "rounding": "down_tenth", "cap_module": "150"})
    assert bad.status_code == 400 and "From 0 to 99" in bad.text
    with app.app_context():
        assert db.session.scalar(select(HoursProfile.unit)).value == "clock_hour"
    assert fac.post(path, {**fields, "csrf_token": "", "unit": "ceu"}).status_code == 400
    good = fac.post(path, {**fields, "unit": "ceu", "rounding": "down_tenth", "cap_module": "20"})
    assert good.status_code == 200 and "settings saved" in good.text
    with app.app_context():
        profile = db.session.scalar(select(HoursProfile))
        assert profile.unit.value == "ceu" and profile.caps == {"module": 20.0}


def test_a_manual_line_needs_its_reason_and_what_was_typed_is_escaped(app, demo):
    d, fac, people = demo
    path = hours_url(d, f"/people/{d.members[P1]}")
    token = token_of(fac, path)
    line = {"csrf_token": token, "title": "<script>alert(1)</script>", "on_date": "2030-11-02", "minutes": "90",
            "category": "other", "reason": ""}
    refused = fac.post(f"{path}/lines", line)
    assert refused.status_code == 400 and "Give the reason" in refused.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ManualLine)) == 0
    saved = fac.post(f"{path}/lines", {**line, "reason": "Conference <i>day</i>"})
    assert saved.status_code == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in saved.text
    assert "<script>alert(1)" not in saved.text and "Conference &lt;i&gt;day&lt;/i&gt;" in saved.text
    mine = people[P1].get(hours_url(d, "/me"))
    assert "&lt;script&gt;" in mine.text and "Line added" not in mine.text
    token = participant_token(people[P1], d)
    assert people[P1].post(f"{path}/lines", {**line, "csrf_token": token, "reason": "mine"}).status_code == 403


def test_another_courses_person_and_line_are_404_for_a_lead(app, demo):
    d, fac, _people = demo
    with app.app_context():
        other = db.session.scalar(select(Program).where(Program.course_id != d.course_id))
    assert other is None                                               # one course in the sandbox
    assert fac.get(hours_url(d, "/people/999999")).status_code == 404
    path = hours_url(d, f"/people/{d.members[P1]}")
    token = token_of(fac, path)
    assert fac.post(hours_url(d, "/lines/999999/remove"), {"csrf_token": token, "reason": "x"}).status_code == 404


def test_a_facilitator_corrects_the_minutes_on_the_record_page_and_the_ledger_follows(app, demo):
    from lti_tool.attendance.models import AttendanceRecord

    d, fac, people = demo
    with app.app_context():
        record_id = db.session.scalar(select(AttendanceRecord.id).where(AttendanceRecord.membership_id == d.members[P1]))
    path = f"/c/{d.course_id}/attendance/records/{record_id}/history"
    assert "Minutes for PD hours" in fac.get(path).text
    bad = fac.post(f"/c/{d.course_id}/attendance/records/{record_id}/minutes",
                   {"csrf_token": token_of(fac, path), "minutes": "500"})
    assert bad.status_code == 400
    saved = fac.post(f"/c/{d.course_id}/attendance/records/{record_id}/minutes",
                     {"csrf_token": token_of(fac, path), "minutes": "45"})
    assert saved.status_code == 200 and "Minutes saved" in saved.text and "Minutes corrected" in saved.text
    assert "0.75 clock hours" in people[P1].get(hours_url(d, "/me")).text
    assert people[P1].post(f"/c/{d.course_id}/attendance/records/{record_id}/minutes",
                           {"csrf_token": participant_token(people[P1], d), "minutes": "90"}).status_code == 403

