"""What changes a program: its settings, cohorts and their seats (open sign-up with a waiting list,
applications, invitations), small groups and facilitator proposals. Each operation takes the acting party's
``Access``, checks it, validates (``InvalidInput`` names the field), changes models and flushes; it never
commits."""
from __future__ import annotations

import datetime as dt
import math
import random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool.course import zones
from lti_tool.course.access import Access
from lti_tool.db import utcnow
from lti_tool.errors import Conflict, Forbidden, InvalidInput, NotFound
from lti_tool.lti.models import CourseRole, Membership
from lti_tool.programs import permissions
from lti_tool.programs.models import (
    Application, ApplicationQuestion, ApplicationStatus, Cohort, CohortFacilitator, CohortKind, CohortMember,
    Program, Proposal, ProposalStatus, SeatStatus, SignupMode, SmallGroup, SmallGroupMember,
)
from lti_tool.programs.queries import active_count, application_of, program_for_course, proposals_open, seat_of

DEFAULT_CAPACITY = 20


# -- the program -----------------------------------------------------------------------------------------------

def ensure_program(session: Session, actor: Membership) -> Program | None:
    """The course's program; created at a staff member's first visit (participants wait for it). Takes the
    Membership: it runs before there is a program to build an ``Access`` on."""
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


def _course_member(session: Session, course_id: int, membership_id: int, field: str | None = None) -> Membership:
    member = session.get(Membership, membership_id)
    if member is None or member.course_id != course_id or not member.active:
        raise InvalidInput("That person is not an active member of this course.", field=field)
    return member


def update_program(session: Session, access: Access, *, title: str, year_label: str = "", description: str = "",
                   timezone: str, starts_on: dt.date | None = None, ends_on: dt.date | None = None,
                   proposals_open_at: dt.datetime | None = None, proposals_close_at: dt.datetime | None = None,
                   leads: list[int] | None = None) -> Program:
    """Edit the program (leads only). Naive proposal-window times are read in the (new) program time zone.

    ``leads``: None or [] → every staff member of the course leads; otherwise the named staff's membership ids.
    """
    access.require_lead("edit the program")
    program = access.program
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give the program a title.", field="title")
    zone = zones.get_zone(timezone)
    if starts_on and ends_on and ends_on < starts_on:
        raise InvalidInput("The program ends before it starts: choose an end date after the start date.",
                           field="ends_on")
    opens = zones.wall_clock_to_utc(zone, proposals_open_at)
    closes = zones.wall_clock_to_utc(zone, proposals_close_at)
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
    program.timezone = zone.key
    program.starts_on, program.ends_on = starts_on, ends_on
    program.proposals_open_at, program.proposals_close_at = opens, closes
    settings = dict(program.settings or {})   # a new dict, so the JSON column sees the change
    settings["leads"] = sorted(set(lead_ids))
    program.settings = settings
    session.flush()
    return program


# -- cohorts ---------------------------------------------------------------------------------------------------

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


def create_cohort(session: Session, access: Access, *, name: str, kind: CohortKind = CohortKind.topic,
                  description: str = "", capacity: int = DEFAULT_CAPACITY, signup_mode: SignupMode = SignupMode.open,
                  signup_opens_at: dt.datetime | None = None, signup_closes_at: dt.datetime | None = None,
                  facilitator_ids: list[int] | None = None) -> Cohort:
    """A new cohort of the program (leads only). Naive window times are read in the program's time zone."""
    access.require_lead("create cohorts")
    program = access.program
    name = (name or "").strip()
    opens, closes = zones.to_utc(program, signup_opens_at), zones.to_utc(program, signup_closes_at)
    facilitators = _check_cohort_fields(session, program, None, name=name, capacity=capacity, opens=opens,
                                        closes=closes, facilitator_ids=list(facilitator_ids or []))
    cohort = Cohort(program=program, name=name[:200], kind=CohortKind(kind), description=description or "",
                    capacity=capacity, signup_mode=SignupMode(signup_mode), signup_opens_at=opens,
                    signup_closes_at=closes)
    cohort.facilitators = [CohortFacilitator(membership=m) for m in facilitators]
    session.add(cohort)
    session.flush()
    return cohort


