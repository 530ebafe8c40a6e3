"""The program home, one page per role, through real launches into the sandbox's demo program: what each role
sees, what they must not see, the heading, the course navigation, and a fixed number of SQL queries whatever
the number of cohorts, members or sessions."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, select

from lti_tool.calendar.models import Meeting, MeetingKind
from lti_tool.db import db, utcnow
from lti_tool.lti.models import Course, Membership, User
from lti_tool.programs.models import (Application, ApplicationStatus, Cohort, CohortFacilitator, CohortMember,
                                      Milestone, MilestoneKind, Program, Proposal, ProposalStatus, SeatStatus,
                                      SmallGroup, SmallGroupMember)
from tests.lti_client import forms

LEAD, FAC2, OBSERVER = "demo-facilitator-1", "demo-facilitator-2", "demo-observer-1"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def section(html: str, heading_id: str) -> str:
    """The text of the <section> labelled by the heading with this id."""
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', html, re.S)
    assert match, f"no section {heading_id}"
    return text_of(match.group(0))


def member_of(session, sub: str) -> Membership:
    return session.scalar(select(Membership).join(Membership.user).join(Membership.course)
                          .where(User.sub == sub, Course.context_id == "demo-course"))


def cohort_named(session, name: str) -> Cohort:
    return session.scalar(select(Cohort).where(Cohort.name == name))


@pytest.fixture
def demo(app, sandbox):
    """The sandbox course's demo program (five cohorts, waiting list, applications, a year of sessions), with
    one session of each of two cohorts an hour from now so "next session" does not depend on today's date."""
    from lti_tool.demo import create_demo_program
    from lti_tool.lti.registry import find_platform
    from lti_tool.sandbox import services as sb

    with app.app_context():
        row = sb.first_platform(db.session)
        platform = find_platform(db.session, row.issuer, sb.get_tool(db.session, row).client_id)
        program = create_demo_program(db.session, platform)
        soon = utcnow() + dt.timedelta(hours=1)
        for name, url in (("Principals Role-Alike", "https://zoom.example.org/j/principals-soon"),
                          ("AI in Schools", "https://zoom.example.org/j/ai-soon")):
            cohort = cohort_named(db.session, name)
            db.session.add(Meeting(program_id=program.id, cohort_id=cohort.id, kind=MeetingKind.virtual,
                                   title=f"{name}: extra session", starts_at=soon,
                                   ends_at=soon + dt.timedelta(minutes=90), meeting_url=url))
            cohort.signup_opens_at, cohort.signup_closes_at = utcnow() - dt.timedelta(days=1), \
                utcnow() + dt.timedelta(days=30)
        curriculum = cohort_named(db.session, "Anti-Racist Curriculum")
        curriculum.signup_opens_at, curriculum.signup_closes_at = utcnow() - dt.timedelta(days=1), \
            utcnow() + dt.timedelta(days=30)
        db.session.add(Milestone(program_id=program.id, kind=MilestoneKind.other, title="Mid-year check-in",
                                 on_date=dt.date.today() + dt.timedelta(days=3)))
        db.session.commit()
        return program.course_id


def name_only_lead(app):
    """Make demo-facilitator-1 the only lead, so demo-facilitator-2 is a cohort facilitator."""
    with app.app_context():
        program = db.session.scalar(select(Program))
        program.settings = {"leads": [member_of(db.session, LEAD).id]}
        db.session.commit()


# -- participant -------------------------------------------------------------------------------------------------

