"""The protocol runner's PD-hours source (``hours.sources.register_source``, connected in ``create_app``): each
finished run a person held a role in credits the run's planned minutes, as "Protocols", dated the day it
finished in the program's zone. One query for everyone at once."""
from __future__ import annotations

from sqlalchemy.orm import Session

from lti_tool.course.zones import program_zone
from lti_tool.hours.ledger import Line
from lti_tool.hours.models import Category, HoursProfile
from lti_tool.programs.models import Program
from lti_tool.protocols.library import Role
from lti_tool.protocols.queries import completion_counts, finished_runs_of


def protocol_lines(session: Session, program: Program, membership_ids: list[int],
                   profile: HoursProfile) -> dict[int, list[Line]]:
    zone = program_zone(program)
    out: dict[int, list[Line]] = {}
    for mid, role, run in finished_runs_of(session, program, membership_ids):
        finished = run.completed_at or run.closes_at
        out.setdefault(mid, []).append(Line(
            Category.protocol, finished.astimezone(zone).date(), run.total_minutes, run.title, "protocol_run",
            run.id, f"{Role(role).label} in a {run.mode.label.lower()} {run.script_name} run "
                    f"({run.total_minutes} min planned)",
            ("protocols.run", (("course_id", program.course_id), ("run_id", run.id)))))
    return out


def completion_runs(session: Session, program: Program, membership_ids) -> dict[int, tuple[int, None]]:
    """The completion rule's count of runs taken part in (``queries.completion_counts``), with no upper limit on
    more: a facilitator can always start another run, so a criterion over runs is never "can no longer meet"."""
    return {mid: (done, None) for mid, (done, _left) in completion_counts(session, program, membership_ids).items()}
