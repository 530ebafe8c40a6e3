"""Demo data for the sandbox course: a realistic program year so a newcomer sees the product at work.

Shaped on the program pages in shared/reference/programs (a DCSC-style year: proposals in spring,
orientation, sign-up deadline, a virtual kick-off, monthly virtual sessions, an in-person deep dive and
a close-out where cohorts present). People come from the sandbox LMS's roster, as a roster sync would.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.calendar.models import Meeting, MeetingKind, MeetingSeries
from lti_tool.db import utcnow
from lti_tool.lti.identity import map_role
from lti_tool.lti.models import Course, Membership, Platform, User
from lti_tool.lti.registry import find_deployment
from lti_tool.programs.models import (Application, ApplicationQuestion, ApplicationStatus, Cohort, CohortFacilitator,
                                      CohortKind, CohortMember, Milestone, MilestoneKind, Program, SeatStatus,
                                      SignupMode, SmallGroup, SmallGroupMember)

ZONE = ZoneInfo("America/New_York")


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), ZONE).astimezone(dt.timezone.utc)


def _second_thursday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 7)


def _roster(session: Session, platform: Platform, context_id: str, title: str) -> tuple[Course, dict[str, Membership]]:
    """The tool's course and memberships for a sandbox course, as the roster sync would make them."""
    from lti_tool.sandbox import services as sb

    sandbox_platform = sb.first_platform(session)
    sandbox_course = sb.get_course(session, sandbox_platform, context_id)
    course = session.scalar(select(Course).where(Course.platform_id == platform.id, Course.context_id == context_id))
    if course is None:
        course = Course(platform_id=platform.id, context_id=context_id, title=title, label=sandbox_course.label)
        course.deployment = find_deployment(session, platform, platform.deployments[0].deployment_id) \
            if platform.deployments else None
        session.add(course)
        session.flush()
    memberships: dict[str, Membership] = {}
    for enrollment in sb.members(session, sandbox_course):
        su = enrollment.user
        user = session.scalar(select(User).where(User.platform_id == platform.id, User.sub == su.sub))
        if user is None:
            user = User(platform_id=platform.id, sub=su.sub, name=su.name, given_name=su.given_name,
                        family_name=su.family_name, email=su.email)
            session.add(user)
            session.flush()
        membership = session.scalar(select(Membership).where(Membership.user_id == user.id,
                                                             Membership.course_id == course.id))
        if membership is None:
            role, preview = map_role(enrollment.roles)
            membership = Membership(user=user, course=course, role=role, is_preview=preview,
                                    lti_roles=list(enrollment.roles), source="roster", roster_seen_at=utcnow())
            session.add(membership)
        memberships[su.sub] = membership
    session.flush()
    return course, memberships


