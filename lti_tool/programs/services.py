"""Program operations: the program of a course, who leads it, cohorts and their seats (open sign-up with a
waiting list, applications, invitations), small groups and facilitator proposals, and the permission
predicates used by every feature. Functions take the session and the acting membership; they check
permissions, validate, change models and flush, never commit."""
from __future__ import annotations

import datetime as dt
import math
import random
import zoneinfo
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from lti_tool.db import utcnow
from lti_tool.errors import Conflict, DomainError, Forbidden, NotFound
from lti_tool.lti.models import Course, CourseRole, Membership, User
from lti_tool.programs.models import (
    Application, ApplicationQuestion, ApplicationStatus, Cohort, CohortFacilitator, CohortKind, CohortMember,
    Program, Proposal, ProposalStatus, SeatStatus, SignupMode, SmallGroup, SmallGroupMember,
)

DEFAULT_CAPACITY = 20


class InvalidInput(DomainError):
    """Input a person can correct; ``field`` names the form field the message belongs to, if any."""

    status = 400
    title = "Please check what you entered"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# -- the program -------------------------------------------------------------------------------------------

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
            settings={},
        )
        session.add(program)
        session.flush()
    return program


def get_program(session: Session, actor: Membership) -> Program:
    """The program of the actor's course, or 404 while no facilitator has opened the tool yet."""
    program = program_for_course(session, actor.course)
    if program is None:
        raise NotFound("This course has no Communities of Practice program yet. A facilitator sets it up "
                       "by opening the tool from the course.")
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


def named_leads(program: Program) -> list[int]:
    """Membership ids of the named leads; empty when every course facilitator leads."""
    return list((program.settings or {}).get("leads") or [])


def check_timezone(name: str) -> str:
    name = (name or "").strip()
    try:
        if not name or name not in zoneinfo.available_timezones():
            raise KeyError(name)
        zoneinfo.ZoneInfo(name)
    except (KeyError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise InvalidInput(f"“{name}” is not a time zone we know. Use a name such as America/New_York or "
                           "Europe/Berlin.", field="timezone") from None
    return name


def to_utc(program: Program, local: dt.datetime | None) -> dt.datetime | None:
    """A wall-clock time entered in the program's time zone → an aware UTC datetime."""
    if local is None:
        return None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zoneinfo.ZoneInfo(program.timezone))
    return local.astimezone(dt.timezone.utc)


def to_local(program: Program, value: dt.datetime | None) -> dt.datetime | None:
    """A stored UTC datetime as wall-clock time in the program's zone (aware)."""
    return value.astimezone(zoneinfo.ZoneInfo(program.timezone)) if value is not None else None


def course_members(session: Session, course_id: int, roles: Iterable[CourseRole] | None = None) -> list[Membership]:
    """Active members of a course, by name, with their users loaded (one query)."""
    query = (select(Membership).join(Membership.user).options(selectinload(Membership.user))
             .where(Membership.course_id == course_id, Membership.active.is_(True))
             .order_by(User.name, User.family_name, Membership.id))
    if roles:
        query = query.where(Membership.role.in_(list(roles)))
    return list(session.scalars(query))


def _course_member(session: Session, course_id: int, membership_id: int, field: str | None = None) -> Membership:
    member = session.get(Membership, membership_id)
    if member is None or member.course_id != course_id or not member.active:
        raise InvalidInput("That person is not an active member of this course.", field=field)
    return member


def update_program(session: Session, actor: Membership, program: Program, *, title: str, year_label: str = "",
                   description: str = "", timezone: str, starts_on: dt.date | None = None,
                   ends_on: dt.date | None = None, proposals_open_at: dt.datetime | None = None,
                   proposals_close_at: dt.datetime | None = None, leads: list[int] | None = None) -> Program:
    """Edit the program (leads only). Naive proposal-window times are read in the (new) program time zone.

    ``leads``: None or [] → every course facilitator leads; otherwise the named facilitators' membership ids.
    """
    require_lead(program, actor)
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give the program a title.", field="title")
    timezone = check_timezone(timezone)
    if starts_on and ends_on and ends_on < starts_on:
        raise InvalidInput("The program ends before it starts: choose an end date after the start date.",
                           field="ends_on")
    zone = zoneinfo.ZoneInfo(timezone)
    opens = proposals_open_at.replace(tzinfo=zone) if proposals_open_at and not proposals_open_at.tzinfo \
        else proposals_open_at
    closes = proposals_close_at.replace(tzinfo=zone) if proposals_close_at and not proposals_close_at.tzinfo \
        else proposals_close_at
    if opens and closes and closes <= opens:
        raise InvalidInput("The proposal window closes before it opens: choose a closing time after the "
                           "opening time.", field="proposals_close_at")
    lead_ids: list[int] = []
    for membership_id in leads or []:
        member = _course_member(session, program.course_id, membership_id, field="leads")
        if member.role is not CourseRole.facilitator:
            raise InvalidInput(f"{member.user.display_name} is not a facilitator of this course; only "
                               "facilitators can lead the program.", field="leads")
        lead_ids.append(member.id)
    program.title = title[:200]
    program.year_label = (year_label or "").strip()[:40]
    program.description = description or ""
    program.timezone = timezone
    program.starts_on, program.ends_on = starts_on, ends_on
    program.proposals_open_at = opens.astimezone(dt.timezone.utc) if opens else None
    program.proposals_close_at = closes.astimezone(dt.timezone.utc) if closes else None
    settings = dict(program.settings or {})   # a new dict, so the JSON column sees the change
    settings["leads"] = sorted(set(lead_ids))
    program.settings = settings
    session.flush()
    return program


