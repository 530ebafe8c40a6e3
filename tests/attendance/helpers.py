"""Demo data on top of real launches: the sandbox course's program with a cohort run by demo-facilitator-1,
participants who launched, and sessions around now (used by the view and browser tests)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from lti_tool.db import db, utcnow
from lti_tool.lti.models import Membership, User
from lti_tool.programs.models import Program
from tests.factories import CohortFacilitatorFactory, CohortFactory, CohortMemberFactory, MeetingFactory


@dataclass
class Demo:
    course_id: int
    cohort_id: int
    other_cohort_id: int
    now_meeting: int          # in its check-in window now
    past_meetings: list[int]
    future_meetings: list[int]
    other_meeting: int        # of the other cohort, now
    members: dict[str, int]   # sub → membership id


def membership_of(sub: str, course_id: int) -> Membership:
    return db.session.scalar(select(Membership).join(User).where(User.sub == sub, Membership.course_id == course_id))


def build(app, course_id: int, participant_subs: list[str], facilitator: str = "demo-facilitator-1",
          other_members: list[str] = (), past: int = 2, future: int = 3) -> Demo:
    with app.app_context():
        s = db.session
        lead = membership_of(facilitator, course_id)
        program = s.scalar(select(Program).where(Program.course_id == course_id))
        program.settings = {"leads": [lead.id]}
        cohort = CohortFactory(program=program, name="Principals")
        other = CohortFactory(program=program, name="Coaches")
        CohortFacilitatorFactory(cohort=cohort, membership=lead)
        members = {}
        for c, subs in ((cohort, participant_subs), (other, other_members)):
            for sub in subs:
                m = membership_of(sub, course_id)
                members[sub] = m.id
                CohortMemberFactory(cohort=c, membership=m)
        now = utcnow().replace(microsecond=0)

        def meeting(start, c, title):
            return MeetingFactory(program=program, cohort=c, title=title, starts_at=start).id

        past_ids = [meeting(now - dt.timedelta(days=30 * (past - i)), cohort, f"Session {i + 1}") for i in range(past)]
        now_id = meeting(now - dt.timedelta(minutes=5), cohort, "Today's session")
        future_ids = [meeting(now + dt.timedelta(days=30 * (i + 1)), cohort if i % 2 else None, f"Later {i + 1}")
                      for i in range(future)]
        other_id = meeting(now - dt.timedelta(minutes=5), other, "Coaches today")
        s.commit()
        return Demo(course_id, cohort.id, other.id, now_id, past_ids, future_ids, other_id, members)
