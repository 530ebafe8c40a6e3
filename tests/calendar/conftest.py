"""Small factories for calendar tests: a course with a program, cohorts, and people in them."""
from __future__ import annotations

import pytest

from lti_tool.lti.models import CourseRole, Platform
from tests.factories import PlatformFactory, World, acting, make_world as _make_world

LMS = "https://lms.example.edu"
__all__ = ["acting", "make_world"]


def make_world(session, timezone: str = "America/New_York", context: str = "course-a") -> World:
    """Courses of these tests share one platform (cross-course checks on the same LMS)."""
    platform = session.query(Platform).filter_by(issuer=LMS).one_or_none() or PlatformFactory(issuer=LMS)
    return _make_world(session, context, timezone=timezone, platform=platform)


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
