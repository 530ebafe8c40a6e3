"""Program operations: the program of a course, who leads it, and permission predicates used by every
feature. Functions take the session and the acting membership; they flush, never commit."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.errors import Forbidden
from lti_tool.lti.models import Course, CourseRole, Membership
from lti_tool.programs.models import Cohort, CohortFacilitator, Program


def program_for_course(session: Session, course: Course) -> Program | None:
    return session.scalar(select(Program).where(Program.course_id == course.id))


def ensure_program(session: Session, actor: Membership) -> Program | None:
    """The course's program; created at the first facilitator launch (participants wait for it)."""
    program = program_for_course(session, actor.course)
    if program is None and actor.role is CourseRole.facilitator:
        today = dt.date.today()
        start_year = today.year if today.month >= 7 else today.year - 1
        program = Program(
            course_id=actor.course_id,
            title=f"Communities of Practice — {actor.course.display_title}"[:200],
            year_label=f"{start_year}–{str(start_year + 1)[-2:]}",
            starts_on=dt.date(start_year, 8, 1), ends_on=dt.date(start_year + 1, 7, 31),
        )
        session.add(program)
        session.flush()
    return program


def is_lead(program: Program, membership: Membership) -> bool:
    """Leads set the program up. By default every facilitator of the course; a lead may name them."""
    if membership.course_id != program.course_id or not membership.active:
        return False
    if membership.role is not CourseRole.facilitator:
        return False
    named = (program.settings or {}).get("leads")
    return not named or membership.id in named


def require_lead(program: Program, membership: Membership) -> None:
    if not is_lead(program, membership):
        raise Forbidden("Only the program's leads can do this.")


def facilitates(session: Session, cohort: Cohort, membership: Membership) -> bool:
    return session.scalar(select(CohortFacilitator.id).where(
        CohortFacilitator.cohort_id == cohort.id, CohortFacilitator.membership_id == membership.id)) is not None


def can_manage_cohort(session: Session, cohort: Cohort, membership: Membership) -> bool:
    """Leads manage every cohort of their program; a facilitator only the cohorts they facilitate."""
    if membership.course_id != cohort.program.course_id or not membership.active:
        return False
    return is_lead(cohort.program, membership) or facilitates(session, cohort, membership)


def require_cohort_manager(session: Session, cohort: Cohort, membership: Membership) -> None:
    if not can_manage_cohort(session, cohort, membership):
        raise Forbidden("Only this cohort's facilitators and the program's leads can do this.")
