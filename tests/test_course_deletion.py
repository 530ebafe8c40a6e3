"""A course deleted with everything in it (an LMS course removed, or a test platform cleaned up): one DELETE of the
course takes its program and every feature's rows, on SQLite and on PostgreSQL, although those rows also point at
memberships that are deleted in the same statement (SET NULL on a row its program's cascade removes)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select

from lti_tool.certificates import writes as certificates
from lti_tool.certificates.models import Certificate
from lti_tool.completion.models import CompletionState, RuleVersion
from lti_tool.hours import writes as hours
from lti_tool.hours.models import ManualLine
from lti_tool.lti.models import Course
from lti_tool.programs.models import Program
from tests.completion.conftest import _fresh_rate_limits, apply_rule, mark, world  # noqa: F401  (fixtures)
from tests.hours.conftest import profile


def test_deleting_a_course_takes_certificates_hours_lines_and_the_completion_rule(session, world):
    w = world
    profile(session, w)
    apply_rule(session, w, {"op": "all", "children": [{"kind": "sessions", "n": 1}]})
    mark(session, w, 0, "Pat", "P")
    hours.add_manual_line(session, w.access("Lena"), w.people["Quinn"].id, category="other",
                          on_date=dt.date(2030, 10, 1), minutes=60, title="Conference", reason="Sign-in sheet")
    certificates.issue_by_hand(session, w.access("Lena"), w.people["Quinn"].id, "https://tool.example",
                               "Issued by hand")
    session.commit()
    assert session.scalar(select(func.count()).select_from(Certificate)) == 2     # Pat's by the rule, Quinn's
    session.execute(delete(Course).where(Course.id == w.course.id))
    session.commit()
    for model in (Program, Certificate, ManualLine, RuleVersion, CompletionState):
        assert session.scalar(select(func.count()).select_from(model)) == 0, model.__name__


def test_deleting_a_course_takes_its_protocol_runs_and_their_contributions(session):
    from lti_tool.protocols import writes as protocols
    from lti_tool.protocols.models import Contribution, ProtocolRun
    from tests.factories import literacy_world
    from tests.protocols.conftest import T0, consultancy, loaded

    w = literacy_world(session, literacy=("Pat", "Quinn", "Rosa"))
    run = consultancy(session, w)
    protocols.control(session, w.access("Fay"), loaded(session, w, "Fay", run), "start", run.version, now=T0)
    protocols.control(session, w.access("Fay"), loaded(session, w, "Fay", run), "advance", run.version, now=T0)
    protocols.contribute(session, w.access("Quinn"), loaded(session, w, "Quinn", run), 2, "How many students?",
                         now=T0 + dt.timedelta(minutes=1))
    session.commit()
    session.execute(delete(Course).where(Course.id == w.course.id))
    session.commit()
    for model in (ProtocolRun, Contribution):
        assert session.scalar(select(func.count()).select_from(model)) == 0, model.__name__