def test_participant_sees_their_cohort_people_small_group_and_next_session_with_its_join_link(app, lti, demo):
    page = lti("demo-participant-1").get(f"/c/{demo}/")
    html, text = page.text, text_of(page.text)
    mine = section(html, "home-mine")
    assert "Principals Role-Alike" in mine and "Facilitated by Maya Okonkwo-Reyes" in mine
    assert "Members (10)" in mine and "Jamal Williams" in mine
    assert "Your small group: Triad 1 (3)" in mine and "Chloé Dubois" in mine
    nxt = section(html, "home-next")
    assert "Principals Role-Alike: extra session" in nxt
    assert "https://zoom.example.org/j/principals-soon" in html
    assert re.search(r"(EST|EDT)", nxt), "the time names its zone"
    assert "AI in Schools: extra session" not in text        # not their cohort's session
    assert "Add to my calendar" in nxt and f"/c/{demo}/calendar/subscribe" in html
    assert "Mid-year check-in" in section(html, "home-timeline")


def test_participant_times_are_in_their_own_zone_with_the_programs_beside(app, lti, demo):
    with app.app_context():
        member_of(db.session, "demo-participant-1").user.timezone = "Europe/Berlin"
        db.session.commit()
    nxt = section(lti("demo-participant-1").get(f"/c/{demo}/").text, "home-next")
    assert re.search(r"CES?T", nxt) and "program time:" in nxt
    assert "Europe/Berlin" in nxt and "America/New_York" in nxt


def test_participant_sees_their_waiting_list_place_and_can_join_open_cohorts(app, lti, demo):
    html = lti("demo-participant-19").get(f"/c/{demo}/").text
    due = section(html, "home-due")
    assert "You are 1st on the waiting list of AI in Schools" in due
    joinable = section(html, "home-open")
    assert "Anti-Racist Curriculum" in joinable and "Sign up" in joinable
    assert "AI in Schools" not in joinable                    # already waiting
    assert "Latinx Leaders" not in joinable                   # invitation only


def test_participant_sees_their_application_under_review(app, lti, demo):
    due = section(lti("demo-participant-23").get(f"/c/{demo}/").text, "home-due")
    assert "Application under review" in due and "Your application to Section 504 Coordinators" in due


def test_participant_accepts_an_invitation_from_the_home_page(app, lti, demo):
    browser = lti("demo-participant-12")
    page = browser.get(f"/c/{demo}/")
    assert "You are invited to join Latinx Leaders Affinity Group" in section(page.text, "home-due")
    form = next(f for f in forms(page.text) if f.action.endswith("/invitation"))
    done = browser.post(form.action, {**form.fields, "response": "accept"})
    assert done.status_code == 200 and "You have a seat in Latinx Leaders Affinity Group" in done.text
    with app.app_context():
        seat = db.session.scalar(select(CohortMember).where(
            CohortMember.membership_id == member_of(db.session, "demo-participant-12").id,
            CohortMember.cohort_id == cohort_named(db.session, "Latinx Leaders Affinity Group").id))
        assert seat.status is SeatStatus.active


def test_participant_sees_their_proposals_and_their_status(app, lti, demo):
    with app.app_context():
        proposer = member_of(db.session, "demo-participant-2")
        db.session.add(Proposal(program_id=db.session.scalar(select(Program.id)), proposer_id=proposer.id,
                                title="Restorative practices", kind="topic", description="Circles.",
                                status=ProposalStatus.changes_requested))
        db.session.commit()
    due = section(lti("demo-participant-2").get(f"/c/{demo}/").text, "home-due")
    assert "Changes requested" in due and "Restorative practices" in due


def test_participant_does_not_see_other_cohorts_members_or_application_counts(app, lti, demo):
    html = lti("demo-participant-1").get(f"/c/{demo}/").text
    text = text_of(html)
    for ai_member in ("Katarzyna Nowak", "Rosa García", "Samuel Mensah", "Umar Farouk"):
        assert ai_member not in text
    assert "to review" not in text and "/applications" not in html
    assert "Edit program" not in text and "Roster" not in text
    # The all-cohorts list gives fill levels only.
    assert "8 of 8 seats taken" in section(html, "cohorts")


# -- observer ----------------------------------------------------------------------------------------------------