# -- permissions on cohorts ----------------------------------------------------------------------------------

def facilitates(session: Session, cohort: Cohort, membership: Membership) -> bool:
    return session.scalar(select(CohortFacilitator.id).where(
        CohortFacilitator.cohort_id == cohort.id, CohortFacilitator.membership_id == membership.id)) is not None


def facilitated_cohort_ids(session: Session, membership: Membership) -> set[int]:
    return set(session.scalars(select(CohortFacilitator.cohort_id)
                               .where(CohortFacilitator.membership_id == membership.id)))


def can_manage_cohort(session: Session, cohort: Cohort, membership: Membership) -> bool:
    """Leads manage every cohort of their program; a facilitator only the cohorts they facilitate."""
    if membership.course_id != cohort.program.course_id or not membership.active:
        return False
    return is_lead(cohort.program, membership) or facilitates(session, cohort, membership)


def require_cohort_manager(session: Session, cohort: Cohort, membership: Membership) -> None:
    if not can_manage_cohort(session, cohort, membership):
        raise Forbidden("Only this cohort's facilitators and the program's leads can do this.")


def get_cohort(session: Session, actor: Membership, cohort_id: int) -> Cohort:
    """A cohort of the actor's course (404 for any other id, so other courses' cohorts stay invisible)."""
    cohort = session.scalar(
        select(Cohort).join(Cohort.program)
        .options(selectinload(Cohort.facilitators).selectinload(CohortFacilitator.membership)
                 .selectinload(Membership.user), selectinload(Cohort.questions))
        .where(Cohort.id == cohort_id, Program.course_id == actor.course_id))
    if cohort is None:
        raise NotFound("There is no such cohort in this course.")
    return cohort


# -- cohorts -------------------------------------------------------------------------------------------------

@dataclass
class CohortSummary:
    cohort: Cohort
    active: int
    waiting: int
    pending_applications: int

    @property
    def seats_left(self) -> int:
        return max(self.cohort.capacity - self.active, 0)

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


def _check_cohort_fields(session: Session, program: Program, cohort: Cohort | None, *, name: str,
                         capacity: int, opens: dt.datetime | None, closes: dt.datetime | None,
                         facilitator_ids: list[int]) -> list[Membership]:
    if not name:
        raise InvalidInput("Give the cohort a name.", field="name")
    same_name = session.scalar(select(Cohort.id).where(
        Cohort.program_id == program.id, func.lower(Cohort.name) == name.lower(),
        Cohort.id != (cohort.id if cohort else -1)))
    if same_name is not None:
        raise InvalidInput(f"There is already a cohort called “{name}” in this program. Choose another name.",
                           field="name")
    if capacity is None or capacity < 1:
        raise InvalidInput("Capacity must be at least 1.", field="capacity")
    if cohort is not None:
        active = active_count(session, cohort)
        if capacity < active:
            raise InvalidInput(f"{active} people already hold a seat, so the capacity cannot be lower than "
                               f"{active}. Remove members first, or choose {active} or more.", field="capacity")
    if opens and closes and closes <= opens:
        raise InvalidInput("The sign-up window closes before it opens: choose a closing time after the "
                           "opening time.", field="signup_closes_at")
    if not facilitator_ids:
        raise InvalidInput("Choose at least one facilitator.", field="facilitators")
    return [_course_member(session, program.course_id, mid, field="facilitators")
            for mid in dict.fromkeys(facilitator_ids)]


