"""Factories for the module tests: a course with a program (Aug 2030 – Jul 2031, New York), lead Lena,
facilitator Fay of "Literacy" (Pat, Quinn), "Math" (Sam) with no facilitator of its own, observer Oscar."""
from __future__ import annotations

import datetime as dt

import pytest

from lti_tool.course.access import Access, access_for
from lti_tool.lti.models import CourseRole
from lti_tool.modules import writes
from lti_tool.modules.models import ItemKind, ReleaseRule
from tests.factories import World as BaseWorld, make_world as _make_world

NOW = dt.datetime(2030, 10, 10, 15, 0, tzinfo=dt.timezone.utc)


class World(BaseWorld):
    def viewer(self, name: str) -> Access:
        return access_for(self.session, self.people[name], self.program)

    def module(self, title: str = "Week 1", cohorts=("Literacy",), items=(("page", "Welcome"),), **kw):
        module = writes.save_module(self.session, self.viewer("Lena"), title=title,
                                cohort_ids=[self.cohorts[c].id for c in cohorts],
                                release_rule=kw.pop("release_rule", ReleaseRule.by_hand),
                                released=kw.pop("released", True), **kw)
        for kind, item_title in items:
            extra = {"body": "Why?"} if kind == "reflection" else {}
            if kind == "reading":
                extra = {"url": "https://example.org/ch2"}
            writes.save_item(self.session, self.viewer("Lena"), module, kind=ItemKind(kind), title=item_title,
                         minutes=15, **extra)
        return module


def make_world(session, context: str = "course-a") -> World:
    return _make_world(session, context, world_cls=World, starts_on=dt.date(2030, 8, 1), ends_on=dt.date(2031, 7, 31))


def next_year_of(world, *cohort_names):
    """Next year's course on the same LMS, its program a year later, led by the same Lena."""
    lena = world.people["Lena"]
    next_year = make_world(world.session, "course-next")
    next_year.course.platform = world.platform
    next_year.program.starts_on, next_year.program.ends_on = dt.date(2031, 8, 1), dt.date(2032, 7, 31)
    lena_next = next_year.person("Lena", CourseRole.facilitator, user=lena.user)
    next_year.program.settings = {"leads": [lena_next.id]}
    for name in cohort_names:
        next_year.cohort(name)
    world.session.flush()
    return next_year, lena_next


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
