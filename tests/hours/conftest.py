"""The PD-hours and certificate tests' world: lead Lena, facilitator Fay of "Literacy" (Pat, Quinn), "Math"
(Sam), an observer; the program's statuses; sessions in October 2030 (times fixed, never now)."""
from __future__ import annotations

import datetime as dt

import pytest

from lti_tool.attendance import writes as attendance
from lti_tool.extensions import limiter_for
from lti_tool.hours import writes as hours
from tests.factories import World, literacy_world

T0 = dt.datetime(2030, 10, 10, 19, 0, tzinfo=dt.timezone.utc)     # 3 pm in New York


@pytest.fixture
def world(session) -> World:
    return build_world(session)


def build_world(session) -> World:
    """The world above (the completion tests start from it too), with the program's attendance statuses."""
    w = literacy_world(session)
    attendance.ensure_statuses(session, w.program)
    session.flush()
    return w


def profile(session, w: World, **changes):
    """Save the program's profile through the service, as the lead."""
    fields = dict(unit="clock_hour", rounding="down_quarter", caps={}, reading_minutes=60, excused_percent=0,
                  provider="State Leadership Academy", location="Virtual", signer_name="Dr. Lena Ortiz",
                  signer_title="Program director", certificates_enabled=True)
    fields.update(changes)
    return hours.save_profile(session, w.access("Lena"), **fields)


def mark(session, w: World, meeting, who: str, key: str, cohort="Literacy"):
    return attendance.mark_attendance(session, w.access("Fay" if cohort == "Literacy" else "Lena"), meeting,
                                      w.cohorts[cohort], w.people[who].id, key)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    limiter_for(app).reset()
    yield