def create_demo_program(session: Session, platform: Platform) -> Program | None:
    """The demo course's program with cohorts, members, waiting list, applications and a year of sessions.
    Does nothing when the course already has a program (so a re-run never duplicates)."""
    course, people = _roster(session, platform, "demo-course", "Communities of Practice 2026–27 (demo)")
    if session.scalar(select(Program).where(Program.course_id == course.id)):
        return None
    p = lambda n: people[f"demo-participant-{n}"]  # noqa: E731
    lead, co_lead = people["demo-facilitator-1"], people["demo-facilitator-2"]
    program = Program(
        course_id=course.id, title="Communities of Practice", year_label="2026–27", timezone="America/New_York",
        description="Peer learning for school and district leaders: monthly virtual sessions, an in-person "
                    "deep dive in January, a book study between sessions, and a final product shared with "
                    "the field at the close-out.",
        starts_on=dt.date(2026, 8, 1), ends_on=dt.date(2027, 6, 30),
        proposals_open_at=_at(dt.date(2026, 4, 6), 9), proposals_close_at=_at(dt.date(2026, 5, 8), 17),
        settings={},
    )
    session.add(program)
    session.flush()
    for kind, title, day, note in [
        (MilestoneKind.proposals_open, "Facilitator RFP opens", dt.date(2026, 4, 6),
         "Calling all leaders, members included, who want to facilitate a Community of Practice."),
        (MilestoneKind.proposal_deadline, "Facilitator proposal deadline", dt.date(2026, 5, 8), ""),
        (MilestoneKind.orientation, "Facilitator virtual orientation", dt.date(2026, 8, 18), ""),
        (MilestoneKind.signup_opens, "Participant sign-up opens", dt.date(2026, 9, 1), ""),
        (MilestoneKind.signup_deadline, "Participant sign-up deadline", dt.date(2026, 10, 2),
         "Last chance to join a Community of Practice."),
        (MilestoneKind.kickoff, "Year kick-off (all cohorts)", dt.date(2026, 10, 15), "3:00–4:30 p.m. ET, virtual"),
        (MilestoneKind.close_out, "Close-out showcase", dt.date(2027, 5, 20),
         "Cohorts present their final products and share resources for the field."),
    ]:
        session.add(Milestone(program_id=program.id, kind=kind, title=title, on_date=day, note=note))

    signup_opens, signup_closes = _at(dt.date(2026, 9, 1), 9), _at(dt.date(2027, 1, 15), 17)
    specs = [
        ("Principals Role-Alike", CohortKind.role_alike, SignupMode.open, 16, [lead], list(range(1, 11)), [],
         "Site principals working through the same problems of practice: scheduling, coaching, family trust."),
        ("AI in Schools", CohortKind.topic, SignupMode.open, 8, [co_lead], list(range(11, 19)), [19, 20],
         "Policies, pilots and professional learning for AI tools in K-12."),
        ("Section 504 Coordinators", CohortKind.role_alike, SignupMode.application, 12, [lead], [21], [],
         "504 coordinators and liaisons share systems, data practices and guiding documents."),
        ("Latinx Leaders Affinity Group", CohortKind.affinity, SignupMode.invitation, 14, [co_lead], [], [],
         "A confidential space for Latinx school leaders. Joining is by invitation."),
        ("Anti-Racist Curriculum", CohortKind.topic, SignupMode.open, 20, [co_lead], [22], [],
         "Auditing and rewriting curriculum units with an anti-racist lens."),
    ]
    now = utcnow()
    cohorts: list[Cohort] = []
    for name, kind, mode, capacity, facilitators, members, waiting, description in specs:
        cohort = Cohort(program_id=program.id, name=name, kind=kind, signup_mode=mode, capacity=capacity,
                        description=description, signup_opens_at=signup_opens, signup_closes_at=signup_closes,
                        meeting_url="https://zoom.example.org/j/" + str(abs(hash(name)) % 10**9))
        session.add(cohort)
        session.flush()
        cohorts.append(cohort)
        for f in facilitators:
            session.add(CohortFacilitator(cohort_id=cohort.id, membership_id=f.id))
        for i, n in enumerate(members):
            session.add(CohortMember(cohort_id=cohort.id, membership_id=p(n).id, status=SeatStatus.active,
                                     source="signup", joined_at=now - dt.timedelta(days=60 - i)))
        for i, n in enumerate(waiting):
            session.add(CohortMember(cohort_id=cohort.id, membership_id=p(n).id, status=SeatStatus.waitlisted,
                                     source="signup", waitlisted_at=now - dt.timedelta(days=10 - i)))
    principals, ai, section504, affinity, curriculum = cohorts

    q1 = ApplicationQuestion(cohort_id=section504.id, position=1, required=True,
                             prompt="What is your role in Section 504 work in your district?")
    q2 = ApplicationQuestion(cohort_id=section504.id, position=2, required=False,
                             prompt="What problem of practice would you bring to the group?")
    session.add_all([q1, q2])
    session.flush()
    for n, role_text, problem in [(23, "District 504 coordinator for 9 schools.", "Consistent plans across schools."),
                                  (24, "504 liaison at a middle school.", "Training teachers on accommodations.")]:
        session.add(Application(cohort_id=section504.id, membership_id=p(n).id, status=ApplicationStatus.submitted,
                                answers={str(q1.id): role_text, str(q2.id): problem},
                                submitted_at=now - dt.timedelta(days=3)))
    session.add(CohortMember(cohort_id=affinity.id, membership_id=p(12).id, status=SeatStatus.invited,
                             source="invitation"))
    for g, names in enumerate([(1, 2, 3), (4, 5, 6), (7, 8, 9, 10)], 1):
        group = SmallGroup(cohort_id=principals.id, name=f"Triad {g}")
        session.add(group)
        session.flush()
        for n in names:
            session.add(SmallGroupMember(group_id=group.id, membership_id=p(n).id))

    # The year's sessions: a program-wide kick-off and close-out; per cohort the monthly virtual sessions
    # on the second Thursday (a series) and the in-person deep dive in January.
    session.add(Meeting(program_id=program.id, kind=MeetingKind.kickoff, title="Year kick-off",
                        starts_at=_at(dt.date(2026, 10, 15), 15), ends_at=_at(dt.date(2026, 10, 15), 16, 30),
                        meeting_url="https://zoom.example.org/j/100200300",
                        agenda="Welcome and program overview\nMeet your cohort\nNorms for a confidential space"))
    session.add(Meeting(program_id=program.id, kind=MeetingKind.close_out, title="Close-out showcase",
                        starts_at=_at(dt.date(2027, 5, 20), 14), ends_at=_at(dt.date(2027, 5, 20), 16),
                        meeting_url="https://zoom.example.org/j/100200399",
                        agenda="Each cohort presents its final product to the field"))
    months = [(2026, 11), (2026, 12), (2027, 2), (2027, 3), (2027, 4), (2027, 5)]
    for cohort in cohorts:
        series = MeetingSeries(program_id=program.id, description="Second Thursday of each month",
                               rule="FREQ=MONTHLY;BYDAY=2TH;DTSTART=20261112T153000;UNTIL=20270513T235959")
        session.add(series)
        session.flush()
        for year, month in months:
            day = _second_thursday(year, month)
            session.add(Meeting(program_id=program.id, cohort_id=cohort.id, series_id=series.id,
                                kind=MeetingKind.virtual, title=f"{cohort.name}: monthly session",
                                starts_at=_at(day, 15, 30), ends_at=_at(day, 17), meeting_url=cohort.meeting_url,
                                agenda="Check-in\nProblem-of-practice protocol\nReading discussion"))
        session.add(Meeting(program_id=program.id, cohort_id=cohort.id, kind=MeetingKind.deep_dive,
                            title=f"{cohort.name}: in-person deep dive",
                            starts_at=_at(dt.date(2027, 1, 28), 10), ends_at=_at(dt.date(2027, 1, 28), 14),
                            location="Crown Center, 2450 Grand Blvd, Kansas City, MO",
                            agenda="A four-hour working session on the cohort's final product"))
    session.flush()
    return program
