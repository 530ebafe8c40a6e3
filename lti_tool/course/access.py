"""Who is asking, and what they may do in a course's program: one ``Access`` per request, for every feature.

The rule, once:

- Only an **active member of the course** (the LMS's roster, through launches and NRPS) sees anything of the
  course's program; for anyone else it does not exist (404). Nothing crosses courses or platforms.
- **Staff** are the members the LMS calls Instructor or Teaching Assistant (``CourseRole.facilitator``). Staff
  see the course-wide pages that concern the LMS itself: the roster sync and the grades sent to the gradebook.
- **Leads** set the program up and manage every cohort. They are staff, and either named as leads in the
  program's settings or, while nobody is named, every staff member.
- A **cohort's facilitator** is whoever is named on that cohort (``CohortFacilitator``), *whatever their LMS
  role*: a participant whose proposal was accepted facilitates the cohort it became, and gets the same powers
  over that cohort as a staff facilitator would, in every feature: take and correct attendance and review
  make-ups, moderate its discussions, author the modules that are only for cohorts they facilitate, see its
  progress and reflections, review its applications. They do not become staff or leads.
- A cohort's **participants** hold an active seat in it. They see their cohorts' sessions, threads and
  modules, and their own records. Observers (LMS mentors and the like) read what a feature lets them read.

``manages(cohort)`` is therefore "lead, or named facilitator of that cohort", and it is the only test of
managing a cohort anywhere in the tool.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from lti_tool.course.zones import program_zone, viewer_zone
from lti_tool.errors import Forbidden, NotFound
from lti_tool.lti.models import Course, CourseRole, Membership, User
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus


def is_lead(program: Program, membership: Membership) -> bool:
    """A lead of ``program`` (see the module's rule): staff of its course, named or, while none is, any."""
    if membership.course_id != program.course_id or not membership.active:
        return False
    if membership.role is not CourseRole.facilitator:
        return False
    named = (program.settings or {}).get("leads")
    return not named or membership.id in named


@dataclass(frozen=True)
class Access:
    """A course member and what they may do in the course's program (``program`` None: not set up yet)."""

    membership: Membership
    program: Program | None
    lead: bool
    led: frozenset[int]          # cohorts they are named facilitator of
    managed: frozenset[int]      # cohorts they manage: every cohort for a lead, else ``led``
    seats: frozenset[int]        # cohorts they hold an active seat in
    zone: ZoneInfo               # the viewer's zone (their choice, else the program's)
    program_zone: ZoneInfo

    # -- who ------------------------------------------------------------------------------------------------
    @property
    def id(self) -> int:
        return self.membership.id

    @property
    def course(self) -> Course:
        return self.membership.course

    @property
    def course_id(self) -> int:
        return self.membership.course_id

    @property
    def user(self) -> User:
        return self.membership.user

    @property
    def role(self) -> CourseRole:
        return self.membership.role

    @property
    def staff(self) -> bool:
        return self.membership.role is CourseRole.facilitator

    @property
    def is_participant(self) -> bool:
        return self.membership.role is CourseRole.participant

    @property
    def is_observer(self) -> bool:
        return self.membership.role is CourseRole.observer

    # -- what -----------------------------------------------------------------------------------------------
    @property
    def manages_any(self) -> bool:
        """Leads, and anyone who facilitates a cohort: they see the facilitator side of each feature."""
        return self.lead or bool(self.led)

    def manages(self, cohort: Cohort | int | None) -> bool:
        """Lead, or named facilitator of ``cohort``. A program-wide thing (None) is managed by leads only."""
        if cohort is None:
            return self.lead
        if isinstance(cohort, int):
            return cohort in self.managed
        # A cohort made earlier in this request is the lead's too; another program's never is.
        return self._ours(cohort) and (self.lead or cohort.id in self.led)

    def sits_in(self, cohort: Cohort | int) -> bool:
        if isinstance(cohort, int):
            return cohort in self.seats
        return self._ours(cohort) and cohort.id in self.seats

    def _ours(self, cohort: Cohort) -> bool:
        return self.in_program(cohort.program_id)

    def sees(self, cohort: Cohort | int) -> bool:
        """A cohort's own sessions, threads and modules: those who manage it and those who sit in it."""
        return self.manages(cohort) or self.sits_in(cohort)

    def sees_person(self, person_id: int, person_cohorts: Iterable[int]) -> bool:
        """A person's own records (ledger, forecast, attendance): theirs, the leads', and those of whoever manages
        a cohort the person sits in."""
        return person_id == self.id or self.lead or any(self.manages(c) for c in person_cohorts)

    def require_sees_person(self, person_id: int, person_cohorts: Iterable[int]) -> None:
        """404, not 403, for anyone else: a participant cannot even learn whose records there are."""
        if not self.sees_person(person_id, person_cohorts):
            raise NotFound("There is no such person's record here.")

    @property
    def visible(self) -> frozenset[int]:
        """Every cohort whose own content they see."""
        return self.managed | self.seats

    def in_program(self, program_id: int | None) -> bool:
        """Whether a row of ``program_id`` is of this program (anything else does not exist for them)."""
        return self.program is not None and program_id == self.program.id

    def require_in_program(self, program_id: int | None, what: str = "thing") -> None:
        """404 for a row of another program: services re-check what a loader already scoped."""
        if not self.in_program(program_id):
            raise NotFound(f"There is no such {what} in this course.")

    def require_lead(self, what: str = "do this") -> None:
        if not self.lead:
            raise Forbidden(f"Only the program's leads can {what}.")

    def require_manager(self, cohort: Cohort | int | None, what: str = "do this") -> None:
        if not self.manages(cohort):
            if cohort is None:
                raise Forbidden(f"Only the program's leads can {what} for the whole program.")
            raise Forbidden(f"Only this cohort's facilitators and the program's leads can {what}.")

    def require_staff(self, what: str = "see this page") -> None:
        if not self.staff:
            raise Forbidden(f"Only the course's instructors can {what}.")


def access_for(session: Session, membership: Membership, program: Program | None = None, *,
               optional: bool = False) -> Access:
    """The ``Access`` of ``membership`` in its course's program (``program`` is loaded when not given): one
    query for every cohort with whether they facilitate it or sit in it. Works the same in requests, jobs
    and the CLI. Without a program: 404, or with ``optional`` an Access that manages nothing."""
    if program is None:
        program = session.scalar(select(Program).where(Program.course_id == membership.course_id))
    elif program.course_id != membership.course_id:
        raise NotFound("There is no such program in this course.")
    user = membership.user
    if program is None:
        if not optional:
            raise NotFound("This course has no Communities of Practice program yet. A facilitator sets it up "
                           "by opening the tool from the course.")
        zone = viewer_zone(None, user)
        return Access(membership, None, False, frozenset(), frozenset(), frozenset(), zone, program_zone(None))
    if not membership.active:
        led, seats, all_ids = frozenset(), frozenset(), frozenset()
    else:
        facilitates = exists().where(CohortFacilitator.cohort_id == Cohort.id,
                                     CohortFacilitator.membership_id == membership.id)
        seated = exists().where(CohortMember.cohort_id == Cohort.id, CohortMember.membership_id == membership.id,
                                CohortMember.status == SeatStatus.active)
        rows = session.execute(select(Cohort.id, facilitates, seated).where(Cohort.program_id == program.id)).all()
        all_ids = frozenset(r[0] for r in rows)
        led = frozenset(r[0] for r in rows if r[1])
        seats = frozenset(r[0] for r in rows if r[2])
    lead = is_lead(program, membership)
    return Access(membership, program, lead, led, all_ids if lead else led, seats,
                  viewer_zone(program, user), program_zone(program))
