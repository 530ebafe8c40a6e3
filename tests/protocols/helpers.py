"""Demo data on top of real launches for the protocol view and browser tests: the sandbox course's "Principals"
cohort (demo-facilitator-1 facilitates and leads; Aisha, Ben and Chloé sit in it) and "Coaches" (Daniel), and a
live Consultancy run in which Aisha presents and Ben takes part (Chloé is not in it)."""
from __future__ import annotations

from dataclasses import dataclass

from lti_tool.course.access import access_for
from lti_tool.db import db
from lti_tool.protocols import writes
from lti_tool.protocols.queries import builtin_ref
from tests.attendance.helpers import build, membership_of

FAC, P1, P2, P3, P4 = ("demo-facilitator-1", "demo-participant-1", "demo-participant-2", "demo-participant-3",
                       "demo-participant-4")


@dataclass
class ProtocolDemo:
    course_id: int
    cohort_id: int
    run_id: int
    members: dict[str, int]
    now_meeting: int = 0           # a session of the cohort in its check-in window (its page has a form)

    def url(self, rest: str = "") -> str:
        return f"/c/{self.course_id}/protocols{rest}"

    def checkin(self) -> str:
        return f"/c/{self.course_id}/attendance/meetings/{self.now_meeting}/checkin"

    def run_url(self, rest: str = "") -> str:
        return self.url(f"/runs/{self.run_id}{rest}")


def make_demo(app, course_id: int, *, mode: str = "live", **options) -> ProtocolDemo:
    d = build(app, course_id, [P1, P2, P3], other_members=[P4], past=0, future=0)
    with app.app_context():
        s = db.session
        lead = access_for(s, membership_of(FAC, course_id))
        roles = {d.members[P1]: "presenter", d.members[P2]: "participant", lead.id: "facilitator"}
        run = writes.create_run(s, lead, builtin_ref("consultancy"), cohort_id=d.cohort_id, roles=roles,
                                mode=mode, title="Consultancy: reading conferences", **options)
        s.commit()
        members = dict(d.members, **{FAC: lead.id})
        return ProtocolDemo(course_id, d.cohort_id, run.id, members, d.now_meeting)
