"""The programs tests' world: a course with people and no program yet (a facilitator's first launch makes it,
as ``make_program`` does through the services), and cohorts made through the services."""
from __future__ import annotations

import datetime as dt

import pytest

from lti_tool.lti.models import Membership
from lti_tool.programs import writes
from tests.factories import World, acting, make_world

NOW = dt.datetime(2026, 9, 15, 16, 0, tzinfo=dt.timezone.utc)
__all__ = ["NOW", "acting", "course_world", "make_cohort", "make_program"]


def course_world(session) -> World:
    return make_world(session, "Course A", with_program=False)


@pytest.fixture
def world(session) -> World:
    return course_world(session)


def make_program(session, lead: Membership):
    program = writes.ensure_program(session, lead)
    program.timezone = "America/New_York"
    session.flush()
    return program


def make_cohort(session, lead: Membership, program, name: str = "Principals", capacity: int = 20,
                mode: str = "open", facilitators: list[Membership] | None = None, **kw):
    return writes.create_cohort(session, acting(session, lead), name=name, capacity=capacity, signup_mode=mode,
                                facilitator_ids=[m.id for m in (facilitators or [lead])], **kw)
