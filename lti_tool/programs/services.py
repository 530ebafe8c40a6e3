"""Temporary, until the slices of issue 11 are merged: what the other slices' branches still import from here.
The programs feature itself lives in ``writes``, ``queries`` and ``permissions``; the rule of who may do what
in ``lti_tool.course.access``. Neither programs nor calendar imports this module."""
from __future__ import annotations

from sqlalchemy.orm import Session

from lti_tool.course.access import access_for, is_lead  # noqa: F401 - temporary, for other slices
from lti_tool.lti.models import Membership
from lti_tool.programs import queries
from lti_tool.programs.models import Cohort
from lti_tool.programs.queries import course_members, program_for_course  # noqa: F401 - temporary, for other slices
from lti_tool.programs.writes import ensure_program  # noqa: F401 - temporary, for other slices


def can_manage_cohort(session: Session, cohort: Cohort, membership: Membership) -> bool:
    """Temporary, for other slices: ``access_for(session, membership).manages(cohort)``."""
    if membership.course_id != cohort.program.course_id or not membership.active:
        return False
    return access_for(session, membership, cohort.program).manages(cohort)


def get_cohort(session: Session, actor: Membership, cohort_id: int) -> Cohort:
    """Temporary, for other slices: ``queries.get_cohort`` (it reads only the course of ``actor``)."""
    return queries.get_cohort(session, actor, cohort_id)  # type: ignore[arg-type]
