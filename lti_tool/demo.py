"""Demo data for the sandbox course: a realistic program year so a newcomer sees the product at work.

Shaped on the program pages in shared/reference/programs (a DCSC-style year: proposals in spring,
orientation, sign-up deadline, a virtual kick-off, monthly virtual sessions, an in-person deep dive and
a close-out where cohorts present). People come from the sandbox LMS's roster, as a roster sync would.
Two cohorts also read a book together and work through three modules, and a few participants have begun.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.calendar.models import Meeting, MeetingKind, MeetingSeries
from lti_tool.course.access import access_for
from lti_tool.db import utcnow
from lti_tool.discussions import writes as discussions
from lti_tool.discussions.models import Book, Post, Reading, Thread
from lti_tool.discussions.permissions import viewer_for as discussion_viewer
from lti_tool.lti.identity import map_role
from lti_tool.lti.models import Course, Membership, Platform, User
from lti_tool.lti.registry import find_deployment
from lti_tool.modules import threads, writes
from lti_tool.modules.models import (CompletionRule, GradeMode, ItemKind, ItemRelease, Module, ModuleItem, Reflection,
                                     ReflectionVisibility, ReleaseRule)
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
    """The demo course's program with cohorts, members, waiting list, applications, a year of sessions, a book
    study and modules. Does nothing when the course already has a program (so a re-run never duplicates), except
    give a program of an earlier demo that has neither books nor modules its book study and modules."""
    course, people = _roster(session, platform, "demo-course", "Communities of Practice 2026–27 (demo)")
    existing = session.scalar(select(Program).where(Program.course_id == course.id))
    if existing is not None:
        _add_book_study_and_modules(session, existing, people)
        _add_hours_and_certificates(session, existing, people, platform)
        _add_completion_rule(session, existing, people)
        _add_library(session, existing, people)
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
    _add_book_study_and_modules(session, program, people)
    _add_hours_and_certificates(session, program, people, platform)
    _add_completion_rule(session, program, people)
    _add_library(session, program, people)
    return program


# -- the completion rule ------------------------------------------------------------------------------------------
# "Attend at least 6 of the live sessions and engage in the virtual platform": six sessions (fewer when fewer are
# scheduled), and either five module items or two book-study readings with their discussion done.

def _add_completion_rule(session: Session, program: Program, people: dict[str, Membership]) -> None:
    from lti_tool.completion import writes as completion
    from lti_tool.completion.models import CompletionRule

    if session.scalar(select(CompletionRule.id).where(CompletionRule.program_id == program.id)) is not None:
        return
    lead = access_for(session, people["demo-facilitator-1"], program)
    if not lead.lead:
        return
    most = completion.most_possible(session, program, None)
    sessions = int(min(6, most.get("sessions:", 0)))
    if sessions < 1:
        return
    engage = [{"kind": "items", "n": int(min(5, most.get("items:", 0)))},
              {"kind": "readings", "n": int(min(2, most.get("readings:", 0)))}]
    engage = [c for c in engage if c["n"] >= 1]
    tree = {"op": "all", "children": [{"kind": "sessions", "n": sessions}]}
    if engage:
        tree["children"].append({"op": "any", "children": engage} if len(engage) > 1 else engage[0])
    draft = completion.save_draft(session, lead, None, tree, "Demo: the program page's promise.")
    completion.apply_draft(session, access_for(session, people["demo-facilitator-1"], program), draft.id)


# -- PD hours and a certificate ---------------------------------------------------------------------------------
# The program counts contact hours (modules at most 20 %), issues certificates and offers Open Badges; the
# Principals cohort's past sessions have their roll taken (one late check-in, one person who left early, one
# absence), a lead added a conference day by hand, and demo-participant-1 has a certificate issued by a lead.

def _add_hours_and_certificates(session: Session, program: Program, people: dict[str, Membership],
                                platform: Platform) -> None:
    from lti_tool.attendance import writes as attendance
    from lti_tool.certificates import writes as certificates
    from lti_tool.hours import writes as hours
    from lti_tool.hours.models import HoursProfile

    if session.scalar(select(HoursProfile.id).where(HoursProfile.program_id == program.id)) is not None:
        return
    cohort = session.scalar(select(Cohort).where(Cohort.program_id == program.id,
                                                 Cohort.name == "Principals Role-Alike"))
    lead_membership = people["demo-facilitator-1"]
    lead = access_for(session, lead_membership, program)
    if cohort is None or not lead.lead:
        return    # an earlier demo program that was changed by hand: leave it alone
    hours.save_profile(session, lead, unit="contact_hour", rounding="down_quarter", caps={"module": 20},
                       reading_minutes=45, excused_percent=0, provider="Heartland Leadership Academy",
                       location="Virtual, and Kansas City for the deep dive",
                       signer_name=lead_membership.user.display_name, signer_title="Program lead",
                       certificates_enabled=True, open_badges=True)
    from lti_tool.attendance.models import AttendanceChange, AttendanceRecord

    statuses = {s.key: s for s in attendance.ensure_statuses(session, program)}
    now = utcnow()
    past = list(session.scalars(select(Meeting).where(Meeting.program_id == program.id, Meeting.cohort_id == cohort.id,
                                                      Meeting.starts_at < now, Meeting.cancelled.is_(False))
                                .order_by(Meeting.starts_at)))
    marks = {1: "PPPP", 2: "PLPA", 3: "PPAP", 4: "LPPP"}
    # The roll of sessions already held, written as rows (the roll's service would also send "Attendance" scores
    # to the LMS, and the demo sends the gradebook nothing); the minutes are the roll's own rule.
    for i, meeting in enumerate(past[:4]):
        for n, keys in marks.items():
            status = statuses[keys[i]]
            arrived = meeting.starts_at + dt.timedelta(minutes=20) if status.key == "L" else None
            left = meeting.ends_at - dt.timedelta(minutes=30) if (n, i) == (3, 1) else None
            record = AttendanceRecord(meeting_id=meeting.id, membership_id=people[f"demo-participant-{n}"].id,
                                      status_id=status.id, source="check_in" if arrived else "roll",
                                      marked_by_id=lead_membership.id, marked_at=meeting.starts_at, left_at=left,
                                      minutes=attendance.evidence_minutes(meeting, status.kind, arrived_at=arrived,
                                                                          left_at=left))
            session.add(record)
            session.add(AttendanceChange(record=record, changed_by_id=lead_membership.id, changed_at=meeting.starts_at,
                                         to_status_id=status.id, source=record.source))
    hours.add_manual_line(session, lead, people["demo-participant-2"].id, category="other",
                          on_date=program.starts_on + dt.timedelta(days=40), minutes=180,
                          title="State principals' conference: equity strand",
                          reason="Attended for the cohort; agenda and sign-in sheet on file.")
    base = platform.issuer.removesuffix("/sandbox")
    certificates.issue_by_hand(session, lead, people["demo-participant-1"].id, base,
                               "Demo: issued by hand to show the certificate.")
    session.flush()


# -- the resource library and a final product ----------------------------------------------------------------
# The Principals cohort shared resources (links, so the demo needs no files): three approved, one of them
# published to the whole program, one waiting for the lead, one returned with a note; and its final product.

LIBRARY = [
    (1, "Empathy interview protocol", "template", "equity, street data, interviews", "cc_by_sa", "approved",
     "A one-page protocol for a 20-minute empathy interview with a student or a family member: three opening "
     "questions, follow-ups, and what to write down afterwards."),
    (2, "Walkthrough look-fors (grades 6-8)", "form", "walkthroughs, observation", "cc_by", "program",
     "The look-fors our teams used on learning walks, with room for **evidence** rather than ratings."),
    (3, "Data-dive meeting agenda", "template", "data, meetings", "ask_author", "approved",
     "A 45-minute agenda that starts from street data before any chart is shown."),
    (4, "Family listening session slides", "slide_deck", "families, equity", "cc_by_nc", "submitted",
     "Slides for an evening listening session with families, in English and Spanish."),
    (5, "Reading list on feedback", "reading", "feedback", "all_rights_reserved", "returned",
     "Five articles on feedback conversations."),
]


def _add_library(session: Session, program: Program, people: dict[str, Membership]) -> None:
    from lti_tool.library import writes as library
    from lti_tool.library.models import Resource

    if session.scalar(select(Resource.id).where(Resource.program_id == program.id).limit(1)) is not None:
        return
    cohort = session.scalar(select(Cohort).where(Cohort.program_id == program.id,
                                                 Cohort.name == "Principals Role-Alike"))
    lead = access_for(session, people["demo-facilitator-1"], program)
    if cohort is None or not lead.lead:
        return
    approved = []
    for n, title, kind, tags, licence, state, description in LIBRARY:
        author = access_for(session, people[f"demo-participant-{n}"], program)
        resource = library.save_resource(session, author, None, library.ResourceInput(
            title=title, kind=kind, description=description, tags=tags, licence=licence, may_share=True,
            url=f"https://example.org/library/{n}"), cohort_id=cohort.id, submit=True)
        if state in ("approved", "program"):
            library.approve(session, lead, resource)
            approved.append(resource.id)
        if state == "program":
            library.set_visibility(session, lead, resource, "program")
        if state == "returned":
            library.return_resource(session, lead, resource, "Add a line on why each article matters for our "
                                                             "problem of practice, and check the licence.")
    library.save_product(session, access_for(session, people["demo-participant-1"], program), cohort,
                         title="Listening before leading: a principal's toolkit",
                         introduction="What our cohort made this year: tools to **hear from students and families** "
                                      "before deciding, and to bring what we hear to data meetings.",
                         resource_ids=approved)
    session.flush()


# -- the book study and the modules ------------------------------------------------------------------------------
# Two cohorts read "Street Data" and work through three modules written for them; a few participants have begun
# (posts and replies, items done, reflections, one answered by the facilitator). It all goes through the features'
# own services, as the facilitators' and participants' clicks would. Dates are laid around "today" in the program's
# zone, kept inside the program year, so there are always readings behind, one this week and readings ahead.

BOOK_COHORTS = ("Principals Role-Alike", "Anti-Racist Curriculum")

READINGS = [
    ("Introduction and chapter 1",
     "The authors sort the data schools use into three levels: *satellite* (state tests, attendance rates), *map* "
     "(benchmarks, surveys, rubrics) and *street* data (what we learn by listening and looking closely).\n\n"
     "Which level drives most decisions at your site? Share one decision that might have gone differently with "
     "street data in the room."),
    ("Chapters 2–3",
     "Whose voices are easiest to hear in your school's data, and whose are missing? Name one group you rarely "
     "hear from and one way you could listen to them before our next session."),
    ("Chapters 4–5",
     "This fortnight, try one empathy interview (a student, a family member or a colleague) about the problem of "
     "practice you named in the first module.\n\nWhat did you hear that a score or a survey would not have told you? "
     "What surprised you about *how* they answered?"),
    ("Chapters 6–7",
     "Think of a classroom or meeting where people who are usually quiet did most of the talking. What made that "
     "possible, and what would it take to make it the norm rather than the exception?"),
    ("Chapter 8 and conclusion",
     "Looking back on the year: what will you **stop**, **start** and **keep** in how your team gathers and uses "
     "data? Bring your list to the close-out showcase."),
]


def demo_today(program: Program, now: dt.datetime | None = None) -> dt.date:
    """The day the demo's book study and modules are laid around: today in the program's zone, moved inside the
    program year far enough from its ends for two readings (four weeks apart) before this week's and two after."""
    today = (now or utcnow()).astimezone(ZoneInfo(program.timezone)).date()
    return min(max(today, program.starts_on + dt.timedelta(weeks=9)), program.ends_on - dt.timedelta(weeks=10))