def create_cohort(session: Session, actor: Membership, program: Program, *, name: str,
                  kind: CohortKind = CohortKind.topic, description: str = "", capacity: int = DEFAULT_CAPACITY,
                  signup_mode: SignupMode = SignupMode.open, signup_opens_at: dt.datetime | None = None,
                  signup_closes_at: dt.datetime | None = None, facilitator_ids: list[int] | None = None) -> Cohort:
    """A new cohort (leads only). Naive window times are read in the program's time zone."""
    require_lead(program, actor)
    name = (name or "").strip()
    opens, closes = to_utc(program, signup_opens_at), to_utc(program, signup_closes_at)
    facilitators = _check_cohort_fields(session, program, None, name=name, capacity=capacity, opens=opens,
                                        closes=closes, facilitator_ids=list(facilitator_ids or []))
    cohort = Cohort(program=program, name=name[:200], kind=CohortKind(kind), description=description or "",
                    capacity=capacity, signup_mode=SignupMode(signup_mode), signup_opens_at=opens,
                    signup_closes_at=closes)
    cohort.facilitators = [CohortFacilitator(membership=m) for m in facilitators]
    session.add(cohort)
    session.flush()
    return cohort


def update_cohort(session: Session, actor: Membership, cohort: Cohort, *, name: str, kind: CohortKind,
                  description: str, capacity: int, signup_mode: SignupMode,
                  signup_opens_at: dt.datetime | None, signup_closes_at: dt.datetime | None,
                  facilitator_ids: list[int]) -> Cohort:
    """Edit a cohort (its managers). Raising the capacity seats the first people on the waiting list."""
    require_cohort_manager(session, cohort, actor)
    program = cohort.program
    name = (name or "").strip()
    opens, closes = to_utc(program, signup_opens_at), to_utc(program, signup_closes_at)
    locked = _lock(session, cohort)
    facilitators = _check_cohort_fields(session, program, locked, name=name, capacity=capacity, opens=opens,
                                        closes=closes, facilitator_ids=list(facilitator_ids))
    locked.name, locked.kind, locked.description = name[:200], CohortKind(kind), description or ""
    locked.capacity, locked.signup_mode = capacity, SignupMode(signup_mode)
    locked.signup_opens_at, locked.signup_closes_at = opens, closes
    wanted = {m.id for m in facilitators}
    locked.facilitators = [f for f in locked.facilitators if f.membership_id in wanted] + [
        CohortFacilitator(membership=m) for m in facilitators
        if m.id not in {f.membership_id for f in locked.facilitators}]
    session.flush()
    promote_waiting(session, locked)
    return locked


# -- seats ---------------------------------------------------------------------------------------------------

def _lock(session: Session, cohort: Cohort) -> Cohort:
    """Lock the cohort row until the transaction ends: seat changes of one cohort happen one at a time.
    (PostgreSQL: SELECT … FOR UPDATE; SQLite serialises writers anyway.)"""
    return session.scalars(select(Cohort).where(Cohort.id == cohort.id).with_for_update()
                           .execution_options(populate_existing=True)).one()


def active_count(session: Session, cohort: Cohort) -> int:
    return session.scalar(select(func.count()).select_from(CohortMember).where(
        CohortMember.cohort_id == cohort.id, CohortMember.status == SeatStatus.active)) or 0


def seat_of(session: Session, cohort: Cohort, membership: Membership) -> CohortMember | None:
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


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _take_seat(session: Session, cohort: Cohort, membership: Membership, source: str,
               now: dt.datetime) -> CohortMember:
    """Give ``membership`` a seat if one is free, else a place at the end of the waiting list. The caller
    holds the cohort lock."""
    seat = seat_of(session, cohort, membership)
    if seat is None:
        seat = CohortMember(cohort_id=cohort.id, membership_id=membership.id, status=SeatStatus.waitlisted)
        session.add(seat)
    seat.source = source
    seat.left_at = None
    if active_count(session, cohort) < cohort.capacity:
        seat.status, seat.joined_at, seat.waitlisted_at = SeatStatus.active, now, None
    else:
        seat.status, seat.joined_at, seat.waitlisted_at = SeatStatus.waitlisted, None, now
    session.flush()
    return seat


def promote_waiting(session: Session, cohort: Cohort, now: dt.datetime | None = None) -> list[CohortMember]:
    """Seat the first people of the waiting list while seats are free (the caller holds the cohort lock)."""
    now = now or utcnow()
    free = cohort.capacity - active_count(session, cohort)
    if free <= 0:
        return []
    waiting = list(session.scalars(
        select(CohortMember).where(CohortMember.cohort_id == cohort.id,
                                   CohortMember.status == SeatStatus.waitlisted)
        .order_by(CohortMember.waitlisted_at, CohortMember.id).limit(free)))
    for seat in waiting:
        seat.status, seat.joined_at, seat.waitlisted_at = SeatStatus.active, now, None
    if waiting:
        # A wait-listed applicant who is seated has, in effect, been accepted.
        for application in session.scalars(select(Application).where(
                Application.cohort_id == cohort.id, Application.status == ApplicationStatus.waitlisted,
                Application.membership_id.in_([s.membership_id for s in waiting]))):
            application.status = ApplicationStatus.accepted
    session.flush()
    return waiting


