"""Test data: one factory_boy factory per model the tests build, and World (a course on its own LMS, usually
with its program) whose builders make people, cohorts and sessions through those factories.

The factories write into ``db.session``, the session of the test's app context (the one the ``session``
fixture yields), and flush without committing: a test sees its rows at once and decides itself whether to
commit. Outside an app context they fail loudly rather than write somewhere else.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import factory
from factory.alchemy import SQLAlchemyModelFactory

from lti_tool.calendar.models import Meeting, MeetingKind
from lti_tool.course.access import Access, access_for
from lti_tool.db import db, utcnow
from lti_tool.lti.models import Course, CourseRole, Membership, Platform, User
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus


class _ModelFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - looked up at each build, not at import
        sqlalchemy_session_persistence = "flush"


class PlatformFactory(_ModelFactory):
    class Meta:
        model = Platform

    issuer = factory.Sequence(lambda n: f"https://lms{n}.example.edu")
    client_id = "c1"
    auth_login_url = "https://lms.example.edu/a"
    auth_token_url = "https://lms.example.edu/t"
    key_set_url = "https://lms.example.edu/k"


class CourseFactory(_ModelFactory):
    class Meta:
        model = Course

    platform = factory.SubFactory(PlatformFactory)
    title = "course-a"
    context_id = factory.LazyAttributeSequence(lambda c, n: f"{c.title}-{n}")
    ags_lineitems_url = "https://lms.example.edu/lineitems"


class UserFactory(_ModelFactory):
    class Meta:
        model = User

    platform = factory.SubFactory(PlatformFactory)
    name = factory.Sequence(lambda n: f"Person{n}")
    sub = factory.LazyAttributeSequence(lambda u, n: f"{u.name}-{n}")
    email = factory.LazyAttribute(lambda u: f"{u.name.lower()}@example.edu")


class MembershipFactory(_ModelFactory):
    class Meta:
        model = Membership

    course = factory.SubFactory(CourseFactory)
    # A person is (platform, sub): their user lives on the course's LMS.
    user = factory.SubFactory(UserFactory, platform=factory.SelfAttribute("..course.platform"))
    role = CourseRole.participant
    lti_roles = factory.LazyFunction(list)


class ProgramFactory(_ModelFactory):
    class Meta:
        model = Program

    course = factory.SubFactory(CourseFactory)
    title = factory.LazyAttribute(lambda p: f"CoP {p.course.title}")
    timezone = "America/New_York"
    settings = factory.LazyFunction(dict)


class CohortFactory(_ModelFactory):
    class Meta:
        model = Cohort

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")


class CohortFacilitatorFactory(_ModelFactory):
    class Meta:
        model = CohortFacilitator

    cohort = factory.SubFactory(CohortFactory)
    membership = factory.SubFactory(MembershipFactory, course=factory.SelfAttribute("..cohort.program.course"),
                                    role=CourseRole.facilitator)


class CohortMemberFactory(_ModelFactory):
    class Meta:
        model = CohortMember

    cohort = factory.SubFactory(CohortFactory)
    membership = factory.SubFactory(MembershipFactory, course=factory.SelfAttribute("..cohort.program.course"))
    status = SeatStatus.active


class MeetingFactory(_ModelFactory):
    class Meta:
        model = Meeting

    program = factory.SubFactory(ProgramFactory)
    cohort = None
    kind = MeetingKind.virtual
    title = "Session"
    starts_at = factory.LazyFunction(lambda: utcnow().replace(microsecond=0))
    ends_at = factory.LazyAttribute(lambda m: m.starts_at + dt.timedelta(minutes=90))


@dataclass
class World:
    """One course on its LMS, its program (None until a facilitator sets one up, for the programs tests), and
    the people and cohorts built so far, by name.

    A feature's conftest may subclass it for builders that go through that feature's services (the modules
    and discussions viewers, a module with items) and pass ``world_cls`` to make_world; the rows themselves
    are built here."""

    session: object
    platform: Platform
    course: Course
    program: Program | None
    people: dict[str, Membership] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)

    def person(self, name: str, role: CourseRole = CourseRole.participant, course: Course | None = None,
               user: User | None = None, **user_fields) -> Membership:
        """A member of ``course`` (this world's by default); ``user`` to give an existing person a seat."""
        user = user or UserFactory(platform=self.platform, name=name, **user_fields)
        membership = MembershipFactory(user=user, course=course or self.course, role=role)
        self.people[name] = membership
        return membership

    def lead(self, course: Course | None = None) -> Membership:
        return self.person("Lead Facilitator", CourseRole.facilitator, course)

    def participants(self, n: int, prefix: str = "Participant") -> list[Membership]:
        return [self.person(f"{prefix} {i:02d}") for i in range(1, n + 1)]

    def new_course(self, title: str) -> Course:
        """Another course on the same LMS."""
        return CourseFactory(platform=self.platform, title=title)

    def cohort(self, name: str, facilitators=(), members=(), program: Program | None = None) -> Cohort:
        cohort = CohortFactory(program=program or self.program, name=name)
        for f in facilitators:
            CohortFacilitatorFactory(cohort=cohort, membership=f)
        for m in members:
            CohortMemberFactory(cohort=cohort, membership=m)
        self.cohorts[name] = cohort
        return cohort

    def access(self, name: str) -> Access:
        """What the person called ``name`` may do now (see ``acting``)."""
        return acting(self.session, self.people[name])

    def meeting(self, starts_at: dt.datetime, cohort: Cohort | None = None, minutes: int = 90, title: str = "Session",
                cancelled: bool = False, program: Program | None = None) -> Meeting:
        return MeetingFactory(program=program or self.program, cohort=cohort, title=title, starts_at=starts_at,
                              ends_at=starts_at + dt.timedelta(minutes=minutes), cancelled=cancelled)


def acting(session, membership: Membership) -> Access:
    """What ``membership`` may do now. An Access is one request's snapshot, so tests build one per call."""
    return access_for(session, membership)


def make_world(session, context: str = "course-a", *, timezone: str = "America/New_York",
               platform: Platform | None = None, with_program: bool = True, world_cls: type[World] = World,
               **program_fields) -> World:
    """A course titled ``context`` on ``platform`` (a new LMS of its own by default) with its program, unless
    ``with_program`` is false (the program is then made through the services, as a first launch makes it)."""
    if session is not db.session:
        raise ValueError("World builds through the factories, which write into db.session: pass that session")
    if program_fields and not with_program:
        raise TypeError(f"program fields {sorted(program_fields)} given for a world without a program")
    course = CourseFactory(platform=platform or PlatformFactory(), title=context)
    program = ProgramFactory(course=course, timezone=timezone, **program_fields) if with_program else None
    return world_cls(session, course.platform, course, program)


def literacy_world(session, *, literacy: tuple[str, ...] = ("Pat", "Quinn")) -> World:
    """The course the newer features' tests share: lead Lena (named), facilitator Fay of "Literacy" (``literacy``
    seated), "Math" with Sam, the observer Oscar; the program "Leading Literacy" 2030–31 in New York."""
    w = make_world(session, title="Leading Literacy", year_label="2030–31")
    lead = w.person("Lena", CourseRole.facilitator)
    fay = w.person("Fay", CourseRole.facilitator)
    w.program.settings = {"leads": [lead.id]}
    seated = [w.person(n) for n in literacy]
    sam = w.person("Sam")
    w.person("Oscar", CourseRole.observer)
    w.cohort("Literacy", facilitators=[fay], members=seated)
    w.cohort("Math", members=[sam])
    session.flush()
    return w