def _add_book_study_and_modules(session: Session, program: Program, people: dict[str, Membership]) -> None:
    """The book study, the modules and some progress, unless the program already has a book or a module."""
    if session.scalar(select(Book.id).where(Book.program_id == program.id).limit(1)) is not None or \
            session.scalar(select(Module.id).where(Module.program_id == program.id).limit(1)) is not None:
        return
    found = {c.name: c for c in session.scalars(select(Cohort).where(Cohort.program_id == program.id,
                                                                     Cohort.name.in_(BOOK_COHORTS)))}
    if len(found) < len(BOOK_COHORTS) or not (program.starts_on and program.ends_on):
        return    # an earlier demo program that was changed by hand: leave it alone
    cohorts = [found[name] for name in BOOK_COHORTS]
    today, now = demo_today(program), utcnow()
    if today != now.astimezone(ZoneInfo(program.timezone)).date():
        now = _at(today, 12)    # today is outside the program year: the demo happens on the day chosen instead
    monday = today - dt.timedelta(days=today.weekday())
    readings = _book_study(session, program, people, cohorts, monday, now)
    first, second, _third = _modules(session, program, people["demo-facilitator-1"], cohorts, readings[2], monday)
    _book_talk(session, people, cohorts, readings, now)
    _progress(session, program, people, cohorts, first, second, monday, now)
    session.flush()


