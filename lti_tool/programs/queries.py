"""What the program pages show, read in a fixed number of queries: the course's program and members, its
cohorts with their fill levels, a cohort's page (the viewer's place; roster, candidates and groups for those
who manage it), applications, small groups and proposals, and the scoped loaders that answer 404 for
anything outside the viewer's course."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from lti_tool.course.access import Access
from lti_tool.db import utcnow
from lti_tool.errors import Forbidden, NotFound
from lti_tool.lti.models import Course, CourseRole, Membership, User
from lti_tool.programs import permissions
from lti_tool.programs.models import (
    Application, ApplicationStatus, Cohort, CohortFacilitator, CohortMember, Program, Proposal, SeatStatus,
    SmallGroup, SmallGroupMember,
)

# -- the program and its people --------------------------------------------------------------------------------

def program_for_course(session: Session, course: Course) -> Program | None:
    return session.scalar(select(Program).where(Program.course_id == course.id))


def named_leads(program: Program) -> list[int]:
    """Membership ids of the named leads; empty when every staff member of the course leads."""
    return list((program.settings or {}).get("leads") or [])


def proposals_open(program: Program, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return (program.proposals_open_at is not None and program.proposals_open_at <= now
            and (program.proposals_close_at is None or now < program.proposals_close_at))


def course_members(session: Session, course_id: int, roles: Iterable[CourseRole] | None = None) -> list[Membership]:
    """Active members of a course, by name, with their users loaded (one query)."""
    query = (select(Membership).join(Membership.user).options(selectinload(Membership.user))
             .where(Membership.course_id == course_id, Membership.active.is_(True))
             .order_by(User.name, User.family_name, Membership.id))
    if roles:
        query = query.where(Membership.role.in_(list(roles)))
    return list(session.scalars(query))


# -- cohorts ---------------------------------------------------------------------------------------------------

def get_cohort(session: Session, access: Access, cohort_id: int) -> Cohort:
    """A cohort of the viewer's course, facilitators and questions loaded (404 for any other id, so other
    courses' cohorts stay invisible). Every member may open a cohort's page: it is where they sign up."""
    cohort = session.scalar(
        select(Cohort).join(Cohort.program)
        .options(selectinload(Cohort.facilitators).selectinload(CohortFacilitator.membership)
                 .selectinload(Membership.user), selectinload(Cohort.questions))
        .where(Cohort.id == cohort_id, Program.course_id == access.course_id))
    if cohort is None:
        raise NotFound("There is no such cohort in this course.")
    return cohort


def managed_cohorts(session: Session, access: Access) -> list[Cohort]:
    """The cohorts ``access`` manages (``Access.manages``: every one for a lead, else those they are named
    facilitator of), by name: the one list every feature's "your cohorts" pages start from."""
    if not access.managed or access.program is None:
        return []
    return list(session.scalars(select(Cohort).where(Cohort.program_id == access.program.id,
                                                     Cohort.id.in_(sorted(access.managed)))
                                .order_by(Cohort.name, Cohort.id)))


def cohorts_of_course(session: Session, course_id: int, cohort_id: int | None = None) -> list[Cohort]:
    """The cohorts of a course's program by name (only ``cohort_id``, if given): what deep linking offers."""
    query = select(Cohort).join(Cohort.program).where(Program.course_id == course_id).order_by(Cohort.name)
    if cohort_id is not None:
        query = query.where(Cohort.id == cohort_id)
    return list(session.scalars(query))


@dataclass
class CohortSummary:
    cohort: Cohort
    active: int
    waiting: int
    pending_applications: int

    @property
    def is_full(self) -> bool:
        return self.active >= self.cohort.capacity


