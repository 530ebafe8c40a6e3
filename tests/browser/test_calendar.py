"""The calendar in a real Chromium: a lead launches from the sandbox LMS and creates "the second Thursday of
each month, October to May" through the form; a participant of that cohort launches and sees the sessions.
Each page: no serious/critical axe violations, no CSP refusals, nothing wider than a 360 px phone, and
screenshots at 360 and 1280 px to look at."""
from __future__ import annotations

import datetime as dt
import re
from functools import partial

from sqlalchemy import select

from lti_tool.calendar import writes
from lti_tool.calendar.models import MeetingKind
from lti_tool.db import db
from lti_tool.lti.models import Membership, User
from lti_tool.programs.models import Cohort, CohortMember, MilestoneKind, Program, SeatStatus
from tests.browser.helpers import REFUSED_FORM, launch, look as look_at
from tests.factories import acting

look = partial(look_at, allowed_console_errors=[REFUSED_FORM])


def test_a_lead_creates_a_monthly_series_and_a_participant_sees_it(page, person, live_server, sandbox, app):
    base = live_server.url
    course_id = launch(page, base, "demo-facilitator-1")
    page.goto(f"{base}/c/{course_id}/calendar/")            # the program exists from the first facilitator visit
    participant = person()
    launch(participant, base, "demo-participant-1")

    with app.app_context():
        s = db.session
        def member(sub):
            return s.scalar(select(Membership).join(User).where(User.sub == sub, Membership.course_id == course_id))
        lead, pat = member("demo-facilitator-1"), member("demo-participant-1")
        program = s.scalar(select(Program).where(Program.course_id == course_id))
        program.timezone, program.settings, program.year_label = "America/New_York", {"leads": [lead.id]}, "2030–31"
        cohort = Cohort(program=program, name="Anti-racist curriculum")
        s.add(cohort)
        s.flush()
        s.add(CohortMember(cohort_id=cohort.id, membership_id=pat.id, status=SeatStatus.active))
        s.add(Cohort(program=program, name="Special education leaders"))
        for kind, title, day, note in [
            (MilestoneKind.proposal_deadline, "Facilitator Proposal DEADLINE", dt.date(2030, 5, 6),
             "The last day for potential facilitators to submit their proposal."),
            (MilestoneKind.orientation, "Facilitator Virtual Orientation #1", dt.date(2030, 8, 16), ""),
            (MilestoneKind.signup_deadline, "Participant Sign-up Deadline", dt.date(2030, 10, 3),
             "Last chance to sign up for one of our Communities of Practice!"),
        ]:
            writes.create_milestone(s, acting(s, lead), kind, title, day, note)
        writes.create_meeting(s, acting(s, lead), None, writes.SessionDetails(
            kind=MeetingKind.kickoff, title="CoP Year 4 Kickoff", meeting_url="https://zoom.us/j/4000",
            agenda="Welcome from the program lead\nMeet your cohort\nThe year ahead"),
            dt.date(2030, 10, 2), dt.time(15, 0), dt.time(16, 30))
        writes.create_meeting(s, acting(s, lead), None, writes.SessionDetails(
            kind=MeetingKind.deep_dive, title="In-person deep dive", location="Washington DC, 1400 K St NW",
            cancelled=True), dt.date(2031, 1, 30), dt.time(10, 0), dt.time(14, 0))
        s.commit()

    # The lead fills the recurring-sessions form.
    page.goto(f"{base}/c/{course_id}/calendar/series/new")
    page.select_option("#cohort_id", label="Anti-racist curriculum")
    page.select_option("#kind", "virtual")
    page.fill("#title", "Monthly virtual group session")
    page.select_option("#frequency", "monthly_nth")
    page.select_option("#nth", "2")
    page.select_option("#weekday", "3")
    page.fill("#start_date", "2030-10-01")
    page.fill("#end_date", "2031-05-31")
    page.fill("#start_time", "15:00")
    page.fill("#duration_minutes", "90")
    page.fill("#meeting_url", "https://zoom.us/j/5551234")
    page.fill("#agenda", "Check-in\nShare on-site experiences\nResources")
    look(page, "calendar-series-form")
    page.get_by_role("button", name="Add sessions").click()
    page.wait_for_url(re.compile(r"/calendar/"))
    assert "8 sessions were added" in page.content()
    assert page.get_by_role("link", name="Monthly virtual group session", exact=True).count() == 8
    look(page, "calendar-lead")

    # A bad series says what is wrong and saves nothing.
    page.goto(f"{base}/c/{course_id}/calendar/series/new")
    page.fill("#title", "Nothing")
    page.fill("#start_date", "2030-10-11")
    page.fill("#end_date", "2030-11-12")
    page.fill("#start_time", "15:00")
    page.get_by_role("button", name="Add sessions").click()
    assert "These settings give no dates" in page.content()
    look(page, "calendar-series-error")

    # The participant of that cohort sees the sessions, in their own zone too.
    participant.goto(f"{base}/c/{course_id}/calendar/timezone")
    participant.fill("#timezone", "America/Los_Angeles")
    participant.get_by_role("button", name="Save time zone").click()
    participant.wait_for_url(re.compile(r"/calendar/$"))
    text = participant.inner_text("main")
    assert text.count("Monthly virtual group session") >= 8
    assert "Thu 10 Oct, 3:00–4:30 pm EDT (12:00–1:30 pm PDT your time)" in text
    assert "Add recurring sessions" not in text
    look(participant, "calendar-participant")

    participant.goto(f"{base}/c/{course_id}/calendar/timeline")
    assert "Participant Sign-up Deadline" in participant.content()
    look(participant, "calendar-timeline")

    participant.get_by_role("link", name="CoP Year 4 Kickoff").click()
    assert "Meet your cohort" in participant.content()
    look(participant, "calendar-session")

    participant.goto(f"{base}/c/{course_id}/calendar/subscribe")
    look(participant, "calendar-subscribe")
    participant.context.close()