def _check_can_join(session: Session, cohort: Cohort, actor: Membership) -> None:
    if actor.course_id != cohort.program.course_id or not actor.active:
        raise Forbidden("You are not a member of this course.")
    if actor.role is CourseRole.observer:
        raise Forbidden("Observers cannot join cohorts.")
    if facilitates(session, cohort, actor):
        raise InvalidInput("You facilitate this cohort, so you cannot also sign up for it.")


def _check_window(cohort: Cohort, now: dt.datetime, what: str = "Sign-up") -> None:
    program = cohort.program
    if cohort.signup_opens_at and now < cohort.signup_opens_at:
        opens = to_local(program, cohort.signup_opens_at)
        raise InvalidInput(f"{what} for {cohort.name} opens on {opens:%B %-d, %Y at %-I:%M %p} "
                           f"({program.timezone}).")
    if cohort.signup_closes_at and now >= cohort.signup_closes_at:
        closed = to_local(program, cohort.signup_closes_at)
        raise InvalidInput(f"{what} for {cohort.name} closed on {closed:%B %-d, %Y at %-I:%M %p} "
                           f"({program.timezone}). Ask a facilitator if you still want to join.")


def sign_up(session: Session, actor: Membership, cohort: Cohort, now: dt.datetime | None = None) -> CohortMember:
    """Open sign-up, first come: a seat if one is free, else the end of the waiting list. Two people taking
    the last seat at once: the cohort row lock makes one wait for the other, who then sees it full."""
    now = now or utcnow()
    _check_can_join(session, cohort, actor)
    if cohort.signup_mode is SignupMode.application:
        raise InvalidInput(f"{cohort.name} takes applications: apply instead of signing up.")
    if cohort.signup_mode is SignupMode.invitation:
        raise InvalidInput(f"{cohort.name} is by invitation only.")
    _check_window(cohort, now)
    cohort = _lock(session, cohort)
    seat = seat_of(session, cohort, actor)
    if seat is not None and seat.status in (SeatStatus.active, SeatStatus.waitlisted):
        raise Conflict("You have already signed up for this cohort.")
    if seat is not None and seat.status is SeatStatus.removed:
        raise Forbidden("A facilitator removed you from this cohort. Ask them if you want to join again.")
    return _take_seat(session, cohort, actor, "signup", now)


def withdraw(session: Session, actor: Membership, cohort: Cohort, now: dt.datetime | None = None) -> CohortMember:
    """Leave a cohort (or its waiting list); a freed seat goes to the first person waiting."""
    now = now or utcnow()
    cohort = _lock(session, cohort)
    seat = seat_of(session, cohort, actor)
    if seat is None or seat.status not in (SeatStatus.active, SeatStatus.waitlisted, SeatStatus.invited):
        raise InvalidInput("You are not in this cohort.")
    seat.status, seat.left_at = SeatStatus.withdrawn, now
    application = _application_of(session, cohort, actor)
    if application is not None and application.status in (ApplicationStatus.submitted, ApplicationStatus.accepted,
                                                           ApplicationStatus.waitlisted):
        application.status = ApplicationStatus.withdrawn
    session.flush()
    promote_waiting(session, cohort, now)
    return seat


def add_member(session: Session, actor: Membership, cohort: Cohort, membership_id: int,
               now: dt.datetime | None = None) -> CohortMember:
    """A manager puts a course member in the cohort (whatever the sign-up mode or window), if a seat is free."""
    now = now or utcnow()
    require_cohort_manager(session, cohort, actor)
    person = _course_member(session, cohort.program.course_id, membership_id, field="membership_id")
    cohort = _lock(session, cohort)
    seat = seat_of(session, cohort, person)
    if seat is not None and seat.status is SeatStatus.active:
        raise InvalidInput(f"{person.user.display_name} is already a member.", field="membership_id")
    if active_count(session, cohort) >= cohort.capacity:
        raise InvalidInput(f"{cohort.name} is full ({cohort.capacity} of {cohort.capacity} seats). Raise the "
                           "capacity first.", field="membership_id")
    seat = _take_seat(session, cohort, person, "facilitator", now)
    return seat


def remove_member(session: Session, actor: Membership, cohort: Cohort, seat_id: int,
                  now: dt.datetime | None = None) -> CohortMember:
    """A manager removes someone (seat, waiting list or invitation); the row stays as history."""
    now = now or utcnow()
    require_cohort_manager(session, cohort, actor)
    cohort = _lock(session, cohort)
    seat = session.get(CohortMember, seat_id)
    if seat is None or seat.cohort_id != cohort.id:
        raise NotFound("That person is not in this cohort.")
    if seat.status not in (SeatStatus.active, SeatStatus.waitlisted, SeatStatus.invited):
        raise InvalidInput("That person has already left this cohort.")
    seat.status, seat.left_at = SeatStatus.removed, now
    session.flush()
    promote_waiting(session, cohort, now)
    return seat