def cohort_summaries(session: Session, program: Program) -> list[CohortSummary]:
    """Every cohort of the program with its fill level, waiting list and open applications: one query for
    the counts (aggregates), one for the facilitators, whatever the number of cohorts."""
    seats = (select(CohortMember.cohort_id.label("cohort_id"),
                    func.sum(case((CohortMember.status == SeatStatus.active, 1), else_=0)).label("active"),
                    func.sum(case((CohortMember.status == SeatStatus.waitlisted, 1), else_=0)).label("waiting"))
             .group_by(CohortMember.cohort_id).subquery())
    apps = (select(Application.cohort_id.label("cohort_id"), func.count().label("pending"))
            .where(Application.status == ApplicationStatus.submitted)
            .group_by(Application.cohort_id).subquery())
    rows = session.execute(
        select(Cohort, func.coalesce(seats.c.active, 0), func.coalesce(seats.c.waiting, 0),
               func.coalesce(apps.c.pending, 0))
        .outerjoin(seats, seats.c.cohort_id == Cohort.id)
        .outerjoin(apps, apps.c.cohort_id == Cohort.id)
        .options(selectinload(Cohort.facilitators).selectinload(CohortFacilitator.membership)
                 .selectinload(Membership.user))
        .where(Cohort.program_id == program.id)
        .order_by(Cohort.name)).all()
    return [CohortSummary(c, int(a), int(w), int(p)) for c, a, w, p in rows]


# -- seats -----------------------------------------------------------------------------------------------------

def active_count(session: Session, cohort: Cohort) -> int:
    return session.scalar(select(func.count()).select_from(CohortMember).where(
        CohortMember.cohort_id == cohort.id, CohortMember.status == SeatStatus.active)) or 0


def seat_of(session: Session, cohort: Cohort, membership: Membership) -> CohortMember | None:
    """The seat row (any status) of a person in a cohort."""
    return session.scalar(select(CohortMember).where(CohortMember.cohort_id == cohort.id,
                                                     CohortMember.membership_id == membership.id))


def waitlist_position(session: Session, seat: CohortMember) -> int | None:
    """1 for the first person waiting; None when the seat is not on the waiting list."""
    if seat.status is not SeatStatus.waitlisted:
        return None
    ahead = session.scalar(select(func.count()).select_from(CohortMember).where(
        CohortMember.cohort_id == seat.cohort_id, CohortMember.status == SeatStatus.waitlisted,
        (CohortMember.waitlisted_at < seat.waitlisted_at)
        | and_(CohortMember.waitlisted_at == seat.waitlisted_at, CohortMember.id < seat.id)))
    return (ahead or 0) + 1


def seats_by_status(session: Session, cohort: Cohort) -> dict[SeatStatus, list[CohortMember]]:
    """The cohort's people grouped by status (waiting list in order), users loaded: one query."""
    seats = session.scalars(
        select(CohortMember).options(selectinload(CohortMember.membership).selectinload(Membership.user))
        .where(CohortMember.cohort_id == cohort.id)
        .order_by(CohortMember.waitlisted_at, CohortMember.joined_at, CohortMember.id))
    grouped: dict[SeatStatus, list[CohortMember]] = {s: [] for s in SeatStatus}
    for seat in seats:
        grouped[seat.status].append(seat)
    for status in (SeatStatus.active, SeatStatus.invited, SeatStatus.withdrawn, SeatStatus.removed):
        grouped[status].sort(key=lambda s: s.membership.user.display_name.lower())
    return grouped


def my_waitlist_positions(session: Session, access: Access) -> dict[int, int]:
    """cohort id → the viewer's position on its waiting list, for every list they are on: one query."""
    mine = (select(CohortMember.cohort_id, CohortMember.waitlisted_at, CohortMember.id)
            .join(Cohort).where(Cohort.program_id == access.program.id, CohortMember.membership_id == access.id,
                                CohortMember.status == SeatStatus.waitlisted).subquery())
    other = CohortMember.__table__.alias("other")
    rows = session.execute(
        select(mine.c.cohort_id, func.count(other.c.id))
        .join(other, and_(other.c.cohort_id == mine.c.cohort_id, other.c.status == SeatStatus.waitlisted.value,
                          (other.c.waitlisted_at < mine.c.waitlisted_at)
                          | and_(other.c.waitlisted_at == mine.c.waitlisted_at, other.c.id <= mine.c.id)))
        .group_by(mine.c.cohort_id)).all()
    return {cohort_id: int(n) for cohort_id, n in rows}


# -- the cohort page -------------------------------------------------------------------------------------------