def update_cohort(session: Session, access: Access, cohort: Cohort, *, name: str, kind: CohortKind,
                  description: str, capacity: int, signup_mode: SignupMode,
                  signup_opens_at: dt.datetime | None, signup_closes_at: dt.datetime | None,
                  facilitator_ids: list[int]) -> Cohort:
    """Edit a cohort (those who manage it). Raising the capacity seats the first people on the waiting list."""
    access.require_manager(cohort, "edit it")
    program = cohort.program
    name = (name or "").strip()
    opens, closes = zones.to_utc(program, signup_opens_at), zones.to_utc(program, signup_closes_at)
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


# -- seats -----------------------------------------------------------------------------------------------------

def _lock(session: Session, cohort: Cohort) -> Cohort:
    """Lock the cohort row until the transaction ends: seat changes of one cohort happen one at a time.
    (PostgreSQL: SELECT … FOR UPDATE; SQLite serialises writers anyway.)"""
    return session.scalars(select(Cohort).where(Cohort.id == cohort.id).with_for_update()
                           .execution_options(populate_existing=True)).one()


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


def _check_can_join(access: Access, cohort: Cohort) -> None:
    if access.program is None or cohort.program_id != access.program.id or not access.membership.active:
        raise Forbidden("You are not a member of this course.")
    if access.is_observer:
        raise Forbidden("Observers cannot join cohorts.")
    if cohort.id in access.led:
        raise InvalidInput("You facilitate this cohort, so you cannot also sign up for it.")


def _check_window(access: Access, cohort: Cohort, now: dt.datetime, what: str = "Sign-up") -> None:
    if cohort.signup_opens_at and now < cohort.signup_opens_at:
        raise InvalidInput(f"{what} for {cohort.name} opens on {zones.describe_instant(cohort.signup_opens_at, access.zone)}.")
    if cohort.signup_closes_at and now >= cohort.signup_closes_at:
        raise InvalidInput(f"{what} for {cohort.name} closed on {zones.describe_instant(cohort.signup_closes_at, access.zone)}. Ask a "
                           "facilitator if you still want to join.")


def sign_up(session: Session, access: Access, cohort: Cohort, now: dt.datetime | None = None) -> CohortMember:
    """Open sign-up, first come: a seat if one is free, else the end of the waiting list. Two people taking
    the last seat at once: the cohort row lock makes one wait for the other, who then sees it full."""
    now = now or utcnow()
    _check_can_join(access, cohort)
    if cohort.signup_mode is SignupMode.application:
        raise InvalidInput(f"{cohort.name} takes applications: apply instead of signing up.")
    if cohort.signup_mode is SignupMode.invitation:
        raise InvalidInput(f"{cohort.name} is by invitation only.")
    _check_window(access, cohort, now)
    cohort = _lock(session, cohort)
    seat = seat_of(session, cohort, access.membership)
    if seat is not None and seat.status in (SeatStatus.active, SeatStatus.waitlisted):
        raise Conflict("You have already signed up for this cohort.")
    if seat is not None and seat.status is SeatStatus.removed:
        raise Forbidden("A facilitator removed you from this cohort. Ask them if you want to join again.")
    return _take_seat(session, cohort, access.membership, "signup", now)


def withdraw(session: Session, access: Access, cohort: Cohort, now: dt.datetime | None = None) -> CohortMember:
    """Leave a cohort (or its waiting list); a freed seat goes to the first person waiting."""
    now = now or utcnow()
    cohort = _lock(session, cohort)
    seat = seat_of(session, cohort, access.membership)
    if seat is None or seat.status not in (SeatStatus.active, SeatStatus.waitlisted, SeatStatus.invited):
        raise InvalidInput("You are not in this cohort.")
    seat.status, seat.left_at = SeatStatus.withdrawn, now
    application = application_of(session, cohort, access.membership)
    if application is not None and application.status in (ApplicationStatus.submitted, ApplicationStatus.accepted,
                                                           ApplicationStatus.waitlisted):
        application.status = ApplicationStatus.withdrawn
    session.flush()
    promote_waiting(session, cohort, now)
    return seat