def invite(session: Session, actor: Membership, cohort: Cohort, membership_id: int,
           now: dt.datetime | None = None) -> CohortMember:
    """A manager invites a course member; the invitee accepts or declines."""
    now = now or utcnow()
    require_cohort_manager(session, cohort, actor)
    person = _course_member(session, cohort.program.course_id, membership_id, field="membership_id")
    if person.role is CourseRole.observer:
        raise InvalidInput("Observers cannot join cohorts.", field="membership_id")
    seat = seat_of(session, cohort, person)
    if seat is not None and seat.status in (SeatStatus.active, SeatStatus.waitlisted, SeatStatus.invited):
        raise InvalidInput(f"{person.user.display_name} is already in this cohort or invited.",
                           field="membership_id")
    if seat is None:
        seat = CohortMember(cohort_id=cohort.id, membership_id=person.id, status=SeatStatus.invited)
        session.add(seat)
    seat.status, seat.source, seat.left_at, seat.joined_at = SeatStatus.invited, "invitation", None, None
    session.flush()
    return seat


def respond_to_invitation(session: Session, actor: Membership, cohort: Cohort, accept: bool,
                          now: dt.datetime | None = None) -> CohortMember:
    """Accept (a seat, or the waiting list when it filled up meanwhile) or decline an invitation."""
    now = now or utcnow()
    cohort = _lock(session, cohort)
    seat = seat_of(session, cohort, actor)
    if seat is None or seat.status is not SeatStatus.invited:
        raise InvalidInput("You have no open invitation to this cohort.")
    if not accept:
        seat.status, seat.left_at = SeatStatus.withdrawn, now
        session.flush()
        return seat
    return _take_seat(session, cohort, actor, "invitation", now)


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


def my_seats(session: Session, actor: Membership, program: Program) -> dict[int, CohortMember]:
    """The actor's seat per cohort of the program (any status)."""
    return {s.cohort_id: s for s in session.scalars(
        select(CohortMember).join(Cohort).where(Cohort.program_id == program.id,
                                                CohortMember.membership_id == actor.id))}


def my_waitlist_positions(session: Session, actor: Membership, program: Program) -> dict[int, int]:
    """cohort id → the actor's position on its waiting list, for every list they are on: one query."""
    mine = (select(CohortMember.cohort_id, CohortMember.waitlisted_at, CohortMember.id)
            .join(Cohort).where(Cohort.program_id == program.id, CohortMember.membership_id == actor.id,
                                CohortMember.status == SeatStatus.waitlisted).subquery())
    other = CohortMember.__table__.alias("other")
    rows = session.execute(
        select(mine.c.cohort_id, func.count(other.c.id))
        .join(other, and_(other.c.cohort_id == mine.c.cohort_id, other.c.status == SeatStatus.waitlisted.value,
                          (other.c.waitlisted_at < mine.c.waitlisted_at)
                          | and_(other.c.waitlisted_at == mine.c.waitlisted_at, other.c.id <= mine.c.id)))
        .group_by(mine.c.cohort_id)).all()
    return {cohort_id: int(n) for cohort_id, n in rows}


# -- applications --------------------------------------------------------------------------------------------

def set_questions(session: Session, actor: Membership, cohort: Cohort,
                  questions: list[tuple[str, bool]]) -> list[ApplicationQuestion]:
    """Replace the cohort's application questions (leads only). Answers already given stay with their
    applications; a removed question's answer is kept under its old id."""
    require_lead(cohort.program, actor)
    cleaned = [(p.strip(), bool(r)) for p, r in questions if p and p.strip()]
    existing = list(cohort.questions)
    result = []
    for position, (prompt, required) in enumerate(cleaned):
        if position < len(existing):
            question = existing[position]
        else:
            question = ApplicationQuestion(cohort_id=cohort.id)
            session.add(question)
        question.prompt, question.required, question.position = prompt, required, position
        result.append(question)
    for question in existing[len(cleaned):]:
        session.delete(question)
    session.flush()
    session.expire(cohort, ["questions"])
    return result


def _application_of(session: Session, cohort: Cohort, membership: Membership) -> Application | None:
    return session.scalar(select(Application).where(Application.cohort_id == cohort.id,
                                                    Application.membership_id == membership.id))


def application_of(session: Session, actor: Membership, cohort: Cohort) -> Application | None:
    return _application_of(session, cohort, actor)