def test_observer_sees_the_program_read_only(app, lti, demo):
    html = lti(OBSERVER).get(f"/c/{demo}/").text
    text = text_of(html)
    assert "All cohorts" in text and "Principals Role-Alike" in text
    assert "Year kick-off" in text or "Close-out showcase" in text or "No sessions ahead" in text
    assert "What is due" not in text and "Sign up" not in text and "Cohorts you can join" not in text
    assert "Aisha Rahman" not in text and "to review" not in text
    assert "<form" not in html.split('id="main"')[1]


# -- facilitator -------------------------------------------------------------------------------------------------

def test_facilitator_sees_only_their_cohorts_rosters_waiting_lists_and_attendance_links(app, lti, demo):
    name_only_lead(app)
    html = lti(FAC2).get(f"/c/{demo}/").text
    mine = section(html, "cohorts")
    assert "AI in Schools" in mine and "Anti-Racist Curriculum" in mine and "Latinx Leaders" in mine
    assert "Principals Role-Alike" not in mine and "Section 504" not in mine
    assert "Members (8)" in mine and "Katarzyna Nowak" in mine and "2 on the waiting list" in mine
    assert "Aisha Rahman" not in text_of(html)                # a Principals member
    assert "Take attendance" in mine
    with app.app_context():
        extra = db.session.scalar(select(Meeting.id).where(Meeting.title == "AI in Schools: extra session"))
    assert f"/attendance/meetings/{extra}/roll" in html
    assert "Edit program" not in text_of(html)
    assert "AI in Schools: extra session" in section(html, "home-sessions")


def test_facilitator_sees_applications_to_review_for_their_cohort_only(app, lti, demo):
    name_only_lead(app)
    with app.app_context():
        ai = cohort_named(db.session, "AI in Schools")
        db.session.add(Application(cohort_id=ai.id, membership_id=member_of(db.session, "demo-participant-24").id,
                                   status=ApplicationStatus.submitted, answers={}, submitted_at=utcnow()))
        db.session.commit()
        ai_id, s504 = ai.id, cohort_named(db.session, "Section 504 Coordinators").id
    html = lti(FAC2).get(f"/c/{demo}/").text
    assert "1 application to review" in text_of(html)
    assert f"/cohorts/{ai_id}/applications" in html and f"/cohorts/{s504}/applications" not in html


# -- lead --------------------------------------------------------------------------------------------------------

def test_lead_sees_every_cohort_fill_level_waiting_list_and_what_to_review(app, lti, demo):
    with app.app_context():
        db.session.add(Proposal(program_id=db.session.scalar(select(Program.id)),
                                proposer_id=member_of(db.session, "demo-participant-5").id, title="Data teams",
                                kind="topic", description="Using data.", status=ProposalStatus.submitted))
        db.session.commit()
        s504 = cohort_named(db.session, "Section 504 Coordinators").id
    html = lti(LEAD).get(f"/c/{demo}/").text
    cohorts = section(html, "cohorts")
    for name in ("Principals Role-Alike", "AI in Schools", "Section 504 Coordinators", "Latinx Leaders Affinity Group",
                 "Anti-Racist Curriculum"):
        assert name in cohorts
    assert "8 of 8 seats taken · full" in cohorts and "2 waiting" in cohorts
    assert html.count('<meter class="app-fill-meter"') == 5
    review = section(html, "home-review")
    assert "2 applications to review for Section 504 Coordinators" in review
    assert f"/cohorts/{s504}/applications" in html
    assert "1 facilitator proposal" in review and f"/c/{demo}/proposals" in html
    lms = section(html, "home-lms")
    assert "active members" in lms and f"/c/{demo}/roster/" in html
    assert "Grade passback" in lms and "nothing waiting" in lms and f"/c/{demo}/grades/" in html
    assert "Program settings" in lms
    assert "Principals Role-Alike: extra session" in section(html, "home-sessions")
    assert "Mid-year check-in" in section(html, "home-timeline")


