"""Small factories for the book-study tests: a course with a program, cohorts and people (from the models),
a book with readings (through the services)."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from lti_tool.course.access import Access, access_for
from lti_tool.discussions import permissions as p, writes as w
from lti_tool.discussions.models import PostFirst
from lti_tool.lti.models import Course, CourseRole, Membership, Platform, User
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus

_seq = itertools.count(1)
NOW = dt.datetime(2026, 10, 7, 15, 0, tzinfo=dt.timezone.utc)      # a Wednesday, 11:00 in New York
TODAY = dt.date(2026, 10, 7)


class World:
    def __init__(self, session, context: str = "course-a"):
        self.session = session
        n = next(_seq)
        self.platform = Platform(issuer=f"https://lms{n}.example.edu", client_id=f"c{n}",
                                 auth_login_url="https://lms.example.edu/a", auth_token_url="https://lms.example.edu/t",
                                 key_set_url="https://lms.example.edu/k")
        self.course = Course(platform=self.platform, context_id=f"{context}-{n}", title=context)
        self.program = Program(course=self.course, title=f"CoP {context}", timezone="America/New_York", settings={})
        session.add_all([self.platform, self.course, self.program])
        session.flush()
        self.people: dict[str, Membership] = {}
        self.cohorts: dict[str, Cohort] = {}

    def person(self, name: str, role: CourseRole = CourseRole.participant, course: Course | None = None,
               **user) -> Membership:
        u = User(platform=self.platform, sub=f"{name}-{next(_seq)}", name=name, **user)
        m = Membership(user=u, course=course or self.course, role=role, lti_roles=[])
        self.session.add(m)
        self.session.flush()
        self.people[name] = m
        return m

    def cohort(self, name: str, facilitators=(), members=()) -> Cohort:
        c = Cohort(program=self.program, name=name)
        self.session.add(c)
        self.session.flush()
        for f in facilitators:
            self.session.add(CohortFacilitator(cohort_id=c.id, membership_id=f.id))
        for m in members:
            self.session.add(CohortMember(cohort_id=c.id, membership_id=m.id, status=SeatStatus.active))
        self.session.flush()
        self.cohorts[name] = c
        return c

    def viewer(self, name: str, cohort: str = "Literacy") -> p.Viewer:
        return p.viewer_for(self.session, self.people[name], self.cohorts[cohort])

    def access(self, name: str) -> Access:
        return access_for(self.session, self.people[name], self.program)


@pytest.fixture
def world(session) -> World:
    """Lead Lena; facilitator Fay runs "Literacy" (Pat, Ann, Bo); "Math" has Quinn; Oscar observes."""
    w = World(session)
    lena = w.person("Lena", CourseRole.facilitator)
    fay = w.person("Fay", CourseRole.facilitator)
    w.program.settings = {"leads": [lena.id]}
    pat, ann, bo = w.person("Pat"), w.person("Ann"), w.person("Bo")
    quinn = w.person("Quinn")
    w.person("Oscar", CourseRole.observer)
    w.cohort("Literacy", facilitators=[fay], members=[pat, ann, bo])
    w.cohort("Math", members=[quinn])
    session.flush()
    return w


@pytest.fixture
def book(world):
    """“Punished for Dreaming”, read by Literacy and Math: chapter 1 this week, chapter 2 next week."""
    lena = world.access("Lena")
    b = w.save_book(world.session, lena, title="Punished for Dreaming", author="Bettina Love",
                    cohort_ids=[world.cohorts["Literacy"].id, world.cohorts["Math"].id])
    w.save_reading(world.session, lena, b, label="Chapter 1", starts_on=TODAY - dt.timedelta(days=2),
                   ends_on=TODAY + dt.timedelta(days=4), prompt="What **struck** you?", post_first=PostFirst.none,
                   now=NOW)
    w.save_reading(world.session, lena, b, label="Chapter 2", starts_on=TODAY + dt.timedelta(days=7),
                   ends_on=TODAY + dt.timedelta(days=13), now=NOW)
    world.session.flush()
    return b


def reading_thread(world, book, cohort="Literacy", index=0):
    from sqlalchemy import select

    from lti_tool.discussions.models import Thread

    return world.session.scalar(select(Thread).where(Thread.cohort_id == world.cohorts[cohort].id,
                                                     Thread.reading_id == book.readings[index].id))