def submit_application(session: Session, actor: Membership, cohort: Cohort, answers: dict[int, str],
                       now: dt.datetime | None = None) -> Application:
    """Apply to a cohort in application mode, during its sign-up window, answering every required question."""
    now = now or utcnow()
    _check_can_join(session, cohort, actor)
    if cohort.signup_mode is not SignupMode.application:
        raise InvalidInput(f"{cohort.name} does not take applications.")
    _check_window(cohort, now, "Applications")
    application = _application_of(session, cohort, actor)
    if application is not None and application.status is not ApplicationStatus.withdrawn:
        raise Conflict("You have already applied to this cohort.")
    cleaned: dict[str, str] = {}
    for question in cohort.questions:
        answer = (answers.get(question.id) or "").strip()
        if question.required and not answer:
            raise InvalidInput(f"Please answer “{question.prompt}”: it is required.", field=f"q{question.id}")
        cleaned[str(question.id)] = answer
    if application is None:
        application = Application(cohort_id=cohort.id, membership_id=actor.id)
        session.add(application)
    application.answers = cleaned
    application.status, application.submitted_at = ApplicationStatus.submitted, now
    application.review_note, application.reviewed_at, application.reviewed_by_id = "", None, None
    session.flush()
    return application


def my_applications(session: Session, actor: Membership, program: Program) -> dict[int, Application]:
    """The actor's application per cohort of the program."""
    return {a.cohort_id: a for a in session.scalars(
        select(Application).join(Application.cohort).where(Cohort.program_id == program.id,
                                                           Application.membership_id == actor.id))}


def get_application(session: Session, actor: Membership, application_id: int) -> Application:
    """An application, for its applicant or its reviewers only (others: 404 in another course, 403 here)."""
    application = session.scalar(
        select(Application).join(Application.cohort).join(Cohort.program)
        .options(selectinload(Application.membership).selectinload(Membership.user))
        .where(Application.id == application_id, Program.course_id == actor.course_id))
    if application is None:
        raise NotFound("There is no such application in this course.")
    if application.membership_id != actor.id and not can_manage_cohort(session, application.cohort, actor):
        raise Forbidden("Application answers are seen only by the applicant and the cohort's reviewers.")
    return application


def list_applications(session: Session, actor: Membership, cohort: Cohort) -> list[Application]:
    """All applications to a cohort, for its reviewers (leads and the cohort's facilitators)."""
    require_cohort_manager(session, cohort, actor)
    order = case((Application.status == ApplicationStatus.submitted, 0), else_=1)
    return list(session.scalars(
        select(Application).options(selectinload(Application.membership).selectinload(Membership.user))
        .where(Application.cohort_id == cohort.id).order_by(order, Application.submitted_at, Application.id)))


REVIEW_DECISIONS = {"accept": ApplicationStatus.accepted, "waitlist": ApplicationStatus.waitlisted,
                    "decline": ApplicationStatus.declined}


def review_application(session: Session, actor: Membership, application: Application, decision: str,
                       note: str = "", now: dt.datetime | None = None) -> Application:
    """Accept (a seat), wait-list (the cohort's waiting list) or decline, with a note the applicant sees."""
    now = now or utcnow()
    cohort = application.cohort
    require_cohort_manager(session, cohort, actor)
    if decision not in REVIEW_DECISIONS:
        raise InvalidInput("Choose accept, wait-list or decline.", field="decision")
    if application.status not in (ApplicationStatus.submitted, ApplicationStatus.waitlisted):
        raise InvalidInput(f"This application is already {application.status.value}.")
    status = REVIEW_DECISIONS[decision]
    if status is application.status:
        raise InvalidInput("This application is already on the waiting list.", field="decision")
    cohort = _lock(session, cohort)
    seat = seat_of(session, cohort, application.membership)
    if status is ApplicationStatus.accepted:
        holds = seat is not None and seat.status is SeatStatus.active
        if not holds and active_count(session, cohort) >= cohort.capacity:
            raise InvalidInput(f"{cohort.name} is full ({cohort.capacity} seats): wait-list this applicant, or "
                               "raise the capacity first.", field="decision")
        seat = _take_seat(session, cohort, application.membership, "application", now)
    elif status is ApplicationStatus.waitlisted:
        if seat is None or seat.status is not SeatStatus.waitlisted:
            if seat is None:
                seat = CohortMember(cohort_id=cohort.id, membership_id=application.membership_id,
                                    status=SeatStatus.waitlisted)
                session.add(seat)
            seat.status, seat.source, seat.waitlisted_at, seat.left_at = (SeatStatus.waitlisted, "application",
                                                                          now, None)
    elif seat is not None and seat.status is SeatStatus.waitlisted:
        seat.status, seat.left_at = SeatStatus.removed, now
    application.status, application.review_note = status, (note or "").strip()
    application.reviewed_by_id, application.reviewed_at = actor.id, now
    session.flush()
    return application


