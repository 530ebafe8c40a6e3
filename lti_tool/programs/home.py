"""What each program home page shows, by role: a participant's cohorts, next session and what is due; a cohort
facilitator's rosters and next sessions; a lead's whole program. Each function takes the session and the
viewer's ``Access`` and returns a dataclass; each costs a fixed number of queries whatever the number of
cohorts, members or sessions (aggregates, IN lists and window functions, never a query per row). This is the
landing page's read model (the programs feature's other pages read through ``queries``)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from lti_tool.attendance.models import AttendanceRecord, MakeUp, MakeUpStatus
from lti_tool.calendar.models import Meeting
from lti_tool.course.access import Access
from lti_tool.course.zones import describe_time, local_date, local_to_utc
from lti_tool.db import utcnow
from lti_tool.discussions.models import Book, BookCohort, Reading
from lti_tool.grades.queries import delivery_summary
from lti_tool.lti.models import Course, Membership, User
from lti_tool.modules import queries as modules
from lti_tool.programs.models import (
    Application, ApplicationStatus, Cohort, CohortFacilitator, CohortMember, Milestone, Program, Proposal,
    ProposalStatus, SeatStatus, SignupMode, SmallGroup, SmallGroupMember,
)
from lti_tool.programs.queries import CohortSummary, cohort_summaries, my_waitlist_positions

NEXT_SESSIONS = 4          # sessions listed under "Next sessions"
NEXT_MILESTONES = 4        # milestones listed from the program's timeline


# -- shared pieces -------------------------------------------------------------------------------------------

@dataclass
class Heading:
    """The program's title and year for the page heading, and the course's title when it says more."""

    title: str
    year: str
    course_title: str | None


def heading(program: Program, course: Course) -> Heading:
    """Avoid "Communities of Practice — Communities of Practice 2026–27 (demo) 2026–27": the default program
    title repeats the course title, which is shown smaller under the heading instead."""
    course_title = course.display_title
    title = program.title.strip()
    for sep in (" — ", " - ", ": "):
        if course_title and title.endswith(sep + course_title):
            title = title[: -len(sep + course_title)].strip() or title
            break
    year = program.year_label.strip()
    if year and year in title:
        year = ""
    show_course = course_title and course_title.strip() != title and course_title.strip() != f"{title} {year}".strip()
    return Heading(title, year, course_title if show_course else None)


@dataclass
class SessionLine:
    """A session with its time in the viewer's zone (named) and, when different, in the program's zone."""

    meeting: Meeting
    when: str
    program_when: str | None
    join_url: str
    place: str
    is_today: bool = False

    @property
    def audience(self) -> str:
        return self.meeting.cohort.name if self.meeting.cohort else "Whole program"

    @property
    def title_names_audience(self) -> bool:
        """"Principals: monthly session" already says whose session it is."""
        return self.meeting.cohort is not None and self.meeting.cohort.name.lower() in self.meeting.title.lower()


def session_line(meeting: Meeting, access: Access, today: dt.date | None = None) -> SessionLine:
    """``today`` (in the program's zone), when given, sets ``is_today``."""
    mine = describe_time(meeting.starts_at, meeting.ends_at, access.zone, access.zone)
    theirs = describe_time(meeting.starts_at, meeting.ends_at, access.program_zone, access.program_zone)
    cohort_url = meeting.cohort.meeting_url if meeting.cohort is not None else ""
    join = meeting.meeting_url or ("" if meeting.location else cohort_url)
    is_today = today is not None and local_date(access.program_zone, meeting.starts_at) == today
    return SessionLine(meeting, mine, theirs if theirs != mine else None, join, meeting.location, is_today)


def _upcoming_meetings(session: Session, program: Program, cohort_ids: Iterable[int] | None, now: dt.datetime,
                       limit: int = NEXT_SESSIONS) -> list[Meeting]:
    """The next sessions (not cancelled, not over) of the program: all of them when ``cohort_ids`` is None,
    else the program-wide ones and those of these cohorts. One query."""
    query = (select(Meeting).options(joinedload(Meeting.cohort))
             .where(Meeting.program_id == program.id, Meeting.cancelled.is_(False), Meeting.ends_at >= now)
             .order_by(Meeting.starts_at, Meeting.id).limit(limit))
    if cohort_ids is not None:
        query = query.where(or_(Meeting.cohort_id.is_(None), Meeting.cohort_id.in_(list(cohort_ids) or [-1])))
    return list(session.scalars(query))


def _next_per_cohort(session: Session, program: Program, cohort_ids: list[int], since: dt.datetime
                     ) -> dict[int | None, Meeting]:
    """Each cohort's first session starting at or after ``since`` (None: the first program-wide one), in one
    query with a window function."""
    rank = func.row_number().over(partition_by=Meeting.cohort_id, order_by=(Meeting.starts_at, Meeting.id))
    ranked = (select(Meeting.id.label("id"), rank.label("rank"))
              .where(Meeting.program_id == program.id, Meeting.cancelled.is_(False), Meeting.starts_at >= since,
                     or_(Meeting.cohort_id.is_(None), Meeting.cohort_id.in_(cohort_ids or [-1])))
              .subquery())
    rows = session.scalars(select(Meeting).join(ranked, ranked.c.id == Meeting.id).where(ranked.c.rank == 1))
    return {m.cohort_id: m for m in rows}


def _milestones(session: Session, program: Program, today: dt.date) -> list[Milestone]:
    return list(session.scalars(select(Milestone).where(Milestone.program_id == program.id,
                                                        Milestone.on_date >= today)
                                .order_by(Milestone.on_date, Milestone.id).limit(NEXT_MILESTONES)))


def _names_by_cohort(rows) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for cohort_id, user in rows:
        found.setdefault(cohort_id, []).append(user.display_name)
    for names in found.values():
        names.sort(key=str.lower)
    return found


def _facilitator_names(session: Session, cohort_ids: list[int]) -> dict[int, list[str]]:
    return _names_by_cohort(session.execute(
        select(CohortFacilitator.cohort_id, User).join(Membership, Membership.id == CohortFacilitator.membership_id)
        .join(User, User.id == Membership.user_id).where(CohortFacilitator.cohort_id.in_(cohort_ids or [-1]))))


def _member_names(session: Session, cohort_ids: list[int]) -> dict[int, list[str]]:
    """Active members (seat and course membership) of these cohorts, by name: one query."""
    return _names_by_cohort(session.execute(
        select(CohortMember.cohort_id, User).join(Membership, Membership.id == CohortMember.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(CohortMember.cohort_id.in_(cohort_ids or [-1]), CohortMember.status == SeatStatus.active,
               Membership.active.is_(True))))


@dataclass
class Context:
    """What every home page needs: the viewer (program and zones included), now, and today in the program."""

    access: Access
    now: dt.datetime

    @property
    def today(self) -> dt.date:
        return local_date(self.access.program_zone, self.now)

    @property
    def start_of_today(self) -> dt.datetime:
        return local_to_utc(self.access.program_zone, self.today, dt.time(0))

    def lines(self, meetings: Iterable[Meeting]) -> list[SessionLine]:
        return [session_line(m, self.access) for m in meetings]


def page_kind(access: Access) -> str:
    """lead, facilitator (of at least one cohort, not a lead), observer or participant. A participant who
    facilitates a cohort (an accepted proposal) gets the facilitator's page."""
    if access.lead:
        return "lead"
    if access.led:
        return "facilitator"
    return "observer" if access.is_observer else "participant"


# -- participant ---------------------------------------------------------------------------------------------

@dataclass
class MyCohort:
    cohort: Cohort
    facilitators: list[str]
    members: list[str]
    group_name: str | None = None
    group_members: list[str] = field(default_factory=list)


@dataclass
class OpenCohort:
    summary: CohortSummary
    action: str            # "signup" or "apply"


@dataclass
class ParticipantHome:
    ctx: Context
    cohorts: list[MyCohort]
    sessions: list[SessionLine]
    waiting: list[tuple[Cohort, int]]          # (cohort, position on its waiting list)
    invitations: list[Cohort]
    applications: list[Application]            # submitted, wait-listed, declined: the applicant's news
    proposals: list[Proposal]
    open_cohorts: list[OpenCohort]
    summaries: list[CohortSummary]
    seats: dict[int, CohortMember]
    positions: dict[int, int]
    applications_by_cohort: dict[int, Application]
    milestones: list[Milestone]
    makeups: list[Any] | None = None           # attendance make-ups waiting for the viewer's work
    readings: list[Any] | None = None          # the book study's readings open this week
    modules: list[tuple[Any, Any]] | None = None   # (module, state) of modules not finished, soonest due first

    @property
    def next_session(self) -> SessionLine | None:
        return self.sessions[0] if self.sessions else None

    @property
    def nothing_due(self) -> bool:
        return not (self.waiting or self.invitations or self.applications or self.proposals or self.makeups
                    or self.readings or self.modules)


def participant_home(session: Session, access: Access, now: dt.datetime | None = None) -> ParticipantHome:
    """A participant's (or an observer's) page: their cohorts with facilitators and members (names of their own
    cohorts only), their small group, the next sessions, what is due, and the cohorts open to them."""
    ctx = Context(access, now or utcnow())
    program, membership = access.program, access.membership
    seats = {s.cohort_id: s for s in session.scalars(
        select(CohortMember).join(Cohort).options(joinedload(CohortMember.cohort))
        .where(Cohort.program_id == program.id, CohortMember.membership_id == membership.id))}
    active_ids = sorted(cid for cid, s in seats.items() if s.status is SeatStatus.active)
    facilitators = _facilitator_names(session, active_ids)
    members = _member_names(session, active_ids)
    mine = (select(SmallGroupMember.group_id).join(SmallGroup)
            .where(SmallGroupMember.membership_id == membership.id, SmallGroup.cohort_id.in_(active_ids or [-1])))
    groups: dict[int, tuple[str, list[str]]] = {}
    for cohort_id, name, user in session.execute(
            select(SmallGroup.cohort_id, SmallGroup.name, User).join(SmallGroupMember)
            .join(Membership, Membership.id == SmallGroupMember.membership_id).join(User)
            .where(SmallGroup.id.in_(mine), Membership.active.is_(True))):
        groups.setdefault(cohort_id, (name, []))[1].append(user.display_name)
    cohorts = []
    for cid in active_ids:
        group = groups.get(cid)
        cohorts.append(MyCohort(seats[cid].cohort, facilitators.get(cid, []), members.get(cid, []),
                                group[0] if group else None, sorted(group[1], key=str.lower) if group else []))
    cohorts.sort(key=lambda c: c.cohort.name.lower())

    sessions = ctx.lines(_upcoming_meetings(session, program, active_ids, ctx.now))
    positions = my_waitlist_positions(session, access)
    waiting = sorted(((seats[cid].cohort, pos) for cid, pos in positions.items() if cid in seats),
                     key=lambda item: item[1])
    invitations = sorted((s.cohort for s in seats.values() if s.status is SeatStatus.invited),
                         key=lambda c: c.name.lower())
    my_apps = list(session.scalars(
        select(Application).join(Application.cohort).options(joinedload(Application.cohort))
        .where(Cohort.program_id == program.id, Application.membership_id == membership.id)
        .order_by(Application.submitted_at.desc(), Application.id.desc())))
    news = [a for a in my_apps if a.status in (ApplicationStatus.submitted, ApplicationStatus.waitlisted,
                                               ApplicationStatus.declined)]
    proposals = list(session.scalars(
        select(Proposal).where(Proposal.program_id == program.id, Proposal.proposer_id == membership.id)
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())))
    summaries = cohort_summaries(session, program)
    open_cohorts = []
    if not access.is_observer:
        applied = {a.cohort_id for a in my_apps if a.status is not ApplicationStatus.withdrawn}
        for s in summaries:
            seat = seats.get(s.cohort.id)
            taken = seat is not None and seat.status in (SeatStatus.active, SeatStatus.waitlisted,
                                                         SeatStatus.invited, SeatStatus.removed)
            if taken or s.cohort.signup_mode is SignupMode.invitation or not s.cohort.signup_is_open(ctx.now):
                continue
            if s.cohort.signup_mode is SignupMode.application:
                if s.cohort.id not in applied:
                    open_cohorts.append(OpenCohort(s, "apply"))
            else:
                open_cohorts.append(OpenCohort(s, "signup"))
    home = ParticipantHome(ctx, cohorts, sessions, waiting, invitations, news, proposals, open_cohorts, summaries,
                           seats, positions, {a.cohort_id: a for a in my_apps},
                           _milestones(session, program, ctx.today))
    if not access.is_observer:
        home.makeups = _makeups_due(session, membership)
        home.readings = _readings_this_week(session, active_ids, ctx.today)
        home.modules = _modules_due(session, access, ctx.now)
    return home


def _makeups_due(session: Session, membership: Membership) -> list[MakeUp]:
    """Make-ups waiting for the participant's work (assigned, or returned with a note): one query."""
    return list(session.scalars(
        select(MakeUp).join(AttendanceRecord, AttendanceRecord.id == MakeUp.record_id)
        .options(joinedload(MakeUp.record).joinedload(AttendanceRecord.meeting))
        .where(AttendanceRecord.membership_id == membership.id,
               MakeUp.status.in_([MakeUpStatus.assigned, MakeUpStatus.returned]))
        .order_by(MakeUp.due_on.is_(None), MakeUp.due_on, MakeUp.id)))


def _readings_this_week(session: Session, cohort_ids: list[int], today: dt.date) -> list[Reading]:
    """The book study's readings open today for the viewer's cohorts (book loaded): one query."""
    return list(session.scalars(
        select(Reading).join(Book, Book.id == Reading.book_id).options(joinedload(Reading.book))
        .where(Reading.starts_on <= today, Reading.ends_on >= today,
               Reading.book_id.in_(select(BookCohort.book_id).where(BookCohort.cohort_id.in_(cohort_ids or [-1]))))
        .order_by(Reading.ends_on, Reading.id)).unique())


def _modules_due(session: Session, access: Access, now: dt.datetime) -> list[tuple[Any, Any]]:
    """Open modules the participant has not finished, soonest due first (the modules feature's own rules)."""
    shown = modules.visible_modules(session, access)
    states = modules.states_for(session, access, shown, now=now)
    due = [(m, states[m.id]) for m in shown if states[m.id].open and not states[m.id].complete]
    far = dt.date.max
    return sorted(due, key=lambda pair: (pair[1].due_on or far, pair[0].title.lower()))


# -- facilitator ---------------------------------------------------------------------------------------------

@dataclass
class FacilitatedCohort:
    summary: CohortSummary
    members: list[str]
    next_session: SessionLine | None      # today's or the next one, for taking attendance

    @property
    def cohort(self) -> Cohort:
        return self.summary.cohort


@dataclass
class FacilitatorHome:
    ctx: Context
    cohorts: list[FacilitatedCohort]
    sessions: list[SessionLine]
    proposals: list[Proposal]
    milestones: list[Milestone]

    @property
    def to_review(self) -> int:
        return sum(c.summary.pending_applications for c in self.cohorts)


def facilitator_home(session: Session, access: Access, now: dt.datetime | None = None) -> FacilitatorHome:
    """A cohort facilitator's page: their cohorts with rosters and waiting lists, applications to review, the
    next sessions of their cohorts and today's or the next session of each for taking attendance."""
    ctx = Context(access, now or utcnow())
    program = access.program
    ids = sorted(access.led)
    summaries = [s for s in cohort_summaries(session, program) if s.cohort.id in ids]
    members = _member_names(session, ids)
    nexts = _next_per_cohort(session, program, ids, ctx.start_of_today)
    cohorts = []
    for s in summaries:
        candidates = [m for m in (nexts.get(s.cohort.id), nexts.get(None)) if m is not None]
        first = min(candidates, key=lambda m: (m.starts_at, m.id)) if candidates else None
        cohorts.append(FacilitatedCohort(s, members.get(s.cohort.id, []),
                                         session_line(first, access, ctx.today) if first else None))
    proposals = list(session.scalars(
        select(Proposal).where(Proposal.program_id == program.id, Proposal.proposer_id == access.id)
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())))
    return FacilitatorHome(ctx, cohorts, ctx.lines(_upcoming_meetings(session, program, ids, ctx.now)), proposals,
                           _milestones(session, program, ctx.today))


