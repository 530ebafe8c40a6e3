"""Calendar services on a real database: sessions stored in UTC from the program's wall clock, recurring
series (DST-correct), edits of one or all, permissions, the timeline, time zones and iCal feeds."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from lti_tool.calendar import formats, queries, writes
from lti_tool.calendar.models import CalendarToken, Meeting, MeetingKind, MeetingSeries
from lti_tool.calendar.writes import Frequency, Recurrence, Scope, SessionDetails
from lti_tool.course import zones
from lti_tool.course.access import access_for
from lti_tool.errors import Forbidden, InvalidInput, NotFound
from lti_tool.lti.models import CourseRole
from lti_tool.programs.models import MilestoneKind
from tests.calendar.conftest import acting, make_world

NY = ZoneInfo("America/New_York")


def details(title="Monthly call", kind=MeetingKind.virtual, **kw) -> SessionDetails:
    return SessionDetails(kind=kind, title=title, **kw)


def count_meetings(session) -> int:
    return session.scalar(select(func.count(Meeting.id)))


def second_thursdays(start=dt.date(2024, 10, 1), end=dt.date(2025, 5, 31), **kw) -> Recurrence:
    return Recurrence(frequency=Frequency.monthly_nth, start_date=start, end_date=end,
                      start_time=dt.time(15, 0), duration_minutes=90, weekday=3, nth=2, **kw)


# ---- one session ------------------------------------------------------------------------------------------

def test_a_session_entered_in_the_program_zone_is_stored_in_utc(session, world):
    lena = world.people["Lena"]
    m = writes.create_meeting(session, acting(session, lena), None, details("Kick-off", MeetingKind.kickoff),
                              dt.date(2024, 10, 10), dt.time(15, 0), dt.time(16, 30))
    assert m.starts_at == dt.datetime(2024, 10, 10, 19, 0, tzinfo=dt.timezone.utc)
    assert m.ends_at == dt.datetime(2024, 10, 10, 20, 30, tzinfo=dt.timezone.utc)
    session.expire_all()
    again = session.get(Meeting, m.id)
    assert again.starts_at.astimezone(NY).hour == 15 and again.starts_at.tzinfo is not None


def test_a_session_that_ends_before_it_starts_is_refused_and_nothing_is_saved(session, world):
    with pytest.raises(InvalidInput, match="ends before it starts") as err:
        writes.create_meeting(session, acting(session, world.people["Lena"]), None, details(),
                              dt.date(2024, 10, 10), dt.time(15, 0), dt.time(14, 0))
    assert err.value.field == "end_time"
    assert count_meetings(session) == 0


@pytest.mark.parametrize("url", ["http://zoom.us/j/1", "javascript:alert(1)", "zoom.us/j/1", "https://"])
def test_a_meeting_link_that_is_not_https_is_refused(session, world, url):
    with pytest.raises(InvalidInput, match="https://") as err:
        writes.create_meeting(session, acting(session, world.people["Lena"]), None, details(meeting_url=url),
                              dt.date(2024, 10, 10), dt.time(15, 0), dt.time(16, 0))
    assert err.value.field == "meeting_url"
    assert count_meetings(session) == 0


def test_time_is_described_in_the_program_zone_with_the_viewers_beside_it():
    start = dt.datetime(2024, 10, 10, 19, 0, tzinfo=dt.timezone.utc)
    end = start + dt.timedelta(minutes=90)
    la = ZoneInfo("America/Los_Angeles")
    assert zones.describe_time(start, end, NY, la) == "Thu 10 Oct, 3:00–4:30 pm EDT (12:00–1:30 pm PDT your time)"
    assert zones.describe_time(start, end, NY, NY) == "Thu 10 Oct, 3:00–4:30 pm EDT"
    # A viewer whose day differs gets their own date named.
    assert zones.describe_time(start, end, NY, ZoneInfo("Australia/Sydney")) == \
        "Thu 10 Oct, 3:00–4:30 pm EDT (Fri 11 Oct, 6:00–7:30 am AEDT your time)"
    assert zones.describe_time(start - dt.timedelta(hours=4), end - dt.timedelta(hours=4), NY, NY) == \
        "Thu 10 Oct, 11:00 am–12:30 pm EDT"


def test_an_unknown_time_zone_is_refused_and_an_empty_one_means_the_programs(session, world):
    pat = world.people["Pat"]
    with pytest.raises(InvalidInput, match="not a time zone"):
        writes.set_user_timezone(session, pat.user, "Mars/Olympus_Mons")
    assert pat.user.timezone == ""
    assert zones.viewer_zone(world.program, pat.user).key == "America/New_York"
    writes.set_user_timezone(session, pat.user, "America/Los_Angeles")
    assert zones.viewer_zone(world.program, pat.user).key == "America/Los_Angeles"
    writes.set_user_timezone(session, pat.user, "")
    assert zones.viewer_zone(world.program, pat.user).key == "America/New_York"


# ---- recurring series -------------------------------------------------------------------------------------

def test_second_thursday_of_each_month_october_to_may_makes_eight_sessions_at_3pm_local(session, world):
    fay, literacy = world.people["Fay"], world.cohorts["Literacy"]
    series, _ = writes.create_series(session, acting(session, fay), literacy, details(), second_thursdays())
    meetings = session.scalars(select(Meeting).where(Meeting.series_id == series.id)
                               .order_by(Meeting.starts_at)).all()
    local = [m.starts_at.astimezone(NY) for m in meetings]
    assert [d.date() for d in local] == [dt.date(2024, 10, 10), dt.date(2024, 11, 14), dt.date(2024, 12, 12),
                                         dt.date(2025, 1, 9), dt.date(2025, 2, 13), dt.date(2025, 3, 13),
                                         dt.date(2025, 4, 10), dt.date(2025, 5, 8)]
    assert {(d.hour, d.minute) for d in local} == {(15, 0)}
    assert all(m.duration_minutes == 90 and m.cohort_id == literacy.id for m in meetings)
    assert "second Thursday" in series.description and "BYDAY=+2TH" in series.rule


def test_a_weekly_series_across_the_november_dst_change_stays_at_3pm_new_york_time(session, world):
    rec = Recurrence(frequency=Frequency.weekly, start_date=dt.date(2024, 10, 24), end_date=dt.date(2024, 11, 14),
                     start_time=dt.time(15, 0), duration_minutes=90, weekday=3)
    writes.create_series(session, acting(session, world.people["Lena"]), None, details(), rec)
    meetings = session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    assert [m.starts_at.astimezone(NY).strftime("%m-%d %H:%M %Z") for m in meetings] == \
        ["10-24 15:00 EDT", "10-31 15:00 EDT", "11-07 15:00 EST", "11-14 15:00 EST"]
    # The same wall-clock time is a different UTC hour on each side of 3 November.
    assert [m.starts_at.hour for m in meetings] == [19, 19, 20, 20]
    assert [m.ends_at.astimezone(NY).strftime("%H:%M") for m in meetings] == ["16:30"] * 4


def test_a_monthly_by_date_series_skips_months_without_that_day(session, world):
    rec = Recurrence(frequency=Frequency.monthly_date, start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 4, 30),
                     start_time=dt.time(9, 0), duration_minutes=60, day_of_month=31)
    pairs = writes.expand_recurrence(rec, NY)
    assert [s.astimezone(NY).date() for s, _ in pairs] == [dt.date(2025, 1, 31), dt.date(2025, 3, 31)]


def test_a_recurrence_that_yields_no_dates_is_refused_and_nothing_is_saved(session, world):
    rec = second_thursdays(start=dt.date(2024, 10, 11), end=dt.date(2024, 11, 13))   # between two second Thursdays
    with pytest.raises(InvalidInput, match="no dates"):
        writes.create_series(session, acting(session, world.people["Lena"]), None, details(), rec)
    with pytest.raises(InvalidInput, match="before the first date"):
        writes.create_series(session, acting(session, world.people["Lena"]), None, details(),
                             second_thursdays(start=dt.date(2025, 1, 1), end=dt.date(2024, 1, 1)))
    assert count_meetings(session) == 0
    assert session.scalar(select(func.count(MeetingSeries.id))) == 0


def _series(session, world):
    series, _ = writes.create_series(session, acting(session, world.people["Lena"]), world.cohorts["Literacy"],
                                     details(), second_thursdays())
    return series, session.scalars(select(Meeting).where(Meeting.series_id == series.id)
                                   .order_by(Meeting.starts_at)).all()


def test_editing_one_session_detaches_it_from_its_series(session, world):
    series, meetings = _series(session, world)
    third = meetings[2]
    writes.update_meeting(session, acting(session, world.people["Fay"]), third,
                          details("Holiday call", agenda="Bring cocoa"), dt.date(2024, 12, 19), dt.time(16, 0),
                          dt.time(17, 0), Scope.one)
    assert third.series_id is None and third.title == "Holiday call"
    assert third.starts_at.astimezone(NY) == dt.datetime(2024, 12, 19, 16, 0, tzinfo=NY)
    others = session.scalars(select(Meeting).where(Meeting.series_id == series.id)).all()
    assert len(others) == 7 and {m.title for m in others} == {"Monthly call"}


def test_editing_this_and_later_sessions_changes_only_those_of_the_series(session, world):
    series, meetings = _series(session, world)
    start_of_fourth = meetings[3].starts_at.astimezone(NY).date()
    changed = writes.update_meeting(session, acting(session, world.people["Lena"]), meetings[3],
                                    details("Call (new time)"), start_of_fourth, dt.time(16, 0), dt.time(17, 0),
                                    Scope.future)
    assert len(changed) == 5
    titles = [m.title for m in session.scalars(select(Meeting).order_by(Meeting.starts_at))]
    assert titles == ["Monthly call"] * 3 + ["Call (new time)"] * 5
    # Every later session keeps its own date and moves to the new clock time, DST or not.
    assert {m.starts_at.astimezone(NY).strftime("%H:%M") for m in changed} == {"16:00"}
    assert [m.starts_at.astimezone(NY).date() for m in changed] == \
        [dt.date(2025, 1, 9), dt.date(2025, 2, 13), dt.date(2025, 3, 13), dt.date(2025, 4, 10), dt.date(2025, 5, 8)]


def test_cancelling_all_sessions_of_a_series_marks_each_one(session, world):
    series, meetings = _series(session, world)
    day = meetings[0].starts_at.astimezone(NY).date()
    writes.update_meeting(session, acting(session, world.people["Lena"]), meetings[0], details(cancelled=True), day,
                          dt.time(15, 0), dt.time(16, 30), Scope.all)
    assert all(m.cancelled for m in session.scalars(select(Meeting)))
    assert all(m.series_id == series.id for m in session.scalars(select(Meeting)))


def test_deleting_one_or_all_sessions_of_a_series(session, world):
    series, meetings = _series(session, world)
    assert writes.delete_meeting(session, acting(session, world.people["Fay"]), meetings[0], Scope.one) == 1
    assert count_meetings(session) == 7
    assert writes.delete_meeting(session, acting(session, world.people["Fay"]), meetings[5], Scope.future) == 3
    assert count_meetings(session) == 4
    assert writes.delete_meeting(session, acting(session, world.people["Fay"]), meetings[1], Scope.all) == 4
    assert count_meetings(session) == 0
    assert session.get(MeetingSeries, series.id) is None


# ---- permissions ------------------------------------------------------------------------------------------

def test_participants_cannot_create_sessions_and_facilitators_only_for_their_cohorts(session, world):
    pat, fay = world.people["Pat"], world.people["Fay"]
    literacy, math = world.cohorts["Literacy"], world.cohorts["Math"]
    args = (details(), dt.date(2024, 10, 10), dt.time(15, 0), dt.time(16, 0))
    with pytest.raises(Forbidden):
        writes.create_meeting(session, acting(session, pat), literacy, *args)
    with pytest.raises(Forbidden):
        writes.create_meeting(session, acting(session, fay), math, *args)
    with pytest.raises(Forbidden, match="whole program"):
        writes.create_meeting(session, acting(session, fay), None, *args)
    writes.create_meeting(session, acting(session, fay), literacy, *args)
    writes.create_meeting(session, acting(session, world.people["Lena"]), math, *args)
    assert count_meetings(session) == 2


def test_a_facilitator_cannot_edit_or_delete_another_cohorts_session(session, world):
    math_call = writes.create_meeting(session, acting(session, world.people["Lena"]), world.cohorts["Math"], details(),
                                      dt.date(2024, 10, 10), dt.time(15, 0), dt.time(16, 0))
    with pytest.raises(Forbidden):
        writes.update_meeting(session, acting(session, world.people["Fay"]), math_call, details("Mine now"),
                              dt.date(2024, 10, 10), dt.time(15, 0), dt.time(16, 0))
    with pytest.raises(Forbidden):
        writes.delete_meeting(session, acting(session, world.people["Pat"]), math_call)
    assert math_call.title == "Monthly call" and count_meetings(session) == 1


def _three_sessions(session, world):
    lena = world.people["Lena"]
    made = {}
    for name, cohort in (("Program kick-off", None), ("Literacy call", world.cohorts["Literacy"]),
                         ("Math call", world.cohorts["Math"])):
        made[name] = writes.create_meeting(session, acting(session, lena), cohort, details(name), dt.date(2024, 10, 10),
                                           dt.time(15, 0), dt.time(16, 0))
    return made


def test_each_person_sees_program_sessions_and_their_own_cohorts(session, world):
    _three_sessions(session, world)

    def titles(name):
        return {m.title for m in queries.list_meetings(session, acting(session, world.people[name]))}

    assert titles("Pat") == {"Program kick-off", "Literacy call"}
    assert titles("Quinn") == {"Program kick-off", "Math call"}
    assert titles("Fay") == {"Program kick-off", "Literacy call"}
    assert titles("Oscar") == {"Program kick-off"}
    assert titles("Lena") == {"Program kick-off", "Literacy call", "Math call"}


def test_a_session_of_another_cohort_or_course_is_not_found(session, world):
    made = _three_sessions(session, world)
    with pytest.raises(NotFound):
        queries.get_meeting(session, acting(session, world.people["Pat"]), made["Math call"].id)
    other = make_world(session, context="course-b")
    stranger = other.person("Lena B", CourseRole.facilitator)
    with pytest.raises(NotFound):
        queries.get_meeting(session, acting(session, stranger), made["Program kick-off"].id)
    with pytest.raises(NotFound):
        queries.list_meetings(session, access_for(session, stranger, world.program))
    literacy_call = queries.get_meeting(session, acting(session, world.people["Pat"]), made["Literacy call"].id)
    assert literacy_call.title == "Literacy call"


def test_another_courses_lead_cannot_change_or_delete_a_session_or_milestone_even_past_the_loaders(session, world):
    # The views load through course-scoped loaders; the writes check again, so no other caller can slip through.
    made = _three_sessions(session, world)
    milestone = writes.create_milestone(session, acting(session, world.people["Lena"]), MilestoneKind.orientation,
                                        "Orientation", dt.date(2024, 9, 1))
    other = make_world(session, context="course-b")              # the same LMS (see conftest.make_world)
    stranger = acting(session, other.person("Lena B", CourseRole.facilitator))
    assert stranger.lead, "a lead, but of course B"
    for meeting in (made["Program kick-off"], made["Literacy call"]):
        with pytest.raises(NotFound):
            writes.update_meeting(session, stranger, meeting, details("Taken over"), dt.date(2024, 10, 11),
                                  dt.time(9, 0), dt.time(10, 0))
        with pytest.raises(NotFound):
            writes.delete_meeting(session, stranger, meeting)
    with pytest.raises(NotFound):
        writes.update_milestone(session, stranger, milestone, MilestoneKind.other, "Mine", dt.date(2024, 9, 2))
    with pytest.raises(NotFound):
        writes.delete_milestone(session, stranger, milestone)
    session.expire_all()
    assert {m.title for m in session.scalars(select(Meeting))} == set(made)
    assert session.get(type(milestone), milestone.id).title == "Orientation"


def test_a_withdrawn_participant_no_longer_sees_their_old_cohorts_sessions(session, world):
    from lti_tool.programs.models import CohortMember, SeatStatus

    _three_sessions(session, world)
    seat = session.scalar(select(CohortMember).where(CohortMember.membership_id == world.people["Pat"].id))
    seat.status = SeatStatus.withdrawn
    session.flush()
    pat = acting(session, world.people["Pat"])
    assert {m.title for m in queries.list_meetings(session, pat)} == {"Program kick-off"}


def test_listing_sessions_costs_the_same_queries_for_three_or_thirty(session, world, app):
    from sqlalchemy import event

    from lti_tool.db import db

    def listing_cost(n_extra):
        for i in range(n_extra):
            writes.create_meeting(session, acting(session, world.people["Lena"]),
                                  [None, world.cohorts["Literacy"], world.cohorts["Math"]][i % 3], details(f"S{i}"),
                                  dt.date(2024, 10, 1) + dt.timedelta(days=i), dt.time(15, 0), dt.time(16, 0))
        session.expire_all()
        pat = acting(session, world.people["Pat"])
        count = 0

        def _count(*_a, **_k):
            nonlocal count
            count += 1

        engine = db.engine_for(app)
        event.listen(engine, "before_cursor_execute", _count)
        try:
            meetings = queries.list_meetings(session, pat)
            [m.cohort.name if m.cohort else "" for m in meetings]
        finally:
            event.remove(engine, "before_cursor_execute", _count)
        return count, len(meetings)

    few, n_few = listing_cost(3)
    many, n_many = listing_cost(27)
    assert n_many > n_few and many == few


# ---- milestones and the timeline --------------------------------------------------------------------------

def test_the_timeline_lists_milestones_and_sessions_in_date_order(session, world):
    lena = world.people["Lena"]
    writes.create_milestone(session, acting(session, lena), MilestoneKind.signup_deadline,
                            "Participant Sign-up Deadline", dt.date(2022, 10, 3), "Last chance to sign up!")
    writes.create_milestone(session, acting(session, lena), MilestoneKind.proposal_deadline, "",
                            dt.date(2022, 5, 6))
    writes.create_meeting(session, acting(session, lena), None, details("CoP Year 4 Kickoff", MeetingKind.kickoff),
                          dt.date(2022, 10, 12), dt.time(15, 0), dt.time(16, 30))
    writes.create_meeting(session, acting(session, lena), world.cohorts["Math"], details("Math only"),
                          dt.date(2022, 11, 10), dt.time(15, 0), dt.time(16, 30))
    entries = queries.timeline(session, acting(session, world.people["Pat"]))
    assert [e.title for e in entries] == ["Facilitator proposal deadline", "Participant Sign-up Deadline",
                                          "CoP Year 4 Kickoff"]
    assert entries[1].note == "Last chance to sign up!" and entries[2].meeting is not None


def test_only_leads_change_milestones(session, world):
    with pytest.raises(Forbidden):
        writes.create_milestone(session, acting(session, world.people["Fay"]), MilestoneKind.orientation, "Orientation",
                                dt.date(2022, 8, 16))
    m = writes.create_milestone(session, acting(session, world.people["Lena"]), MilestoneKind.orientation,
                                "Facilitator Virtual Orientation #1", dt.date(2022, 8, 16))
    with pytest.raises(Forbidden):
        writes.delete_milestone(session, acting(session, world.people["Pat"]), m)
    writes.update_milestone(session, acting(session, world.people["Lena"]), m, MilestoneKind.orientation,
                            "Orientation #1", dt.date(2022, 8, 17), "Virtual")
    assert (m.title, m.on_date) == ("Orientation #1", dt.date(2022, 8, 17))


# ---- feeds ------------------------------------------------------------------------------------------------

def _events(body: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(body)
    return {str(e["summary"]): e for e in cal.walk("VEVENT")}


def test_a_feed_token_shows_the_persons_sessions_and_stops_when_revoked(session, world):
    made = _three_sessions(session, world)
    made["Literacy call"].cancelled = True
    made["Program kick-off"].meeting_url = "https://zoom.us/j/123"
    made["Program kick-off"].agenda = "Welcome\nIntroductions"
    session.flush()
    pat = world.people["Pat"]
    token = writes.issue_feed_token(session, pat)
    assert writes.issue_feed_token(session, pat).id == token.id
    owner, meetings = formats.feed_for_token(session, token.token)
    body = formats.meetings_to_ical(meetings, owner.program, host="cop.example.edu", name=owner.program.title)
    events = _events(body)
    assert set(events) == {"Program kick-off", "Cancelled: Literacy call — Literacy"}
    kick = events["Program kick-off"]
    assert str(kick["uid"]) == f"meeting-{made['Program kick-off'].id}@cop.example.edu"
    start = kick.decoded("dtstart")
    assert start.tzinfo is not None and start == dt.datetime(2024, 10, 10, 15, 0, tzinfo=NY)
    assert str(kick["url"]) == "https://zoom.us/j/123" and "Introductions" in str(kick["description"])
    assert "dtstamp" in kick and str(kick["status"]) == "CONFIRMED"
    assert str(events["Cancelled: Literacy call — Literacy"]["status"]) == "CANCELLED"
    assert b"BEGIN:VTIMEZONE" in body and b"TZID:America/New_York" in body

    writes.revoke_feed_token(session, pat)
    with pytest.raises(NotFound):
        formats.feed_for_token(session, token.token)
    new = writes.regenerate_feed_token(session, pat)
    assert new.token != token.token
    assert formats.feed_for_token(session, new.token)[0].id == pat.id
    assert session.scalar(select(func.count(CalendarToken.id))) == 2


def test_feeds_of_facilitators_and_leads_cover_their_cohorts(session, world):
    _three_sessions(session, world)
    titles = {}
    for name in ("Fay", "Lena", "Quinn"):
        tok = writes.issue_feed_token(session, world.people[name])
        titles[name] = {m.title for m in formats.feed_for_token(session, tok.token)[1]}
    assert titles == {"Fay": {"Program kick-off", "Literacy call"},
                      "Lena": {"Program kick-off", "Literacy call", "Math call"},
                      "Quinn": {"Program kick-off", "Math call"}}
    with pytest.raises(NotFound):
        formats.feed_for_token(session, "not-a-token")


def test_a_participant_named_facilitator_schedules_their_cohorts_sessions_only(session, world):
    """Issue 11, point 1: an LMS Learner named on Literacy (as an accepted proposal names its proposer) adds,
    changes and cancels Literacy's sessions, sees them in their feed, and gets the participant's answer for
    Math and for the whole program."""
    from lti_tool.programs.models import CohortFacilitator

    peer = world.person("Petra")
    session.add(CohortFacilitator(cohort_id=world.cohorts["Literacy"].id, membership_id=peer.id))
    session.flush()
    args = (details(), dt.date(2024, 10, 10), dt.time(15, 0), dt.time(16, 0))
    mine = writes.create_meeting(session, acting(session, peer), world.cohorts["Literacy"], *args)
    writes.update_meeting(session, acting(session, peer), mine, details("Moved", cancelled=True),
                          dt.date(2024, 10, 11), dt.time(15, 0), dt.time(16, 0))
    assert mine.cancelled and mine.title == "Moved"
    math = writes.create_meeting(session, acting(session, world.people["Lena"]), world.cohorts["Math"], *args)
    everyone = writes.create_meeting(session, acting(session, world.people["Lena"]), None, *args)
    for attempt in (lambda: writes.create_meeting(session, acting(session, peer), world.cohorts["Math"], *args),
                    lambda: writes.create_meeting(session, acting(session, peer), None, *args),
                    lambda: writes.update_meeting(session, acting(session, peer), everyone, details(), *args[1:]),
                    lambda: writes.delete_meeting(session, acting(session, peer), math)):
        with pytest.raises(Forbidden):
            attempt()
    with pytest.raises(NotFound):
        queries.get_meeting(session, acting(session, peer), math.id)
    feed = formats.feed_for_token(session, writes.issue_feed_token(session, peer).token)[1]
    assert {m.title for m in feed} == {"Moved", "Monthly call"}
    assert writes.delete_meeting(session, acting(session, peer), mine) == 1