def _book_study(session: Session, program: Program, people: dict[str, Membership], cohorts: list[Cohort],
                monday: dt.date, now: dt.datetime) -> list[Reading]:
    """The book and its five readings, a fortnight each, four weeks apart; the third is this fortnight's."""
    lead = access_for(session, people["demo-facilitator-1"], program)
    book = discussions.save_book(
        session, lead, title="Street Data: A Next-Generation Model for Equity, Pedagogy, and School "
                                      "Transformation",
        author="Shane Safir and Jamila Dugan", edition="Corwin, 2021",
        link_url="https://openlibrary.org/search?q=street+data+safir+dugan", cohort_ids=[c.id for c in cohorts],
        # Not graded: every demo post would otherwise queue a score for an LMS no one has launched from yet.
        score_maximum=0)
    readings = []
    for i, (label, prompt) in enumerate(READINGS):
        starts = monday + dt.timedelta(weeks=4 * (i - 2))
        readings.append(discussions.save_reading(session, lead, book, label=label, starts_on=starts,
                                                 ends_on=starts + dt.timedelta(days=13), prompt=prompt,
                                                 initial_posts_required=1, replies_required=2, now=now))
    return readings


def _book_talk(session: Session, people: dict[str, Membership], cohorts: list[Cohort], readings: list[Reading],
               now: dt.datetime) -> None:
    """Posts and replies in the threads of the last reading and of this fortnight's (each post-first: a
    participant answers before reading the others)."""
    principals, curriculum = cohorts
    aisha, ben, chloe, daniel = (people[f"demo-participant-{n}"] for n in (1, 2, 3, 4))
    valentina, maya, tomas = people["demo-participant-22"], people["demo-facilitator-1"], people["demo-facilitator-2"]

    earlier = readings[1]
    thread = _reading_thread(session, principals, earlier)
    at = lambda day, hour: _at(earlier.starts_on + dt.timedelta(days=day), hour)  # noqa: E731
    first = _say(session, aisha, thread, at(2, 20),
                 "The families I hear from most are the ones who already know how to work the system: PTA officers, "
                 "the parents who email me directly. I rarely hear from our newcomer families. I'm going to ask our "
                 "community liaison to host two coffee chats in Dari and Spanish before our next session.")
    second = _say(session, ben, thread, at(4, 7),
                  "Students who are doing 'fine' on paper: our B and C students. Nobody interviews them because "
                  "nothing is on fire. I want to shadow one for a full day.")
    _say(session, ben, thread, at(4, 8),
         "The coffee chats are a great idea. Would you share how the liaison invites families? Our flyers go home "
         "and nothing comes back.", parent=first)
    _say(session, aisha, thread, at(6, 21),
         "Shadowing a 'fine' student is such a good call. When I did it last year I learned more about our bell "
         "schedule in one day than in five years of master-schedule meetings.", parent=second)

    current = readings[2]
    thread = _reading_thread(session, principals, current)
    start = _at(current.starts_on, 7) if _at(current.starts_on, 7) < now else _at(current.starts_on, 0)
    at = lambda share: start + (now - start) * share  # noqa: E731
    opening = _say(session, aisha, thread, at(0.15),
                   "I interviewed a ninth grader who has missed 14 days this semester. On paper she's a chronic "
                   "absence statistic. In person, she takes her little brother to elementary school every morning "
                   "because their mom's shift starts at six. No intervention on our list would have touched that.")
    ben_post = _say(session, ben, thread, at(0.3),
                    "Mine was with a parent who told me she stopped coming to conferences because every meeting was "
                    "about what her son did wrong. What surprised me was how calm she was about it: she had simply "
                    "decided we weren't worth the time off work.")
    _say(session, ben, thread, at(0.35),
         "Aisha, that story stopped me. Do you know how many of our absences have a reason like that behind them? "
         "I suspect we'd redesign our whole attendance response if we did.", parent=opening)
    chloe_post = _say(session, chloe, thread, at(0.5),
                      "I asked a teacher, not a student: what does she wish I knew about her planning time? The "
                      "answer was that our PLC agenda eats it. We built a meeting to look at satellite data and it "
                      "crowds out the very conversations that would give us street data.")
    _say(session, maya, thread, at(0.6),
         "Thank you for going first, Aisha. Notice what you did: you let the student explain the pattern instead "
         "of explaining it for her. Bring this story to our session; it's a good case for the consultancy "
         "protocol.", parent=opening)
    _say(session, aisha, thread, at(0.75),
         "Chloé, the irony of a data meeting crowding out data is painful and very familiar. Could one PLC a month "
         "be an empathy-interview debrief instead?", parent=chloe_post)
    _say(session, daniel, thread, at(0.9),
         "I haven't done my interview yet (testing week), but reading these I'm going to start with our bus "
         "drivers. They see every student twice a day and nobody ever asks them anything.")
    _say(session, chloe, thread, at(0.95),
         "Ben, 'we weren't worth the time off work' is going on a sticky note on my monitor.", parent=ben_post)

    thread = _reading_thread(session, curriculum, current)
    valentina_post = _say(session, valentina, thread, at(0.4),
                          "I interviewed two eighth graders about our US history unit. Both said the unit 'is about "
                          "other people'. Neither saw their family's story anywhere in it, and one said that's just "
                          "how history class is.")
    _say(session, tomas, thread, at(0.7),
         "'Just how history class is' is exactly the kind of street data a curriculum audit misses. Could you bring "
         "the unit's primary sources to our next session so we can look at whose voices they carry?",
         parent=valentina_post)


