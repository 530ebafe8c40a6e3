"""Small factories for service-level tests: a platform, course and program, people and cohorts."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from lti_tool.calendar.models import Meeting, MeetingKind
from lti_tool.lti.models import Course, CourseRole, Membership, Platform, User
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus

_seq = itertools.count(1)


@dataclass
class World:
    session: object
    platform: Platform
    course: Course
    program: Program
    people: dict[str, Membership] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)

    def person(self, name: str, role: CourseRole = CourseRole.participant, course: Course | None = None,
               email: str | None = None, user: User | None = None) -> Membership:
        user = user or User(platform=self.platform, sub=f"{name}-{next(_seq)}", name=name,
                            email=email if email is not None else f"{name.lower()}@example.edu")
        membership = Membership(user=user, course=course or self.course, role=role, lti_roles=[])
        self.session.add(membership)
        self.session.flush()
        self.people[name] = membership
        return membership

    def cohort(self, name: str, facilitators=(), members=(), program: Program | None = None) -> Cohort:
        cohort = Cohort(program=program or self.program, name=name)
        self.session.add(cohort)
        self.session.flush()
        for f in facilitators:
            self.session.add(CohortFacilitator(cohort_id=cohort.id, membership_id=f.id))
        for m in members:
            self.session.add(CohortMember(cohort_id=cohort.id, membership_id=m.id, status=SeatStatus.active))
        self.session.flush()
        self.cohorts[name] = cohort
        return cohort

    def meeting(self, starts_at: dt.datetime, cohort: Cohort | None = None, minutes: int = 90, title: str = "Session",
                cancelled: bool = False, program: Program | None = None) -> Meeting:
        meeting = Meeting(program=program or self.program, cohort=cohort, kind=MeetingKind.virtual, title=title,
                          starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=minutes), cancelled=cancelled)
        self.session.add(meeting)
        self.session.flush()
        return meeting


def new_platform(issuer: str | None = None) -> Platform:
    return Platform(issuer=issuer or f"https://lms{next(_seq)}.example.edu", client_id="c1",
                    auth_login_url="https://lms.example.edu/a", auth_token_url="https://lms.example.edu/t",
                    key_set_url="https://lms.example.edu/k")


def make_world(session, context: str = "course-a", *, timezone: str = "America/New_York",
               platform: Platform | None = None, world_cls: type[World] = World, **program_fields) -> World:
    """A course with its program on ``platform`` (a new platform of its own by default)."""
    platform = platform or new_platform()
    course = Course(platform=platform, context_id=f"{context}-{next(_seq)}", title=context,
                    ags_lineitems_url="https://lms.example.edu/lineitems")
    program = Program(course=course, title=f"CoP {context}", timezone=timezone, settings={}, **program_fields)
    session.add_all([platform, course, program])
    session.flush()
    return world_cls(session, platform, course, program)
