"""Who sees and does what in the protocol runner, on top of the course's ``Access``.

- A run and its record (problem of practice, files, contributions, debrief) are confidential: they exist only
  for the run's members, who are the people given a role in it and those who manage its cohort (its
  facilitators and the program's leads). Anyone else, another participant of the same cohort included,
  gets 404.
- Starting runs and giving roles: those who manage the cohort. Moving the live clock (start, pause, extend,
  advance, go back, finish): those who manage the cohort and whoever holds the run's facilitator role.
- The problem of practice: the presenter, and those who may move the clock.
- Copying and adapting scripts: the program's leads; everyone in the program may read the scripts.
"""
from __future__ import annotations

from lti_tool.course.access import Access
from lti_tool.errors import Forbidden, NotFound
from lti_tool.protocols.library import Role


def acting_role(access: Access, run, held: str | None) -> str | None:
    """The role ``access`` acts in: the one they hold, else facilitator for those who manage the cohort."""
    if held:
        return held
    return Role.facilitator.value if access.manages(run.cohort_id) else None


def require_run_member(access: Access, run, held: str | None) -> str:
    """Their acting role, or 404: a run does not exist for those outside it."""
    role = acting_role(access, run, held)
    if role is None or not access.in_program(run.program_id):
        raise NotFound("There is no such protocol run here.")
    return role


def may_control(access: Access, run, role: str | None) -> bool:
    return access.manages(run.cohort_id) or role == Role.facilitator.value


def require_controller(access: Access, run, role: str | None) -> None:
    if not may_control(access, run, role):
        raise Forbidden("Only the run's facilitator, the cohort's facilitators and the program's leads can move "
                        "the run on.")


def require_problem_editor(access: Access, run, role: str | None) -> None:
    if role != Role.presenter.value and not may_control(access, run, role):
        raise Forbidden("Only the presenter and the run's facilitators can change the problem of practice.")


def require_run_manager(access: Access, cohort) -> None:
    access.require_manager(cohort, "start protocol runs and give their roles")


def require_script_lead(access: Access) -> None:
    access.require_lead("copy and adapt protocol scripts")