def add_member(session: Session, access: Access, cohort: Cohort, membership_id: int,
               now: dt.datetime | None = None) -> CohortMember:
    """A manager puts a course member in the cohort (whatever the sign-up mode or window), if a seat is free."""
    now = now or utcnow()
    access.require_manager(cohort, "add members")
    person = _course_member(session, cohort.program.course_id, membership_id, field="membership_id")
    cohort = _lock(session, cohort)
    seat = seat_of(session, cohort, person)
    if seat is not None and seat.status is SeatStatus.active:
        raise InvalidInput(f"{person.user.display_name} is already a member.", field="membership_id")
    if active_count(session, cohort) >= cohort.capacity:
        raise InvalidInput(f"{cohort.name} is full ({cohort.capacity} of {cohort.capacity} seats). Raise the "
                           "capacity first.", field="membership_id")
    return _take_seat(session, cohort, person, "facilitator", now)


def remove_member(session: Session, access: Access, cohort: Cohort, seat_id: int,
                  now: dt.datetime | None = None) -> CohortMember:
    """A manager removes someone (seat, waiting list or invitation); the row stays as history."""
    now = now or utcnow()
    access.require_manager(cohort, "remove members")
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


def invite(session: Session, access: Access, cohort: Cohort, membership_id: int) -> CohortMember:
    """A manager invites a course member; the invitee accepts or declines."""
    access.require_manager(cohort, "invite people")
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


def respond_to_invitation(session: Session, access: Access, cohort: Cohort, accept: bool,
                          now: dt.datetime | None = None) -> CohortMember:
    """Accept (a seat, or the waiting list when it filled up meanwhile) or decline an invitation."""
    now = now or utcnow()
    cohort = _lock(session, cohort)
    seat = seat_of(session, cohort, access.membership)
    if seat is None or seat.status is not SeatStatus.invited:
        raise InvalidInput("You have no open invitation to this cohort.")
    if not accept:
        seat.status, seat.left_at = SeatStatus.withdrawn, now
        session.flush()
        return seat
    return _take_seat(session, cohort, access.membership, "invitation", now)


# -- applications ----------------------------------------------------------------------------------------------

def set_questions(session: Session, access: Access, cohort: Cohort,
                  questions: list[tuple[str, bool]]) -> list[ApplicationQuestion]:
    """Replace the cohort's application questions (leads only). Answers already given stay with their
    applications; a removed question's answer is kept under its old id."""
    if not (access.lead and access.manages(cohort)):
        raise Forbidden("Only the program's leads can set a cohort's application questions.")
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


def submit_application(session: Session, access: Access, cohort: Cohort, answers: dict[int, str],
                       now: dt.datetime | None = None) -> Application:
    """Apply to a cohort in application mode, during its sign-up window, answering every required question."""
    now = now or utcnow()
    _check_can_join(access, cohort)
    if cohort.signup_mode is not SignupMode.application:
        raise InvalidInput(f"{cohort.name} does not take applications.")
    _check_window(access, cohort, now, "Applications")
    application = application_of(session, cohort, access.membership)
    if application is not None and application.status is not ApplicationStatus.withdrawn:
        raise Conflict("You have already applied to this cohort.")
    cleaned: dict[str, str] = {}
    for question in cohort.questions:
        answer = (answers.get(question.id) or "").strip()
        if question.required and not answer:
            raise InvalidInput(f"Please answer “{question.prompt}”: it is required.", field=f"q{question.id}")
        cleaned[str(question.id)] = answer
    if application is None:
        application = Application(cohort_id=cohort.id, membership_id=access.id)
        session.add(application)
    application.answers = cleaned
    application.status, application.submitted_at = ApplicationStatus.submitted, now
    application.review_note, application.reviewed_at, application.reviewed_by_id = "", None, None
    session.flush()
    return application


