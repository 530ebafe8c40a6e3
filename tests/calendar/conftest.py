"""Small factories for calendar tests: a course with a program, cohorts, and people in them."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest

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

    def person(self, name: str, role: CourseRole = CourseRole.participant, course: Course | None = None) -> Membership:
        user = User(platform=self.platform, sub=f"{name}-{next(_seq)}", name=name)
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


def make_world(session, timezone: str = "America/New_York", context: str = "course-a") -> World:
    platform = session.query(Platform).filter_by(issuer="https://lms.example.edu").one_or_none()
    if platform is None:
        platform = Platform(issuer="https://lms.example.edu", client_id="c1",
                            auth_login_url="https://lms.example.edu/a", auth_token_url="https://lms.example.edu/t",
                            key_set_url="https://lms.example.edu/k")
        session.add(platform)
    course = Course(platform=platform, context_id=f"{context}-{next(_seq)}", title=context)
    program = Program(course=course, title=f"CoP {context}", timezone=timezone, settings={})
    session.add_all([course, program])
    session.flush()
    return World(session, platform, course, program)


@pytest.fixture
def world(session) -> World:
    """Lead Lena; facilitator Fay runs "Literacy" (Pat is in it); "Math" has Quinn; Oscar is an observer."""
    w = make_world(session)
    lead = w.person("Lena", CourseRole.facilitator)
    fay = w.person("Fay", CourseRole.facilitator)
    w.program.settings = {"leads": [lead.id]}
    pat = w.person("Pat")
    quinn = w.person("Quinn")
    w.person("Oscar", CourseRole.observer)
    w.cohort("Literacy", facilitators=[fay], members=[pat])
    w.cohort("Math", members=[quinn])
    session.flush()
    return w