# -- small groups --------------------------------------------------------------------------------------------

def balanced_sizes(n: int, size: int) -> list[int]:
    """ceil(n / size) groups whose sizes differ by at most one: 14 by 3 → 3,3,3,3,2; 14 by 4 → 4,4,3,3."""
    if n <= 0:
        return []
    groups = math.ceil(n / size)
    base, extra = divmod(n, groups)
    return [base + 1] * extra + [base] * (groups - extra)


def _active_member_ids(session: Session, cohort: Cohort) -> list[int]:
    return list(session.scalars(select(CohortMember.membership_id).where(
        CohortMember.cohort_id == cohort.id, CohortMember.status == SeatStatus.active)
        .order_by(CohortMember.membership_id)))


def create_small_group(session: Session, actor: Membership, cohort: Cohort, name: str,
                       membership_ids: list[int]) -> SmallGroup:
    """A small group made by hand from the cohort's members (a person is in at most one group)."""
    require_cohort_manager(session, cohort, actor)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the group a name.", field="name")
    if session.scalar(select(SmallGroup.id).where(SmallGroup.cohort_id == cohort.id,
                                                  func.lower(SmallGroup.name) == name.lower())):
        raise InvalidInput(f"There is already a group called “{name}”.", field="name")
    ids = list(dict.fromkeys(membership_ids))
    if not ids:
        raise InvalidInput("Choose at least one member.", field="members")
    active = set(_active_member_ids(session, cohort))
    if not set(ids) <= active:
        raise InvalidInput("Only members of this cohort can be in its small groups.", field="members")
    taken = set(session.scalars(select(SmallGroupMember.membership_id).join(SmallGroup).where(
        SmallGroup.cohort_id == cohort.id, SmallGroupMember.membership_id.in_(ids))))
    if taken:
        raise InvalidInput("Some of these people are already in another group of this cohort.", field="members")
    group = SmallGroup(cohort_id=cohort.id, name=name[:120],
                       members=[SmallGroupMember(membership_id=i) for i in ids])
    session.add(group)
    session.flush()
    return group


def generate_small_groups(session: Session, actor: Membership, cohort: Cohort, size: int,
                          prefix: str = "Group", seed: int | None = None) -> list[SmallGroup]:
    """Replace the cohort's small groups by ceil(members / size) groups of balanced sizes, members shuffled."""
    require_cohort_manager(session, cohort, actor)
    if size is None or size < 2:
        raise InvalidInput("A group needs at least 2 people.", field="size")
    ids = _active_member_ids(session, cohort)
    if len(ids) < 2:
        raise InvalidInput("The cohort needs at least 2 members before groups can be made.", field="size")
    random.Random(seed).shuffle(ids)
    for group in list(session.scalars(select(SmallGroup).where(SmallGroup.cohort_id == cohort.id))):
        session.delete(group)
    session.flush()
    groups, start = [], 0
    for number, group_size in enumerate(balanced_sizes(len(ids), size), 1):
        group = SmallGroup(cohort_id=cohort.id, name=f"{prefix} {number}",
                           members=[SmallGroupMember(membership_id=i) for i in ids[start:start + group_size]])
        start += group_size
        session.add(group)
        groups.append(group)
    session.flush()
    session.expire(cohort, ["groups"])
    return groups


def small_groups(session: Session, cohort: Cohort) -> list[SmallGroup]:
    return list(session.scalars(
        select(SmallGroup).options(selectinload(SmallGroup.members).selectinload(SmallGroupMember.membership)
                                   .selectinload(Membership.user))
        .where(SmallGroup.cohort_id == cohort.id).order_by(SmallGroup.id)))


# -- facilitator proposals -----------------------------------------------------------------------------------