def test_lead_sees_failed_and_pending_grade_deliveries(app, lti, demo):
    from lti_tool.grades.models import ComponentKind, DeliveryStatus, ScoreDelivery
    from lti_tool.grades.writes import ensure_component

    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.context_id == "demo-course"))
        component = ensure_component(db.session, course, "attendance", ComponentKind.attendance, "Attendance", 8)
        people = db.session.scalars(select(Membership).where(Membership.course_id == course.id)).all()
        # The outbox as delivery attempts leave it: 2 refused by the LMS, 3 waiting for a retry, 7 in the gradebook.
        statuses = [DeliveryStatus.failed] * 2 + [DeliveryStatus.pending] * 3 + [DeliveryStatus.sent] * 7
        for n, status in enumerate(statuses):
            db.session.add(ScoreDelivery(component_id=component.id, membership_id=people[n % len(people)].id,
                                         score_given=5, score_maximum=8, comment="", activity_progress="Completed",
                                         grading_progress="FullyGraded", scored_at=utcnow(),
                                         next_attempt_at=utcnow(), status=status))
        db.session.commit()
    lms = section(lti(LEAD).get(f"/c/{demo}/").text, "home-lms")
    assert "2 failed" in lms and "3 pending" in lms and "7 scores sent" in lms


def test_heading_shows_program_title_and_year_and_the_course_title_smaller_once(app, lti, sandbox):
    html = lti(LEAD).last.text          # no demo: the program made at the first launch
    h1 = text_of(re.search(r"<h1.*?</h1>", html, re.S).group(0)).strip()
    assert h1.startswith("Communities of Practice") and "—" not in h1
    assert re.search(r"\d{4}–\d{2}$", h1), h1
    course = text_of(re.search(r'<p class="app-home-course[^"]*">.*?</p>', html, re.S).group(0)).strip()
    assert course and course not in h1


def test_course_navigation_links_only_to_sections_that_exist_for_the_role(app, lti, demo):
    lead_nav = re.search(r'<nav class="app-nav".*?</nav>', lti(LEAD).get(f"/c/{demo}/").text, re.S).group(0)
    for label in ("Home", "Calendar", "Cohorts", "Roster", "Grades", "Attendance"):
        assert f">{label}</a>" in lead_nav
    assert 'aria-current="page"' in lead_nav
    participant_nav = re.search(r'<nav class="app-nav".*?</nav>',
                                lti("demo-participant-1").get(f"/c/{demo}/").text, re.S).group(0)
    assert ">Roster</a>" not in participant_nav and ">Grades</a>" not in participant_nav
    assert ">Calendar</a>" in participant_nav


def test_course_navigation_leaves_out_endpoints_that_do_not_exist(app):
    from flask import render_template_string

    class Role:
        value = "facilitator"

    class FakeMembership:
        course_id, role = 7, Role()

    with app.test_request_context("/c/7/"):
        saved = app.view_functions.pop("grades.status")
        try:
            nav = render_template_string('{% from "_nav.html" import course_nav %}{{ course_nav(m) }}',
                                         m=FakeMembership())
        finally:
            app.view_functions["grades.status"] = saved
    assert ">Roster</a>" in nav and ">Grades</a>" not in nav


# -- fixed query counts ------------------------------------------------------------------------------------------