def _reading_thread(session: Session, cohort: Cohort, reading: Reading) -> Thread:
    return session.scalars(select(Thread).where(Thread.cohort_id == cohort.id, Thread.reading_id == reading.id)).one()


def _say(session: Session, who: Membership, thread: Thread, at: dt.datetime, body: str,
         parent: Post | None = None) -> Post:
    viewer = discussion_viewer(session, who, thread.cohort)
    return discussions.create_post(session, viewer, thread, body, parent=parent, now=at)


WELCOME = """\
## What a module is
Each module is about two hours of work between our monthly sessions: a reading or a video, a reflection and a
conversation with your cohort in the book study. Work at your own pace; the due date is a guide, not a gate.

## How to work through it
1. Open the items in order. Most are done when you open them; videos and readings when you mark them done.
2. Reflections marked **private** are read only by your facilitators, who answer each one.
3. Reflections marked **shared** are posted in your cohort's thread, so the group can respond.

## Our agreements
- What is said in the cohort stays in the cohort; what is learned leaves.
- Assume good intent, and name the impact.
- Bring real work: a messy problem teaches the group more than a polished success.
"""

THREE_LEVELS = """\
Safir and Dugan sort the data we use into three levels:

| Level | What it is | Examples |
|---|---|---|
| Satellite | Large-scale outcomes, far from the classroom | State test results, chronic absence rates |
| Map | Patterns the school gathers itself | Benchmark assessments, climate surveys, rubric scores |
| Street | What we see and hear up close | Empathy interviews, student shadowing, listening campaigns |

Satellite data is good at raising questions and poor at answering them. This fortnight, gather one piece of street
data about the problem of practice you named in the first module, and bring it to the book study.
"""