def proposals_open(program: Program, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return (program.proposals_open_at is not None and program.proposals_open_at <= now
            and (program.proposals_close_at is None or now < program.proposals_close_at))


def _proposal_fields(title: str, kind: CohortKind, description: str) -> tuple[str, CohortKind, str]:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give your proposed cohort a title.", field="title")
    if not (description or "").strip():
        raise InvalidInput("Describe the cohort you propose.", field="description")
    return title[:200], CohortKind(kind), description.strip()


def submit_proposal(session: Session, actor: Membership, program: Program, *, title: str, kind: CohortKind,
                    description: str, audience: str = "", format: str = "", proposed_sessions: str = "",
                    now: dt.datetime | None = None) -> Proposal:
    """Any active course member (participants included) proposes a cohort during the proposal window."""
    now = now or utcnow()
    if actor.course_id != program.course_id or not actor.active:
        raise Forbidden("You are not a member of this course.")
    if not proposals_open(program, now):
        if program.proposals_open_at is None:
            raise InvalidInput("The program is not taking facilitator proposals.")
        if now < program.proposals_open_at:
            raise InvalidInput(f"Proposals open on {to_local(program, program.proposals_open_at):%B %-d, %Y} "
                               f"({program.timezone}).")
        raise InvalidInput(f"The proposal deadline passed on "
                           f"{to_local(program, program.proposals_close_at):%B %-d, %Y} ({program.timezone}).")
    title, kind, description = _proposal_fields(title, kind, description)
    proposal = Proposal(program_id=program.id, proposer_id=actor.id, title=title, kind=kind,
                        description=description, audience=audience or "", format=format or "",
                        proposed_sessions=proposed_sessions or "", status=ProposalStatus.submitted)
    session.add(proposal)
    session.flush()
    return proposal


def get_proposal(session: Session, actor: Membership, proposal_id: int) -> Proposal:
    """A proposal, for its proposer and the program's leads."""
    proposal = session.scalar(
        select(Proposal).join(Proposal.program)
        .options(selectinload(Proposal.proposer).selectinload(Membership.user))
        .where(Proposal.id == proposal_id, Program.course_id == actor.course_id))
    if proposal is None:
        raise NotFound("There is no such proposal in this course.")
    if proposal.proposer_id != actor.id and not is_lead(proposal.program, actor):
        raise Forbidden("A proposal is seen only by its proposer and the program's leads.")
    return proposal


def list_proposals(session: Session, actor: Membership, program: Program) -> list[Proposal]:
    """Every proposal for a lead; one's own for anyone else."""
    query = (select(Proposal).options(selectinload(Proposal.proposer).selectinload(Membership.user))
             .where(Proposal.program_id == program.id).order_by(Proposal.created_at.desc(), Proposal.id.desc()))
    if not is_lead(program, actor):
        query = query.where(Proposal.proposer_id == actor.id)
    return list(session.scalars(query))


def revise_proposal(session: Session, actor: Membership, proposal: Proposal, *, title: str, kind: CohortKind,
                    description: str, audience: str = "", format: str = "",
                    proposed_sessions: str = "") -> Proposal:
    """The proposer edits a proposal still under review or sent back for changes; it is submitted again."""
    if proposal.proposer_id != actor.id:
        raise Forbidden("Only the proposer can edit a proposal.")
    if proposal.status not in (ProposalStatus.submitted, ProposalStatus.changes_requested):
        raise InvalidInput(f"This proposal was {proposal.status.value} and can no longer be edited.")
    proposal.title, proposal.kind, proposal.description = _proposal_fields(title, kind, description)
    proposal.audience, proposal.format, proposal.proposed_sessions = audience or "", format or "", \
        proposed_sessions or ""
    proposal.status = ProposalStatus.submitted
    session.flush()
    return proposal


PROPOSAL_DECISIONS = {"request_changes": ProposalStatus.changes_requested, "accept": ProposalStatus.accepted,
                      "decline": ProposalStatus.declined}


def review_proposal(session: Session, actor: Membership, proposal: Proposal, decision: str, note: str = "",
                    now: dt.datetime | None = None) -> Proposal:
    """A lead asks for changes or declines (with a note), or accepts: the cohort is created with the proposer
    as its facilitator, whatever their LMS role."""
    now = now or utcnow()
    program = proposal.program
    require_lead(program, actor)
    if decision not in PROPOSAL_DECISIONS:
        raise InvalidInput("Choose ask for changes, accept or decline.", field="decision")
    if proposal.status is not ProposalStatus.submitted:
        raise InvalidInput("Only a submitted proposal can be reviewed (this one is "
                           f"{proposal.status.value.replace('_', ' ')}).")
    note = (note or "").strip()
    status = PROPOSAL_DECISIONS[decision]
    if status is not ProposalStatus.accepted and not note:
        raise InvalidInput("Write a note for the proposer: what to change, or why it was declined.", field="note")
    if status is ProposalStatus.accepted:
        if session.scalar(select(Cohort.id).where(Cohort.program_id == program.id,
                                                  func.lower(Cohort.name) == proposal.title.lower())):
            raise InvalidInput(f"There is already a cohort called “{proposal.title}”: ask the proposer for "
                               "another title.", field="decision")
        cohort = Cohort(program=program, name=proposal.title, kind=proposal.kind, description=proposal.description,
                        capacity=DEFAULT_CAPACITY, signup_mode=SignupMode.open)
        cohort.facilitators = [CohortFacilitator(membership_id=proposal.proposer_id)]
        session.add(cohort)
        session.flush()
        proposal.cohort_id = cohort.id
    proposal.status, proposal.review_note = status, note
    proposal.reviewed_by_id, proposal.reviewed_at = actor.id, now
    session.flush()
    return proposal