REVIEW_DECISIONS = {"accept": ApplicationStatus.accepted, "waitlist": ApplicationStatus.waitlisted,
                    "decline": ApplicationStatus.declined}


def review_application(session: Session, access: Access, application: Application, decision: str,
                       note: str = "", now: dt.datetime | None = None) -> Application:
    """Accept (a seat), wait-list (the cohort's waiting list) or decline, with a note the applicant sees."""
    now = now or utcnow()
    cohort = application.cohort
    access.require_manager(cohort, "decide on its applications")
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
    application.reviewed_by_id, application.reviewed_at = access.id, now
    session.flush()
    return application


# -- small groups ----------------------------------------------------------------------------------------------

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


def create_small_group(session: Session, access: Access, cohort: Cohort, name: str,
                       membership_ids: list[int]) -> SmallGroup:
    """A small group made by hand from the cohort's members (a person is in at most one group)."""
    access.require_manager(cohort, "make its small groups")
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


def generate_small_groups(session: Session, access: Access, cohort: Cohort, size: int,
                          prefix: str = "Group", seed: int | None = None) -> list[SmallGroup]:
    """Replace the cohort's small groups by ceil(members / size) groups of balanced sizes, members shuffled."""
    access.require_manager(cohort, "make its small groups")
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


# -- facilitator proposals -------------------------------------------------------------------------------------

def _proposal_fields(title: str, kind: CohortKind, description: str) -> tuple[str, CohortKind, str]:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give your proposed cohort a title.", field="title")
    if not (description or "").strip():
        raise InvalidInput("Describe the cohort you propose.", field="description")
    return title[:200], CohortKind(kind), description.strip()


def submit_proposal(session: Session, access: Access, *, title: str, kind: CohortKind, description: str,
                    audience: str = "", format: str = "", proposed_sessions: str = "",
                    now: dt.datetime | None = None) -> Proposal:
    """Any active course member (participants included) proposes a cohort during the proposal window."""
    now = now or utcnow()
    program = access.program
    if not access.membership.active:
        raise Forbidden("You are not a member of this course.")
    if not proposals_open(program, now):
        if program.proposals_open_at is None:
            raise InvalidInput("The program is not taking facilitator proposals.")
        if now < program.proposals_open_at:
            raise InvalidInput(f"Proposals open on {zones.describe_instant(program.proposals_open_at, access.zone)}.")
        raise InvalidInput("The proposal deadline passed on "
                           f"{zones.describe_instant(program.proposals_close_at, access.zone)}.")
    title, kind, description = _proposal_fields(title, kind, description)
    proposal = Proposal(program_id=program.id, proposer_id=access.id, title=title, kind=kind,
                        description=description, audience=audience or "", format=format or "",
                        proposed_sessions=proposed_sessions or "", status=ProposalStatus.submitted)
    session.add(proposal)
    session.flush()
    return proposal


def revise_proposal(session: Session, access: Access, proposal: Proposal, *, title: str, kind: CohortKind,
                    description: str, audience: str = "", format: str = "",
                    proposed_sessions: str = "") -> Proposal:
    """The proposer edits a proposal still under review or sent back for changes; it is submitted again."""
    if not permissions.revises_proposal(access, proposal):
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


def review_proposal(session: Session, access: Access, proposal: Proposal, decision: str, note: str = "",
                    now: dt.datetime | None = None) -> Proposal:
    """A lead asks for changes or declines (with a note), or accepts: the cohort is created with the proposer
    as its facilitator, whatever their LMS role (so they manage it: ``lti_tool.course.access``)."""
    now = now or utcnow()
    access.require_lead("review proposals")
    program = proposal.program
    if program.id != access.program.id:
        raise NotFound("There is no such proposal in this course.")
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
    proposal.reviewed_by_id, proposal.reviewed_at = access.id, now
    session.flush()
    return proposal