TEST_OF_CHANGE = """\
A test of change is small on purpose: one classroom, one team, one routine, for about six weeks.

1. **Plan.** What will you change, for whom, and what do you predict will happen? Which street data will tell
   you (one more round of interviews, a shadowing day, exit tickets in students' words)?
2. **Do.** Run it as planned and keep short notes, including what did not go to plan.
3. **Study.** Compare what happened with what you predicted. Bring it to the cohort.
4. **Act.** Keep it, change it or drop it, and plan the next cycle.

Write your plan in the reflection below; your cohort gives feedback on it with the consultancy protocol.
"""


def _modules(session: Session, program: Program, lead: Membership, cohorts: list[Cohort], reading: Reading,
             monday: dt.date) -> tuple[Module, Module, Module]:
    """Three modules for the book's cohorts, about two hours each, using every kind of item: the first released
    by hand, the second opening on each cohort's date, the third (graded) once the second is finished."""
    viewer = access_for(session, lead, program)
    writes.update_settings(session, viewer, weekly_budget_minutes=120)
    ids = [c.id for c in cohorts]
    principals, curriculum = cohorts
    week = dt.timedelta(weeks=1)

    first = writes.save_module(
        session, viewer, title="Launching our community: agreements and problems of practice", cohort_ids=ids,
        overview="Our first weeks together: how modules work, the agreements that keep this a confidential space, "
                 "and the problem of practice you will bring to the group all year.",
        release_rule=ReleaseRule.by_hand, released=True)
    for kind, title, extra in [
        (ItemKind.page, "Welcome: how our modules work", dict(body=WELCOME, minutes=10)),
        (ItemKind.video, "Every Kid Needs a Champion (Rita Pierson, TED)",
         dict(url="https://www.youtube.com/watch?v=SFnMTHhKdkw", embed=True, minutes=10,
              completion_rule=CompletionRule.marked_done,
              body="A teacher of forty years on relationships as the ground of learning. As you watch, note one "
                   "moment that reminds you of a student or adult in your building.")),
        (ItemKind.resource, "Protocol library (School Reform Initiative)",
         dict(url="https://www.schoolreforminitiative.org/protocols/", minutes=10, required=False,
              body="We use the Consultancy and Tuning protocols in our sessions; skim both before we meet.")),
        (ItemKind.reflection, "Your problem of practice",
         dict(minutes=30, reflection_visibility=ReflectionVisibility.private_to_facilitators,
              body="Describe the problem of practice you want to work on this year, in a paragraph or two: what "
                   "is happening, who is affected, and what you have tried so far. Your facilitators read it and "
                   "answer before our first session.")),
        (ItemKind.discussion, "Introduce yourself to the cohort",
         dict(minutes=20, body="Say who you are, your school or district, and in one sentence the problem of "
                               "practice you are bringing. Then welcome two colleagues.")),
    ]:
        writes.save_item(session, viewer, first, kind=kind, title=title, **extra)

    second = writes.save_module(
        session, viewer, title="Street Data: listening below the surface", cohort_ids=ids,
        overview="Test scores tell us *that* something is happening; street data (what students, families and "
                 "staff tell us when we listen) tells us *why*. This module goes with this fortnight's chapters "
                 "of the book study.",
        release_rule=ReleaseRule.by_date,
        dates={principals.id: (monday - week, monday + 2 * week - dt.timedelta(days=1)),
               curriculum.id: (monday, monday + 3 * week - dt.timedelta(days=1))})
    linked = f"{reading.book.title}: {reading.label}"
    for kind, title, extra in [
        (ItemKind.page, "Satellite, map and street data", dict(body=THREE_LEVELS, minutes=10)),
        (ItemKind.reading, f"Street Data, {reading.label.lower()}",
         dict(reading_id=reading.id, linked_title=linked, minutes=60, completion_rule=CompletionRule.marked_done,
              body="Read the chapters before you join the discussion; mark the reading done when you have.")),
        (ItemKind.discussion, f"Discuss {reading.label.lower()} in the book study",
         dict(reading_id=reading.id, linked_title=linked, minutes=20,
              body="Answer the reading's prompt in your cohort's thread, then reply to two colleagues.")),
        (ItemKind.reflection, "One piece of street data from your school",
         dict(minutes=15, release=ItemRelease.after_previous,
              reflection_visibility=ReflectionVisibility.shared_to_cohort_thread,
              body="Share one thing you heard or saw this fortnight (an interview, a shadowing day, a hallway "
                   "conversation) that a test score would not have shown you, and the question it raises for "
                   "your problem of practice. Your reflection is posted in your cohort's thread.")),
        (ItemKind.reading, "Liberatory Design (National Equity Project and Stanford d.school)",
         dict(url="https://www.liberatorydesign.com/", minutes=15, required=False,
              body="Optional: a design process that starts from the same listening stance, with interview guides "
                   "you can adapt.")),
    ]:
        writes.save_item(session, viewer, second, kind=kind, title=title, **extra)

    third = writes.save_module(
        session, viewer, title="From listening to action: a small test of change", cohort_ids=ids,
        overview="Turn what you heard into a small change you can test at your site in six weeks, and get your "
                 "cohort's feedback on the plan before our next session. Graded: the share of required items you "
                 "have done goes to the course gradebook.",
        release_rule=ReleaseRule.after_module, after_module_id=second.id, grade_mode=GradeMode.share_completed,
        score_maximum=100)
    for kind, title, extra in [
        (ItemKind.page, "Plan a six-week test of change", dict(body=TEST_OF_CHANGE, minutes=15)),
        (ItemKind.resource, "PDSA worksheet (Institute for Healthcare Improvement)",
         dict(url="https://www.ihi.org/resources/tools/plan-do-study-act-pdsa-worksheet", minutes=10)),
        (ItemKind.reflection, "Your plan, in one page",
         dict(minutes=40, reflection_visibility=ReflectionVisibility.private_to_facilitators,
              body="What will you change, for whom, for how long? What do you predict, and which street data will "
                   "tell you whether it worked?")),
        (ItemKind.discussion, "Consultancy: feedback on two colleagues' plans",
         dict(minutes=30, release=ItemRelease.after_previous,
              body="Post a one-paragraph summary of your plan and the question you want help with. Then answer "
                   "two colleagues: what you noticed, one warm and one cool comment, and a question back.")),
    ]:
        writes.save_item(session, viewer, third, kind=kind, title=title, **extra)
    return first, second, third