# -- lead ----------------------------------------------------------------------------------------------------

@dataclass
class RosterFreshness:
    synced_at: dt.datetime | None
    active_members: int
    connected: bool        # the LMS offers its roster (NRPS) for this course


@dataclass
class LeadHome:
    ctx: Context
    summaries: list[CohortSummary]
    proposals_to_review: int
    sessions: list[SessionLine]
    roster: RosterFreshness
    passback: dict[str, int]                 # pending/sent/failed scores
    milestones: list[Milestone]

    @property
    def applications_to_review(self) -> int:
        return sum(s.pending_applications for s in self.summaries)

    @property
    def seats_taken(self) -> int:
        return sum(s.active for s in self.summaries)

    @property
    def capacity(self) -> int:
        return sum(s.cohort.capacity for s in self.summaries)

    @property
    def waiting(self) -> int:
        return sum(s.waiting for s in self.summaries)


def lead_home(session: Session, access: Access, now: dt.datetime | None = None) -> LeadHome:
    """A lead's page: every cohort with its fill level, waiting list and applications to review, proposals to
    review, the program's next sessions, how fresh the roster is and what the LMS gradebook still waits for."""
    ctx = Context(access, now or utcnow())
    program, course = access.program, access.course
    proposals = session.scalar(select(func.count()).select_from(Proposal).where(
        Proposal.program_id == program.id, Proposal.status == ProposalStatus.submitted)) or 0
    active = session.scalar(select(func.count()).select_from(Membership).where(
        Membership.course_id == course.id, Membership.active.is_(True))) or 0
    passback = delivery_summary(session, course)
    return LeadHome(ctx, cohort_summaries(session, program), int(proposals),
                    ctx.lines(_upcoming_meetings(session, program, None, ctx.now)),
                    RosterFreshness(course.roster_synced_at, int(active), bool(course.nrps_url)), passback,
                    _milestones(session, program, ctx.today))
