"""Small factories for the programs tests: a course with people, built straight from the models (launches are
what the view tests use), and the program and cohorts built through the services."""
from __future__ import annotations

import datetime as dt
import itertools

from lti_tool.course.access import Access, access_for
from lti_tool.lti.models import Course, CourseRole, Membership, Platform, User
from lti_tool.programs import writes

_seq = itertools.count(1)


class World:
    """One platform, one course (or more), people in it."""

    def __init__(self, session):
        self.session = session
        n = next(_seq)
        self.platform = Platform(issuer=f"https://lms{n}.example.edu", client_id=f"client-{n}",
                                 auth_login_url="https://lms.example.edu/auth",
                                 auth_token_url="https://lms.example.edu/token",
                                 key_set_url="https://lms.example.edu/jwks")
        session.add(self.platform)
        session.flush()
        self.course = self.new_course("Course A")

    def new_course(self, title: str) -> Course:
        course = Course(platform_id=self.platform.id, context_id=f"ctx-{next(_seq)}", title=title)
        self.session.add(course)
        self.session.flush()
        return course

    def person(self, name: str, role: CourseRole = CourseRole.participant, course: Course | None = None) -> Membership:
        user = User(platform_id=self.platform.id, sub=f"sub-{next(_seq)}", name=name)
        membership = Membership(user=user, course=course or self.course, role=role)
        self.session.add(membership)
        self.session.flush()
        return membership

    def lead(self, course: Course | None = None) -> Membership:
        return self.person("Lead Facilitator", CourseRole.facilitator, course)

    def participants(self, n: int, prefix: str = "Participant") -> list[Membership]:
        return [self.person(f"{prefix} {i:02d}") for i in range(1, n + 1)]


def acting(session, membership: Membership) -> Access:
    """What ``membership`` may do now. An Access is a snapshot (one request's), so tests build one per call."""
    return access_for(session, membership)


def make_program(session, lead: Membership):
    program = writes.ensure_program(session, lead)
    program.timezone = "America/New_York"
    session.flush()
    return program


def make_cohort(session, lead: Membership, program, name: str = "Principals", capacity: int = 20,
                mode: str = "open", facilitators: list[Membership] | None = None, **kw):
    return writes.create_cohort(session, acting(session, lead), name=name, capacity=capacity, signup_mode=mode,
                                facilitator_ids=[m.id for m in (facilitators or [lead])], **kw)


NOW = dt.datetime(2026, 9, 15, 16, 0, tzinfo=dt.timezone.utc)
