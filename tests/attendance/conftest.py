"""Factories for the attendance tests: a course with a program, a lead, a facilitator, two cohorts with
participants, and sessions (built straight from the models, as the calendar tests do)."""
from __future__ import annotations

import datetime as dt

import pytest

from lti_tool.attendance import writes
from lti_tool.extensions import limiter_for
from lti_tool.lti.models import CourseRole
from tests.factories import World, make_world

NOW = dt.datetime(2030, 10, 10, 19, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def world(session) -> World:
    """Lead Lena; facilitator Fay runs "Literacy" (Pat, Quinn, Rosa); "Math" has Sam; Oscar observes. The
    program has its default statuses."""
    w = make_world(session)
    lead = w.person("Lena", CourseRole.facilitator)
    fay = w.person("Fay", CourseRole.facilitator)
    w.program.settings = {"leads": [lead.id]}
    pat, quinn, rosa, sam = (w.person(n) for n in ("Pat", "Quinn", "Rosa", "Sam"))
    w.person("Oscar", CourseRole.observer)
    w.cohort("Literacy", facilitators=[fay], members=[pat, quinn, rosa])
    w.cohort("Math", members=[sam])
    writes.ensure_statuses(session, w.program)      # as the first visit of an attendance page does
    session.flush()
    return w


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    limiter_for(app).reset()
    yield
