"""The book-study tests' world: a course with a program, cohorts and people (tests/factories.py), a book with
readings (through the services), and the discussion viewer of a person in a cohort."""
from __future__ import annotations

import datetime as dt

import pytest

from lti_tool.discussions import permissions as p, writes as w
from lti_tool.discussions.models import PostFirst
from lti_tool.lti.models import CourseRole
from tests.factories import World as BaseWorld, make_world as _make_world

NOW = dt.datetime(2026, 10, 7, 15, 0, tzinfo=dt.timezone.utc)      # a Wednesday, 11:00 in New York
TODAY = dt.date(2026, 10, 7)


class World(BaseWorld):
    def viewer(self, name: str, cohort: str = "Literacy") -> p.Viewer:
        return p.viewer_for(self.session, self.people[name], self.cohorts[cohort])


def make_world(session, context: str = "course-a") -> World:
    return _make_world(session, context, world_cls=World)


@pytest.fixture
def world(session) -> World:
    """Lead Lena; facilitator Fay runs "Literacy" (Pat, Ann, Bo); "Math" has Quinn; Oscar observes."""
    w = make_world(session)
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