def _progress(session: Session, program: Program, people: dict[str, Membership], cohorts: list[Cohort],
              first: Module, second: Module, monday: dt.date, now: dt.datetime) -> None:
    """Last week's start on the first module and this week's on the second, for four participants: Aisha
    finishes both (so the graded third opens for her, with nothing done yet, so no score is queued), Ben and
    Chloé are part way, Valentina in the other cohort has begun; Maya answers Aisha's private reflection."""
    principals, curriculum = cohorts
    aisha, ben, chloe, valentina = (people[f"demo-participant-{n}"] for n in (1, 2, 3, 22))
    welcome, video, protocols, problem, introductions = first.items
    street_levels, chapters, discussion, street_data, design = second.items
    last_week = lambda day, hour: _at(monday - dt.timedelta(days=7 - day), hour)  # noqa: E731

    def work(who: Membership, item: ModuleItem, at: dt.datetime, reflection: str = "") -> Reflection | None:
        viewer = access_for(session, who, program)
        writes.open_item(session, viewer, item, now=at)
        if item.completion_rule is CompletionRule.marked_done:
            writes.mark_done(session, viewer, item, now=at)
        if reflection:
            return writes.submit_reflection(session, viewer, item, reflection, now=at)
        return None

    def introduce(who: Membership, cohort: Cohort, at: dt.datetime, body: str) -> None:
        work(who, introductions, at)
        _say(session, who, threads.place_for(session, introductions, cohort, now=at).thread, at, body)

    for item in (welcome, video, protocols):
        work(aisha, item, last_week(1, 19))
    introduce(aisha, principals, last_week(1, 20),
              "Aisha Rahman, principal of a 1,100-student high school. My problem of practice: chronic absence "
              "in ninth grade, which doubled after the pandemic and hasn't come back down.")
    answered = work(aisha, problem, last_week(2, 21), reflection=(
        "Chronic absence in ninth grade is 31%, up from 15% five years ago. It is concentrated among students who "
        "came from two of our five feeder middle schools. We have tried attendance letters, a Saturday make-up "
        "school and incentives for perfect attendance; none moved the number for more than a month. I suspect we "
        "are treating a relationship problem as a compliance problem, but I don't know what students would say."))
    for item in (welcome, video):
        work(ben, item, last_week(2, 6))
    introduce(ben, principals, last_week(2, 7),
              "Ben Carter, elementary principal in a rural district, in my second year. I'm bringing family "
              "engagement: our conference attendance is under 40% and I want to understand why.")
    work(chloe, welcome, last_week(3, 16))
    work(chloe, problem, last_week(3, 17), reflection=(
        "Our PLCs meet every week but mostly review benchmark data and assign interventions. Teachers describe "
        "them as 'compliance time'. I want PLCs where teachers bring student work and leave with something they "
        "will try the next day."))
    work(valentina, welcome, last_week(4, 18))
    introduce(valentina, curriculum, last_week(4, 19),
              "Valentina Rossi, social studies coordinator. We're auditing our middle-school US history units "
              "this year, starting with the one students call 'the boring one'.")
    maya = access_for(session, people["demo-facilitator-1"], program)
    writes.give_feedback(session, maya, answered, mark=None, now=last_week(3, 8), feedback=(
        "Thank you, Aisha: this is a clear and honest problem of practice. Your hunch about relationships versus "
        "compliance is worth testing. Before our first session, could you talk with three ninth graders from those "
        "two feeder schools? Not about attendance: ask what a good day at school looks like for them."))

    # This week: the posts in the book study (made before) have done the discussion item for those who posted.
    morning = min(_at(monday, 7), now)
    for item in (street_levels, chapters):
        work(aisha, item, morning)
    work(aisha, street_data, now, reflection=(
        "The student I interviewed walks her brother to school every morning. When I asked what would help, she "
        "didn't mention attendance at all: she asked whether first period could start with something that doesn't "
        "count for a grade, so walking in late isn't walking into failure. I want to try an advisory block first "
        "thing for ninth grade."))
    work(aisha, design, now)
    work(ben, street_levels, morning)
    work(valentina, street_levels, morning)
    work(valentina, street_data, now, reflection=(
        "Two students told me the unit is 'about other people'. Next I want to ask them which stories they would "
        "put in it, and bring their list to our audit."))
