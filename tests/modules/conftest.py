"""Factories for the module tests: a course with a program (Aug 2030 – Jul 2031, New York), lead Lena,
facilitator Fay of "Literacy" (Pat, Quinn), "Math" (Sam) with no facilitator of its own, observer Oscar."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import pytest

from lti_tool.lti.models import Course, CourseRole, Membership, Platform, User
from lti_tool.modules import services as ms
from lti_tool.modules.models import ItemKind, ReleaseRule
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus

_seq = itertools.count(1)
NOW = dt.datetime(2030, 10, 10, 15, 0, tzinfo=dt.timezone.utc)


@dataclass
class World:
    session: object
    platform: Platform
    course: Course
    program: Program
    people: dict[str, Membership] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)

    def person(self, name: str, role: CourseRole = CourseRole.participant, course: Course | None = None,
               user: User | None = None) -> Membership:
        user = user or User(platform=self.platform, sub=f"{name}-{next(_seq)}", name=name,
                            email=f"{name.lower()}@example.edu")
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

    def viewer(self, name: str) -> ms.Viewer:
        return ms.viewer_for(self.session, self.people[name], self.program)

    def module(self, title: str = "Week 1", cohorts=("Literacy",), items=(("page", "Welcome"),), **kw):
        module = ms.save_module(self.session, self.viewer("Lena"), title=title,
                                cohort_ids=[self.cohorts[c].id for c in cohorts],
                                release_rule=kw.pop("release_rule", ReleaseRule.by_hand),
                                released=kw.pop("released", True), **kw)
        for kind, item_title in items:
            extra = {"body": "Why?"} if kind == "reflection" else {}
            if kind == "reading":
                extra = {"url": "https://example.org/ch2"}
            ms.save_item(self.session, self.viewer("Lena"), module, kind=ItemKind(kind), title=item_title,
                         minutes=15, **extra)
        return module


def make_world(session, context: str = "course-a") -> World:
    platform = Platform(issuer=f"https://lms{next(_seq)}.example.edu", client_id="c1",
                        auth_login_url="https://lms.example.edu/a", auth_token_url="https://lms.example.edu/t",
                        key_set_url="https://lms.example.edu/k")
    course = Course(platform=platform, context_id=f"{context}-{next(_seq)}", title=context,
                    ags_lineitems_url="https://lms.example.edu/lineitems")
    program = Program(course=course, title=f"CoP {context}", timezone="America/New_York", settings={},
                      starts_on=dt.date(2030, 8, 1), ends_on=dt.date(2031, 7, 31))
    session.add_all([platform, course, program])
    session.flush()
    return World(session, platform, course, program)


@pytest.fixture
def world(session) -> World:
    w = make_world(session)
    lead = w.person("Lena", CourseRole.facilitator)
    fay = w.person("Fay", CourseRole.facilitator)
    w.program.settings = {"leads": [lead.id]}
    pat, quinn, sam = (w.person(n) for n in ("Pat", "Quinn", "Sam"))
    w.person("Oscar", CourseRole.observer)
    w.cohort("Literacy", facilitators=[fay], members=[pat, quinn])
    w.cohort("Math", members=[sam])
    session.flush()
    return w


@pytest.fixture(autouse=True)
def _uploads(app, tmp_path):
    old = app.config.get("UPLOAD_DIR")
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = old
