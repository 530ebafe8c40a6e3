"""Calendar pages through real LTI launches from the sandbox LMS: forms and their messages, who may do
what, nothing across courses, .ics downloads and token feeds parsed back, and a fixed query count."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import icalendar
import pytest
import requests
from sqlalchemy import event, func, select

from lti_tool.calendar import writes
from lti_tool.calendar.models import CalendarToken, Meeting, MeetingKind
from lti_tool.db import db
from lti_tool.lti.models import Membership, User
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus
from tests.calendar.conftest import acting

NY = ZoneInfo("America/New_York")


def course_id_of(browser) -> int:
    return int(re.search(r"/c/(\d+)/", browser.last.url).group(1))


def membership_of(sub: str, course_id: int) -> Membership:
    return db.session.scalar(select(Membership).join(User).where(User.sub == sub, Membership.course_id == course_id))


class Setup:
    """The demo course: lead demo-facilitator-1; demo-facilitator-2 runs Literacy (demo-participant-1 in it);
    Math has demo-participant-2."""

    def __init__(self, app, lti):
        self.app = app
        self.lead = lti("demo-facilitator-1")
        self.course_id = course_id_of(self.lead)
        self.base = f"/c/{self.course_id}/calendar"
        self.lead.get(self.base + "/")                              # the program exists from here on
        self.fac = lti("demo-facilitator-2")
        self.pat = lti("demo-participant-1")
        self.quinn = lti("demo-participant-2")
        with app.app_context():
            s = db.session
            m = {sub: membership_of(sub, self.course_id) for sub in
                 ("demo-facilitator-1", "demo-facilitator-2", "demo-participant-1", "demo-participant-2")}
            program = s.scalar(select(Program).where(Program.course_id == self.course_id))
            program.timezone = "America/New_York"
            program.settings = {"leads": [m["demo-facilitator-1"].id]}
            literacy, math = Cohort(program=program, name="Literacy"), Cohort(program=program, name="Math")
            s.add_all([literacy, math])
            s.flush()
            s.add_all([CohortFacilitator(cohort_id=literacy.id, membership_id=m["demo-facilitator-2"].id),
                       CohortMember(cohort_id=literacy.id, membership_id=m["demo-participant-1"].id,
                                    status=SeatStatus.active),
                       CohortMember(cohort_id=math.id, membership_id=m["demo-participant-2"].id,
                                    status=SeatStatus.active)])
            s.commit()
            self.program_id, self.literacy, self.math = program.id, literacy.id, math.id
            self.memberships = {k: v.id for k, v in m.items()}

    def add(self, title, cohort_id=None, day=dt.date(2030, 10, 10), **kw) -> int:
        with self.app.app_context():
            s = db.session
            lead = s.get(Membership, self.memberships["demo-facilitator-1"])
            cohort = s.get(Cohort, cohort_id) if cohort_id else None
            details = writes.SessionDetails(kind=kw.pop("kind", MeetingKind.virtual), title=title, **kw)
            meeting = writes.create_meeting(s, acting(s, lead), cohort, details, day, dt.time(15, 0),
                                            dt.time(16, 30))
            s.commit()
            return meeting.id


@pytest.fixture
def setup(app, lti) -> Setup:
    return Setup(app, lti)


def meeting_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Meeting.id)))


def test_a_lead_creates_a_recurring_series_and_only_that_cohort_sees_it(setup, app):
    page = setup.lead.get(setup.base + "/series/new")
    assert page.status_code == 200 and "Add recurring sessions" in page.text
    done = setup.lead.submit(page, cohort_id=str(setup.literacy), kind="virtual", title="Monthly Zoom call",
                             frequency="monthly_nth", nth="2", weekday="3", start_date="2030-10-01",
                             end_date="2031-05-31", start_time="15:00", duration_minutes="90",
                             meeting_url="https://zoom.us/j/42", agenda="")
    assert done.status_code == 200 and "8 sessions were added" in done.text
    assert done.text.count("Monthly Zoom call") >= 8
    assert "Thu 10 Oct, 3:00–4:30 pm EDT" in done.text and "Thu 14 Nov, 3:00–4:30 pm EST" in done.text
    assert setup.pat.get(setup.base + "/").text.count(">Monthly Zoom call<") == 8
    assert "Monthly Zoom call" not in setup.quinn.get(setup.base + "/").text


def test_a_session_form_with_an_end_before_the_start_says_so_and_saves_nothing(setup, app):
    page = setup.fac.get(setup.base + "/sessions/new")
    bad = setup.fac.submit(page, cohort_id=str(setup.literacy), kind="virtual", title="Call", day="2030-10-10",
                           start_time="15:00", end_time="14:00", meeting_url="", location="", agenda="")
    assert bad.status_code == 400 and "The session ends before it starts" in bad.text
    assert 'aria-invalid="true"' in bad.text and "Nothing was saved: fix the fields marked below." in bad.text
    assert meeting_count(app) == 0


def test_a_meeting_link_without_https_is_refused_on_the_form(setup, app):
    page = setup.lead.get(setup.base + "/sessions/new")
    bad = setup.lead.submit(page, cohort_id="0", kind="kickoff", title="Kick-off", day="2030-10-10",
                            start_time="15:00", end_time="16:30", meeting_url="http://zoom.us/j/1", agenda="")
    assert bad.status_code == 400 and "must be a secure web address starting with https://" in bad.text
    assert meeting_count(app) == 0


def test_a_recurrence_without_dates_is_refused_on_the_form(setup, app):
    page = setup.lead.get(setup.base + "/series/new")
    bad = setup.lead.submit(page, cohort_id="0", kind="virtual", title="Call", frequency="monthly_nth", nth="2",
                            weekday="3", start_date="2030-10-11", end_date="2030-11-12", start_time="15:00",
                            duration_minutes="90", meeting_url="", agenda="")
    assert bad.status_code == 400 and "These settings give no dates" in bad.text
    assert meeting_count(app) == 0


def test_an_unknown_time_zone_is_refused_and_a_known_one_shows_times_in_both_zones(setup):
    setup.add("Kick-off", kind=MeetingKind.kickoff)
    page = setup.pat.get(setup.base + "/timezone")
    bad = setup.pat.submit(page, timezone="Atlantis/Capital")
    assert bad.status_code == 400 and "is not a time zone we know" in bad.text
    ok = setup.pat.submit(setup.pat.get(setup.base + "/timezone"), timezone="America/Los_Angeles")
    assert ok.status_code == 200
    assert ('<span class="app-t">Thu 10 Oct, 3:00–4:30 pm EDT</span> '
            '<span class="app-t">(12:00–1:30 pm PDT your time)</span>') in ok.text


def test_participants_cannot_manage_sessions(setup, app):
    meeting_id = setup.add("Literacy call", setup.literacy)
    assert setup.pat.get(setup.base + "/sessions/new").status_code == 403
    assert setup.pat.get(setup.base + "/series/new").status_code == 403
    assert setup.pat.get(f"{setup.base}/sessions/{meeting_id}/edit").status_code == 403
    token = setup.pat.csrf_token(setup.base + "/timezone")
    assert setup.pat.post(f"{setup.base}/sessions/{meeting_id}/delete",
                          {"csrf_token": token, "scope": "one"}).status_code == 403
    assert setup.pat.get(setup.base + "/milestones/new").status_code == 403
    page = setup.pat.get(f"{setup.base}/sessions/{meeting_id}")
    assert page.status_code == 200 and ">Edit<" not in page.text
    assert meeting_count(app) == 1


def test_a_facilitator_manages_their_cohort_only(setup, app):
    mine, theirs = setup.add("Literacy call", setup.literacy), setup.add("Math call", setup.math)
    page = setup.fac.get(setup.base + "/sessions/new")
    assert f'value="{setup.literacy}"' in page.text and f'value="{setup.math}"' not in page.text
    assert "The whole program" not in page.text
    assert setup.fac.get(f"{setup.base}/sessions/{theirs}").status_code == 404
    edit = setup.fac.get(f"{setup.base}/sessions/{mine}/edit")
    saved = setup.fac.submit(edit, kind="virtual", title="Literacy call (moved)", start_time="16:00", end_time="17:00")
    assert saved.status_code == 200 and "Literacy call (moved)" in saved.text and "4:00–5:00 pm EDT" in saved.text


def test_a_session_of_another_course_is_not_found(setup, app, lti):
    other = lti("other-facilitator-1", course="other-course")
    other_course = course_id_of(other)
    assert other_course != setup.course_id
    other.get(f"/c/{other_course}/calendar/")
    form = other.get(f"/c/{other_course}/calendar/sessions/new")
    other.submit(form, cohort_id="0", kind="kickoff", title="Other course kick-off", day="2030-10-10",
                 start_time="15:00", end_time="16:00", meeting_url="", agenda="")
    with app.app_context():
        foreign = db.session.scalar(select(Meeting.id).where(Meeting.title == "Other course kick-off"))
    assert foreign is not None
    for path in (f"/sessions/{foreign}", f"/sessions/{foreign}/edit", f"/sessions/{foreign}.ics"):
        assert setup.lead.get(setup.base + path).status_code == 404
    # And the course in the URL must be the viewer's own.
    assert setup.quinn.get(f"/c/{other_course}/calendar/").status_code == 403


def test_the_agenda_is_escaped_and_keeps_its_line_breaks(setup):
    meeting_id = setup.add("Kick-off", agenda="<script>alert(1)</script>\nSecond line")
    page = setup.pat.get(f"{setup.base}/sessions/{meeting_id}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nSecond line" in page.text
    assert 'class="cal-agenda"' in page.text


def test_editing_one_session_of_a_series_detaches_it_and_delete_all_removes_the_rest(setup, app):
    page = setup.lead.get(setup.base + "/series/new")
    setup.lead.submit(page, cohort_id=str(setup.literacy), kind="virtual", title="Weekly", frequency="weekly",
                      weekday="3", nth="1", start_date="2030-10-01", end_date="2030-10-31", start_time="15:00",
                      duration_minutes="60", meeting_url="", agenda="")
    with app.app_context():
        ids = db.session.scalars(select(Meeting.id).order_by(Meeting.starts_at)).all()
    assert len(ids) == 5
    edit = setup.lead.get(f"{setup.base}/sessions/{ids[1]}/edit")
    assert "Only this session (it leaves its series)" in edit.text
    setup.lead.submit(edit, kind="virtual", title="Special", scope="one", cancelled="y")
    shown = setup.pat.get(f"{setup.base}/sessions/{ids[1]}")
    assert "Cancelled:" in shown.text and "Special" in shown.text
    delete = setup.lead.get(f"{setup.base}/sessions/{ids[0]}/delete")
    done = setup.lead.submit(delete, scope="all")
    assert "4 sessions were deleted" in done.text
    with app.app_context():
        assert db.session.scalars(select(Meeting.title)).all() == ["Special"]


def test_a_lead_edits_milestones_shown_on_the_numbered_timeline(setup):
    page = setup.lead.get(setup.base + "/milestones/new")
    setup.lead.submit(page, kind="signup_deadline", title="Participant Sign-up Deadline", on_date="2030-10-03",
                      note="Last chance to sign up!")
    bad = setup.lead.submit(setup.lead.get(setup.base + "/milestones/new"), kind="orientation", title="X", on_date="")
    assert bad.status_code == 400 and "Give the milestone a date" in bad.text
    setup.add("CoP Year 4 Kickoff", kind=MeetingKind.kickoff, day=dt.date(2030, 10, 12))
    timeline = setup.pat.get(setup.base + "/timeline")
    text = timeline.text
    assert '<ol class="cal-timeline">' in text
    assert text.index("Participant Sign-up Deadline") < text.index("CoP Year 4 Kickoff")
    assert "October 3, 2030" in text and "Last chance to sign up!" in text
    assert "Add a milestone" not in text


def test_session_ics_download_parses_back_with_a_stable_uid(setup):
    meeting_id = setup.add("Kick-off", meeting_url="https://zoom.us/j/9", location="", agenda="Welcome")
    first = setup.pat.get(f"{setup.base}/sessions/{meeting_id}.ics")
    assert first.headers["Content-Type"].startswith("text/calendar")
    assert "attachment" in first.headers["Content-Disposition"]
    event, = icalendar.Calendar.from_ical(first.content).walk("VEVENT")
    again, = icalendar.Calendar.from_ical(setup.lead.get(f"{setup.base}/sessions/{meeting_id}.ics").content) \
        .walk("VEVENT")
    assert str(event["uid"]) == str(again["uid"]) and str(event["uid"]).startswith(f"meeting-{meeting_id}@")
    assert event.decoded("dtstart") == dt.datetime(2030, 10, 10, 15, 0, tzinfo=NY)
    assert str(event["url"]) == "https://zoom.us/j/9" and "Welcome" in str(event["description"])


def test_the_private_feed_works_without_login_and_a_revoked_token_gives_404(setup, app, live_server):
    setup.add("Kick-off", kind=MeetingKind.kickoff)
    setup.add("Literacy call", setup.literacy, cancelled=True)
    setup.add("Math call", setup.math)
    page = setup.pat.get(setup.base + "/subscribe")
    feed_url = re.search(r'id="feed-url" value="([^"]+)"', page.text).group(1)
    assert "Google Calendar" in page.text and "Outlook" in page.text and "Apple Calendar" in page.text
    anonymous = requests.get(feed_url, timeout=30)
    assert anonymous.status_code == 200 and anonymous.headers["Content-Type"].startswith("text/calendar")
    events = {str(e["summary"]): e for e in icalendar.Calendar.from_ical(anonymous.content).walk("VEVENT")}
    assert set(events) == {"Kick-off", "Cancelled: Literacy call — Literacy"}
    assert str(events["Cancelled: Literacy call — Literacy"]["status"]) == "CANCELLED"

    regenerated = setup.pat.submit(page, index=0)                     # "Get a new address"
    new_url = re.search(r'id="feed-url" value="([^"]+)"', regenerated.text).group(1)
    assert new_url != feed_url
    assert requests.get(feed_url, timeout=30).status_code == 404
    assert requests.get(new_url, timeout=30).status_code == 200
    setup.pat.submit(regenerated, index=1)                            # "Turn the address off"
    assert requests.get(new_url, timeout=30).status_code == 404
    off = setup.pat.get(setup.base + "/subscribe")                    # no new address until asked for
    assert "your calendar address is turned off" in off.text and 'id="feed-url"' not in off.text
    with app.app_context():
        assert db.session.scalar(select(func.count(CalendarToken.id)).where(CalendarToken.revoked_at.is_(None))) == 0


def test_the_calendar_page_costs_the_same_queries_for_few_or_many_sessions(setup, app):
    engine = db.engine_for(app)

    def page_queries() -> tuple[int, str]:
        count = 0

        def _count(*_a, **_k):
            nonlocal count
            count += 1

        event.listen(engine, "before_cursor_execute", _count)
        try:
            text = setup.lead.get(setup.base + "/").text
        finally:
            event.remove(engine, "before_cursor_execute", _count)
        return count, text

    for i in range(3):
        setup.add(f"S{i}", [None, setup.literacy, setup.math][i % 3], day=dt.date(2030, 10, 1) + dt.timedelta(i))
    few, text = page_queries()
    assert len(re.findall(r'class="cal-item[ "]', text)) == 3
    for i in range(3, 30):
        setup.add(f"S{i}", [None, setup.literacy, setup.math][i % 3], day=dt.date(2030, 10, 1) + dt.timedelta(i))
    many, text = page_queries()
    assert len(re.findall(r'class="cal-item[ "]', text)) == 30
    assert many == few


def test_the_calendar_is_offered_in_the_deep_linking_picker(lti):
    browser = lti()
    picker = browser.launch("demo-facilitator-1", kind="deeplink", flavour="moodle")
    assert 'value="calendar"' in picker.text


def test_a_lead_deletes_a_milestone_from_the_timeline(setup, app):
    setup.lead.submit(setup.lead.get(setup.base + "/milestones/new"), kind="orientation",
                      title="Facilitator Virtual Orientation #1", on_date="2030-08-16", note="")
    timeline = setup.lead.get(setup.base + "/timeline")
    assert "Add a milestone" in timeline.text and "Facilitator Virtual Orientation #1" in timeline.text
    done = setup.lead.submit(timeline, index=0)                       # the milestone's Delete button
    assert done.status_code == 200 and "was deleted" in done.text
    assert "Nothing on the timeline yet" in done.text


def test_a_participant_named_facilitator_of_a_cohort_manages_its_sessions_and_no_others(setup, app, lti):
    """Issue 11, point 1: an LMS Learner named on a cohort (as an accepted proposal names its proposer) gets the
    manager's answer for that cohort's sessions, and the participant's for every other."""
    peer = lti("demo-participant-3")
    with app.app_context():
        db.session.add(CohortFacilitator(cohort_id=setup.literacy,
                                         membership_id=membership_of("demo-participant-3", setup.course_id).id))
        db.session.commit()
    mine, theirs, everyone = setup.add("Literacy call", setup.literacy), setup.add("Math call", setup.math), \
        setup.add("Kick-off", kind=MeetingKind.kickoff)
    index = peer.get(setup.base + "/")
    assert index.status_code == 200 and "Add one session" in index.text and "Add recurring sessions" in index.text
    assert f"/sessions/{mine}/edit" in index.text and f"/sessions/{everyone}/edit" not in index.text
    assert "Math call" not in index.text

    form = peer.get(setup.base + "/sessions/new")
    assert form.status_code == 200
    assert f'value="{setup.literacy}"' in form.text and f'value="{setup.math}"' not in form.text
    assert "The whole program" not in form.text
    fields = dict(kind="virtual", title="Peer session", day="2030-11-07", start_time="15:00", end_time="16:00",
                  meeting_url="", location="", agenda="")
    refused = peer.submit(form, cohort_id=str(setup.math), **fields)
    assert refused.status_code == 400 and meeting_count(app) == 3
    added = peer.submit(form, cohort_id=str(setup.literacy), **fields)
    assert added.status_code == 200 and "was added" in added.text and meeting_count(app) == 4
    assert peer.get(setup.base + "/series/new").status_code == 200

    shown = peer.get(f"{setup.base}/sessions/{mine}")
    assert f"/sessions/{mine}/edit" in shown.text and f"/sessions/{mine}/delete" in shown.text
    cancelled = peer.submit(peer.get(f"{setup.base}/sessions/{mine}/edit"), kind="virtual", title="Literacy call",
                            cancelled="y")
    assert cancelled.status_code == 200 and "Cancelled:" in cancelled.text
    with app.app_context():
        assert db.session.get(Meeting, mine).cancelled is True

    # Another cohort's session stays out of sight; a program-wide one is seen, not managed.
    assert peer.get(f"{setup.base}/sessions/{theirs}").status_code == 404
    assert peer.get(f"{setup.base}/sessions/{theirs}/edit").status_code == 404
    assert peer.get(f"{setup.base}/sessions/{everyone}/edit").status_code == 403
    assert peer.get(f"{setup.base}/sessions/{everyone}/delete").status_code == 403
    assert peer.get(setup.base + "/milestones/new").status_code == 403
    deleted = peer.submit(peer.get(f"{setup.base}/sessions/{mine}/delete"), scope="one")
    assert deleted.status_code == 200 and "was deleted" in deleted.text and meeting_count(app) == 3