@dataclass
class CohortPage:
    """A cohort as its page shows it to this viewer. ``roster``, ``candidates`` and ``groups`` are filled only
    for those who manage the cohort."""

    cohort: Cohort
    active: int
    manager: bool
    lead: bool
    facilitating: bool               # named on the cohort (they cannot also sign up for it)
    seat: CohortMember | None
    position: int | None
    application: Application | None
    roster: dict[SeatStatus, list[CohortMember]] | None = None
    candidates: list[Membership] = field(default_factory=list)   # whom a manager may add or invite
    groups: list[SmallGroup] = field(default_factory=list)

    @property
    def program(self) -> Program:
        return self.cohort.program


def cohort_page(session: Session, access: Access, cohort: Cohort) -> CohortPage:
    """The viewer's place in ``cohort`` and, for its managers, its people: a fixed number of queries."""
    seat = seat_of(session, cohort, access.membership)
    page = CohortPage(cohort, active_count(session, cohort), access.manages(cohort), access.lead,
                      any(f.membership_id == access.id for f in cohort.facilitators), seat,
                      waitlist_position(session, seat) if seat else None,
                      application_of(session, cohort, access.membership))
    if page.manager:
        page.roster = seats_by_status(session, cohort)
        present = {s.membership_id for status in (SeatStatus.active, SeatStatus.waitlisted, SeatStatus.invited)
                   for s in page.roster[status]}
        present |= {f.membership_id for f in cohort.facilitators}
        page.candidates = [m for m in course_members(session, cohort.program.course_id)
                           if m.role is not CourseRole.observer and m.id not in present]
        page.groups = small_groups(session, cohort)
    return page


# -- applications ----------------------------------------------------------------------------------------------

def application_of(session: Session, cohort: Cohort, membership: Membership) -> Application | None:
    """A person's application to a cohort (any status)."""
    return session.scalar(select(Application).where(Application.cohort_id == cohort.id,
                                                    Application.membership_id == membership.id))


def get_application(session: Session, access: Access, application_id: int) -> Application:
    """An application, for its applicant and those who manage its cohort (another course's: 404; anyone
    else here: 403)."""
    application = session.scalar(
        select(Application).join(Application.cohort).join(Cohort.program)
        .options(selectinload(Application.membership).selectinload(Membership.user))
        .where(Application.id == application_id, Program.course_id == access.course_id))
    if application is None:
        raise NotFound("There is no such application in this course.")
    if not permissions.sees_application(access, application):
        raise Forbidden("Application answers are seen only by the applicant and the cohort's reviewers.")
    return application


def list_applications(session: Session, access: Access, cohort: Cohort) -> list[Application]:
    """All applications to a cohort, for its reviewers (leads and the cohort's facilitators)."""
    access.require_manager(cohort, "see its applications")
    order = case((Application.status == ApplicationStatus.submitted, 0), else_=1)
    return list(session.scalars(
        select(Application).options(selectinload(Application.membership).selectinload(Membership.user))
        .where(Application.cohort_id == cohort.id).order_by(order, Application.submitted_at, Application.id)))


# -- small groups ----------------------------------------------------------------------------------------------

def small_groups(session: Session, cohort: Cohort) -> list[SmallGroup]:
    return list(session.scalars(
        select(SmallGroup).options(selectinload(SmallGroup.members).selectinload(SmallGroupMember.membership)
                                   .selectinload(Membership.user))
        .where(SmallGroup.cohort_id == cohort.id).order_by(SmallGroup.id)))


# -- proposals -------------------------------------------------------------------------------------------------

def get_proposal(session: Session, access: Access, proposal_id: int) -> Proposal:
    """A proposal, for its proposer and the program's leads."""
    proposal = session.scalar(
        select(Proposal).join(Proposal.program)
        .options(selectinload(Proposal.proposer).selectinload(Membership.user))
        .where(Proposal.id == proposal_id, Program.course_id == access.course_id))
    if proposal is None:
        raise NotFound("There is no such proposal in this course.")
    if not permissions.sees_proposal(access, proposal):
        raise Forbidden("A proposal is seen only by its proposer and the program's leads.")
    return proposal


def list_proposals(session: Session, access: Access) -> list[Proposal]:
    """Every proposal of the program for a lead; one's own for anyone else."""
    query = (select(Proposal).options(selectinload(Proposal.proposer).selectinload(Membership.user))
             .where(Proposal.program_id == access.program.id)
             .order_by(Proposal.created_at.desc(), Proposal.id.desc()))
    if not access.lead:
        query = query.where(Proposal.proposer_id == access.id)
    return list(session.scalars(query))
