"""The completion tests' world: the PD-hours world (lead Lena, facilitator Fay of "Literacy" with Pat and Quinn,
"Math" with Sam, the program's statuses) and eight Literacy sessions in 2030 (all in the future: marks make them
count; times fixed, never now)."""
from __future__ import annotations

import datetime as dt

import pytest

from lti_tool.attendance import writes as attendance
from lti_tool.completion import writes
from tests.factories import World
from tests.hours.conftest import _fresh_rate_limits, build_world  # noqa: F401  (a fixture)

T0 = dt.datetime(2030, 10, 10, 19, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def world(session) -> World:
    w = build_world(session)
    w.sessions = [w.meeting(T0 + dt.timedelta(days=30 * i), w.cohorts["Literacy"], title=f"Session {i + 1}")
                  for i in range(8)]
    session.flush()
    return w


def mark(session, w: World, index: int, who: str, key: str):
    return attendance.mark_attendance(session, w.access("Fay"), w.sessions[index], w.cohorts["Literacy"],
                                      w.people[who].id, key)


def apply_rule(session, w: World, tree, cohort_id=None):
    """Save the tree as a draft and apply it, as the lead; committed, so the recompute job has run."""
    version = writes.save_draft(session, w.access("Lena"), cohort_id, tree)
    writes.apply_draft(session, w.access("Lena"), version.id)
    session.commit()
    return version