def count_queries(app, browser, path: str) -> int:
    statements = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)
    engine = db.engine_for(app)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert browser.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def _grow(app, n_cohorts: int, n_members: int, start: int) -> None:
    """Cohorts C<start>.. facilitated by demo-facilitator-2, each with n_members people (made up, as a roster
    sync would make them), ten sessions, a small group, a waiting list and an application; participant 1 holds
    a seat and the observer a seat in each (so their pages list every cohort's people)."""
    with app.app_context():
        s = db.session
        program = s.scalar(select(Program))
        course = s.get(Course, program.course_id)
        fac, p1, observer = member_of(s, FAC2), member_of(s, "demo-participant-1"), member_of(s, OBSERVER)
        now = utcnow()
        for c in range(start, start + n_cohorts):
            cohort = Cohort(program_id=program.id, name=f"C{c}", capacity=100,
                            signup_opens_at=now - dt.timedelta(days=1), signup_closes_at=now + dt.timedelta(days=9))
            s.add(cohort)
            s.flush()
            s.add(CohortFacilitator(cohort_id=cohort.id, membership_id=fac.id))
            people = []
            for i in range(n_members + 2):
                user = User(platform_id=course.platform_id, sub=f"grow-{c}-{i}", name=f"Person {c}-{i}")
                people.append(Membership(user=user, course=course, role=p1.role))
            s.add_all(people)
            s.flush()
            for i, person in enumerate(people[:n_members]):
                s.add(CohortMember(cohort_id=cohort.id, membership_id=person.id, status=SeatStatus.active,
                                   joined_at=now))
            s.add(CohortMember(cohort_id=cohort.id, membership_id=people[-2].id, status=SeatStatus.waitlisted,
                               waitlisted_at=now))
            s.add(Application(cohort_id=cohort.id, membership_id=people[-1].id, status=ApplicationStatus.submitted,
                              answers={}, submitted_at=now))
            s.add(CohortMember(cohort_id=cohort.id, membership_id=p1.id, status=SeatStatus.active, joined_at=now))
            s.add(CohortMember(cohort_id=cohort.id, membership_id=observer.id, status=SeatStatus.active,
                               joined_at=now))
            s.add(SmallGroup(cohort_id=cohort.id, name="Triad",
                             members=[SmallGroupMember(membership_id=m.id) for m in (p1, *people[:2])]))
            for k in range(10):
                starts = now + dt.timedelta(days=7 * k, hours=1)
                s.add(Meeting(program_id=program.id, cohort_id=cohort.id, kind=MeetingKind.virtual,
                              title=f"C{c} session {k}", starts_at=starts, ends_at=starts + dt.timedelta(hours=1),
                              meeting_url="https://zoom.example.org/j/1"))
            s.add(Milestone(program_id=program.id, kind=MilestoneKind.other, title=f"M{c}",
                            on_date=dt.date.today() + dt.timedelta(days=c + 1)))
        s.commit()


def _add_members(app, cohort_name: str, n: int) -> None:
    with app.app_context():
        s = db.session
        cohort = cohort_named(s, cohort_name)
        course = s.get(Course, s.scalar(select(Program)).course_id)
        for i in range(n):
            person = Membership(user=User(platform_id=course.platform_id, sub=f"more-{i}", name=f"More {i}"),
                                course=course, role=member_of(s, "demo-participant-1").role)
            s.add(person)
            s.flush()
            s.add(CohortMember(cohort_id=cohort.id, membership_id=person.id, status=SeatStatus.active,
                               joined_at=utcnow()))
        s.commit()


def test_each_home_page_costs_the_same_queries_for_1_or_6_cohorts_and_5_or_20_members(app, lti, sandbox):
    lead = lti(LEAD)
    name_only_lead(app)
    browsers = {"lead": lead, "facilitator": lti(FAC2), "participant": lti("demo-participant-1"),
                "observer": lti(OBSERVER), "newcomer": lti("demo-participant-2")}
    cid = lead.last.url.rstrip("/").rsplit("/", 1)[-1]
    _grow(app, 1, 5, start=0)
    small = {role: count_queries(app, b, f"/c/{cid}/") for role, b in browsers.items()}
    _add_members(app, "C0", 15)
    _grow(app, 5, 20, start=1)
    large = {role: count_queries(app, b, f"/c/{cid}/") for role, b in browsers.items()}
    print("home page queries:", small)
    assert large == small
    # The large program really is on the pages.
    assert "Members (22)" in text_of(browsers["participant"].get(f"/c/{cid}/").text)
    assert text_of(browsers["lead"].get(f"/c/{cid}/").text).count("seats taken") >= 6
