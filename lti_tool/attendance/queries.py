"""What the attendance pages show, each built in a fixed number of queries: the scoped loaders (404 for
anything outside the viewer's program), the quick roll's sheet, the check-in screen, the cohort grid, a
personal record, the program summary, and the forecast of where a participant stands against their rule.

Nothing here writes: a program whose settings were never saved reads the defaults.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from lti_tool.attendance.models import (
    AttendanceChange, AttendanceRecord, AttendanceRequirement, AttendanceSettings, AttendanceStatus, ExcusedPolicy,
    MakeUp, MakeUpStatus, StatusKind,
)
from lti_tool.attendance.permissions import (
    checkin_open, checkin_window, current_code, require_cohort_manager, require_record_viewer, require_settings_lead,
    time_step,
)
from lti_tool.calendar.models import Meeting
from lti_tool.course.access import Access
from lti_tool.db import utcnow
from lti_tool.errors import Forbidden, InvalidInput, NotFound
from lti_tool.lti.models import Membership, User
from lti_tool.programs.models import Cohort, CohortMember, Program, SeatStatus
from lti_tool.programs.queries import managed_cohorts

DEFAULT_SETTINGS = {"checkin_opens_minutes": 15, "checkin_closes_minutes": 15, "late_after_minutes": 10,
                    "grade_mode": "requirement", "grading_enabled": True}


# ---- the program's statuses, settings and rules ------------------------------------------------------------

def program_statuses(session: Session, program: Program) -> list[AttendanceStatus]:
    """The program's statuses in order (the first visit to the attendance pages makes the defaults: ``writes.create_default_statuses``)."""
    return list(session.scalars(select(AttendanceStatus).where(AttendanceStatus.program_id == program.id)
                                .order_by(AttendanceStatus.position, AttendanceStatus.id)))


def active_statuses(session: Session, program: Program) -> list[AttendanceStatus]:
    return [s for s in program_statuses(session, program) if s.active]


def settings_of(session: Session, program: Program) -> AttendanceSettings:
    """The program's settings; the defaults, not saved, while a lead has never saved any."""
    settings = session.scalar(select(AttendanceSettings).where(AttendanceSettings.program_id == program.id))
    return settings if settings is not None else AttendanceSettings(program_id=program.id, **DEFAULT_SETTINGS)


def requirements_of(session: Session, program: Program) -> dict[int | None, AttendanceRequirement]:
    """The program's rules by cohort id (None: the program's own)."""
    return {r.cohort_id: r for r in session.scalars(
        select(AttendanceRequirement).where(AttendanceRequirement.program_id == program.id))}


def requirement_for(requirements: dict[int | None, AttendanceRequirement], cohort_id: int | None):
    """A cohort's rule, else the program's."""
    return requirements.get(cohort_id) or requirements.get(None)


# ---- scoped loaders ---------------------------------------------------------------------------------------

def _program(access: Access) -> Program:
    if access.program is None:
        raise NotFound("This course has no Communities of Practice program yet.")
    return access.program


def get_meeting(session: Session, access: Access, meeting_id: int) -> Meeting:
    """A session of the viewer's program (404 for any other id)."""
    meeting = session.scalar(select(Meeting).options(joinedload(Meeting.cohort))
                             .where(Meeting.id == meeting_id, Meeting.program_id == _program(access).id))
    if meeting is None:
        raise NotFound("There is no such session in this course.")
    return meeting


def roll_cohort(session: Session, access: Access, meeting: Meeting, cohort_id: int | None) -> Cohort:
    """The cohort whose roll is taken at ``meeting`` (its own, or for a program-wide session the one chosen),
    if ``access`` manages it."""
    if meeting.cohort_id is not None:
        if cohort_id not in (None, meeting.cohort_id):
            raise InvalidInput("This session belongs to another cohort.", "cohort")
        cohort = meeting.cohort
    else:
        if not cohort_id:
            raise InvalidInput("This session is for the whole program: choose the cohort whose roll you take.",
                               "cohort")
        cohort = session.get(Cohort, cohort_id)
        if cohort is None or cohort.program_id != meeting.program_id:
            raise NotFound("There is no such cohort in this program.")
    require_cohort_manager(access, cohort)
    return cohort


def active_members(session: Session, cohort_ids: Iterable[int]) -> list[CohortMember]:
    """Active seats of the cohorts with their memberships and users, by name (one query)."""
    ids = list(cohort_ids)
    if not ids:
        return []
    return list(session.scalars(
        select(CohortMember).join(CohortMember.membership).join(Membership.user)
        .options(joinedload(CohortMember.membership).joinedload(Membership.user))
        .where(CohortMember.cohort_id.in_(ids), CohortMember.status == SeatStatus.active,
               Membership.active.is_(True))
        .order_by(User.family_name, User.name, Membership.id)))


def sessions_of(session: Session, program: Program, cohort_ids: Iterable[int] | None = None) -> list[Meeting]:
    """The program's scheduled (not cancelled) sessions: program-wide ones and those of the cohorts given
    (all cohorts when None), in date order."""
    query = select(Meeting).where(Meeting.program_id == program.id, Meeting.cancelled.is_(False))
    if cohort_ids is not None:
        query = query.where(or_(Meeting.cohort_id.is_(None), Meeting.cohort_id.in_(list(cohort_ids) or [-1])))
    return list(session.scalars(query.order_by(Meeting.starts_at, Meeting.id)))


def records_of(session: Session, meeting_ids: Sequence[int], membership_ids: Sequence[int]) -> list[AttendanceRecord]:
    """The records of these people at these sessions (one query, none when either is empty)."""
    if not meeting_ids or not membership_ids:
        return []
    return list(session.scalars(select(AttendanceRecord).where(
        AttendanceRecord.meeting_id.in_(list(meeting_ids)),
        AttendanceRecord.membership_id.in_(list(membership_ids)))))


def participant_cohort(session: Session, program: Program, membership: Membership) -> Cohort | None:
    """The participant's cohort in the program (the first they joined, if several)."""
    return session.scalar(select(Cohort).join(CohortMember, CohortMember.cohort_id == Cohort.id)
                          .where(Cohort.program_id == program.id, CohortMember.membership_id == membership.id,
                                 CohortMember.status == SeatStatus.active)
                          .order_by(CohortMember.id).limit(1))


def record_for_manager(session: Session, access: Access, record_id: int) -> tuple[AttendanceRecord, Cohort]:
    """A record of the viewer's program with the cohort it counts for, if ``access`` manages that cohort."""
    record = session.scalar(select(AttendanceRecord).join(AttendanceRecord.meeting)
                            .options(joinedload(AttendanceRecord.meeting), joinedload(AttendanceRecord.status),
                                     joinedload(AttendanceRecord.membership).joinedload(Membership.user))
                            .where(AttendanceRecord.id == record_id, Meeting.program_id == _program(access).id))
    if record is None:
        raise NotFound("There is no such attendance record in this course.")
    cohort = record.meeting.cohort or participant_cohort(session, record.meeting.program, record.membership)
    if cohort is None:
        raise NotFound("This person is no longer in a cohort.")
    require_cohort_manager(access, cohort)
    return record, cohort


def history(session: Session, record: AttendanceRecord) -> list[AttendanceChange]:
    """Every change of a record, oldest first, with who made it (load the record with ``record_for_manager``)."""
    return list(session.scalars(select(AttendanceChange)
                                .options(joinedload(AttendanceChange.changed_by).joinedload(Membership.user),
                                         joinedload(AttendanceChange.from_status), joinedload(AttendanceChange.to_status))
                                .where(AttendanceChange.record_id == record.id).order_by(AttendanceChange.id)))


# ---- the quick roll and the check-in screen ------------------------------------------------------------------

@dataclass
class RollSheet:
    meeting: Meeting
    cohort: Cohort
    members: list[CohortMember]
    records: dict[int, AttendanceRecord]        # membership id → record
    statuses: list[AttendanceStatus]

    @property
    def marked(self) -> int:
        return sum(1 for m in self.members if m.membership_id in self.records)


def roll_sheet(session: Session, access: Access, meeting: Meeting, cohort: Cohort) -> RollSheet:
    """What the quick roll shows: the cohort's active members and their records (a fixed number of queries)."""
    require_cohort_manager(access, cohort)
    members = active_members(session, [cohort.id])
    statuses = active_statuses(session, meeting.program)
    records = {r.membership_id: r for r in records_of(session, [meeting.id], [m.membership_id for m in members])}
    return RollSheet(meeting, cohort, members, records, statuses)


@dataclass
class CheckInScreen:
    """What the facilitator shows: the code now, its QR step, and the window the code works in."""

    code: str
    seconds: int                # until the code changes
    step: int
    is_open: bool
    opens: dt.datetime
    closes: dt.datetime
    settings: AttendanceSettings


def checkin_screen(session: Session, access: Access, meeting: Meeting, cohort: Cohort,
                   now: dt.datetime | None = None) -> CheckInScreen:
    """The check-in code of ``meeting`` for those who manage ``cohort``."""
    require_cohort_manager(access, cohort)
    now = now or utcnow()
    settings = settings_of(session, meeting.program)
    code, seconds = current_code(meeting, now)
    opens, closes = checkin_window(settings, meeting)
    return CheckInScreen(code, seconds, time_step(now), checkin_open(settings, meeting, now), opens, closes, settings)


def checked_in(session: Session, access: Access, meeting: Meeting, cohort: Cohort) -> list[AttendanceRecord]:
    """Who has checked in themselves at ``meeting`` (of ``cohort``), latest first: the facilitator's live list."""
    require_cohort_manager(access, cohort)
    member_ids = select(CohortMember.membership_id).where(CohortMember.cohort_id == cohort.id,
                                                         CohortMember.status == SeatStatus.active)
    return list(session.scalars(
        select(AttendanceRecord)
        .options(joinedload(AttendanceRecord.membership).joinedload(Membership.user),
                 joinedload(AttendanceRecord.status))
        .where(AttendanceRecord.meeting_id == meeting.id, AttendanceRecord.source == "check_in",
               AttendanceRecord.membership_id.in_(member_ids))
        .order_by(AttendanceRecord.marked_at.desc())))


# ---- requirements and forecast -------------------------------------------------------------------------------

MET, ON_TRACK, AT_RISK, CANNOT_MEET, NO_RULE = "met", "on_track", "at_risk", "cannot_meet", "no_rule"
STATE_LABELS = {MET: "Requirement met", ON_TRACK: "On track", AT_RISK: "At risk",
                CANNOT_MEET: "Can no longer meet the requirement", NO_RULE: "No requirement set"}


@dataclass
class Forecast:
    """Where a participant stands against their rule, over every scheduled session (past and future).

    - attended: present, late, made up (when the rule counts make-ups), excused (when it counts as attended);
    - remaining: sessions not marked yet (future ones, and past ones nobody marked: they can still be marked);
    - required: N; with "excused reduces", N shrinks in proportion: ceil(N × (M − excused) / M);
    - needed = max(required − attended, 0).

    States: **met** (needed = 0); **can no longer meet** (needed > remaining); **at risk**: at least one
    session has been missed and at most one more may be missed (remaining − needed ≤ 1), so one more absence
    makes the rule impossible or leaves no margin at all; otherwise **on track**.
    """

    total: int = 0
    attended: int = 0
    excused: int = 0
    missed: int = 0
    remaining: int = 0
    points: float = 0.0
    required: int | None = None
    needed: int = 0
    state: str = NO_RULE
    rule: AttendanceRequirement | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def flagged(self) -> bool:
        return self.state in (AT_RISK, CANNOT_MEET)

    @property
    def explanation(self) -> str:
        if self.state == NO_RULE:
            return f"{self.attended} of {self.total} sessions attended."
        if self.state == MET:
            return f"Requirement met: {self.attended} attended, {self.required} required."
        if self.state == CANNOT_MEET:
            return (f"{self.needed} more sessions are needed but only {self.remaining} remain, so the requirement "
                    f"can no longer be met.")
        return f"Needs {self.needed} of the {self.remaining} remaining sessions."


def evaluate(meetings: Sequence[Meeting], records: dict[int, AttendanceRecord], statuses: dict[int, AttendanceStatus],
             rule: AttendanceRequirement | None) -> Forecast:
    """The forecast of one person from their sessions and their records (meeting id → record). Pure."""
    f = Forecast(total=len(meetings), rule=rule)
    made_up_counts = rule is None or rule.made_up_counts
    excused_attends = rule is not None and rule.excused_policy is ExcusedPolicy.attended
    for meeting in meetings:
        record = records.get(meeting.id)
        if record is None:
            f.remaining += 1
            continue
        status = statuses[record.status_id]
        if status.kind in (StatusKind.present, StatusKind.late) or \
                (status.kind is StatusKind.made_up and made_up_counts):
            f.attended += 1
            f.points += status.points
        elif status.kind is StatusKind.excused:
            f.excused += 1
            if excused_attends:
                f.attended += 1
                f.points += max(status.points, 1.0)
        else:
            f.missed += 1
    if rule is None:
        return f
    required = rule.min_sessions
    if not excused_attends and f.excused and f.total:
        required = math.ceil(rule.min_sessions * (f.total - f.excused) / f.total)
    f.required = required
    f.needed = max(required - f.attended, 0)
    if f.needed == 0:
        f.state = MET
    elif f.needed > f.remaining:
        f.state = CANNOT_MEET
    elif f.missed > 0 and f.remaining - f.needed <= 1:
        f.state = AT_RISK
    else:
        f.state = ON_TRACK
    return f


def forecast_of(session: Session, program: Program, membership: Membership, cohort: Cohort) -> Forecast:
    """One participant's forecast in ``cohort`` (four queries)."""
    meetings = sessions_of(session, program, [cohort.id])
    statuses = {s.id: s for s in program_statuses(session, program)}
    records = {r.meeting_id: r for r in records_of(session, [m.id for m in meetings], [membership.id])}
    return evaluate(meetings, records, statuses, requirement_for(requirements_of(session, program), cohort.id))


# ---- the cohort grid, a personal record, the summary ------------------------------------------------------------

@dataclass
class CohortGrid:
    cohort: Cohort
    meetings: list[Meeting]
    members: list[CohortMember]
    records: dict[tuple[int, int], AttendanceRecord]     # (membership id, meeting id) → record
    statuses: dict[int, AttendanceStatus]
    forecasts: dict[int, Forecast]                       # membership id → forecast
    rule: AttendanceRequirement | None

    def record(self, membership_id: int, meeting_id: int) -> AttendanceRecord | None:
        return self.records.get((membership_id, meeting_id))

    @property
    def flagged(self) -> list[CohortMember]:
        return [m for m in self.members if self.forecasts[m.membership_id].flagged]


def cohort_grid(session: Session, access: Access, cohort: Cohort) -> CohortGrid:
    """Participants × sessions of a cohort with each one's forecast, in a fixed number of queries."""
    require_cohort_manager(access, cohort)
    program = cohort.program
    members = active_members(session, [cohort.id])
    meetings = sessions_of(session, program, [cohort.id])
    statuses = {s.id: s for s in program_statuses(session, program)}
    rule = requirement_for(requirements_of(session, program), cohort.id)
    records = {(r.membership_id, r.meeting_id): r
               for r in records_of(session, [m.id for m in meetings], [m.membership_id for m in members])}
    forecasts = {}
    for m in members:
        mine = {meeting.id: records[(m.membership_id, meeting.id)] for meeting in meetings
                if (m.membership_id, meeting.id) in records}
        forecasts[m.membership_id] = evaluate(meetings, mine, statuses, rule)
    return CohortGrid(cohort, meetings, members, records, statuses, forecasts, rule)


def makeups_to_review(session: Session, access: Access, cohort: Cohort) -> list[MakeUp]:
    """The cohort's make-ups not approved yet, for those who manage it."""
    require_cohort_manager(access, cohort)
    member_ids = select(CohortMember.membership_id).where(CohortMember.cohort_id == cohort.id)
    return list(session.scalars(
        select(MakeUp).join(MakeUp.record)
        .options(joinedload(MakeUp.record).joinedload(AttendanceRecord.membership).joinedload(Membership.user),
                 joinedload(MakeUp.record).joinedload(AttendanceRecord.meeting))
        .where(AttendanceRecord.membership_id.in_(member_ids), MakeUp.status != MakeUpStatus.approved)
        .join(Meeting, Meeting.id == AttendanceRecord.meeting_id)
        .where(or_(Meeting.cohort_id.is_(None), Meeting.cohort_id == cohort.id))
        .order_by(MakeUp.id)))


@dataclass
class PersonalRecord:
    membership: Membership
    cohort: Cohort | None
    meetings: list[Meeting]
    records: dict[int, AttendanceRecord]                 # meeting id → record
    statuses: dict[int, AttendanceStatus]
    forecast: Forecast
    makeups: dict[int, MakeUp]                           # record id → make-up
    open_now: frozenset[int]                             # meetings whose check-in is open now


def personal_record(session: Session, access: Access, membership_id: int,
                    now: dt.datetime | None = None) -> PersonalRecord:
    """One participant's attendance: their own, or (for those who manage their cohort, and leads) anyone's."""
    program = _program(access)
    person = session.scalar(select(Membership).options(joinedload(Membership.user))
                            .where(Membership.id == membership_id, Membership.course_id == program.course_id))
    if person is None:
        raise NotFound("There is no such person in this course.")
    cohort = participant_cohort(session, program, person)
    require_record_viewer(access, person.id, cohort)
    meetings = sessions_of(session, program, [cohort.id] if cohort else [])
    statuses = {s.id: s for s in program_statuses(session, program)}
    records = {r.meeting_id: r for r in records_of(session, [m.id for m in meetings], [person.id])}
    rule = requirement_for(requirements_of(session, program), cohort.id if cohort else None)
    makeups = {mk.record_id: mk for mk in session.scalars(
        select(MakeUp).where(MakeUp.record_id.in_([r.id for r in records.values()] or [-1])))}
    settings, now = settings_of(session, program), now or utcnow()
    open_now = frozenset(m.id for m in meetings if checkin_open(settings, m, now))
    return PersonalRecord(person, cohort, meetings, records, statuses, evaluate(meetings, records, statuses, rule),
                          makeups, open_now)


@dataclass
class CohortSummaryRow:
    cohort: Cohort
    members: int
    held: int
    average: float | None        # share of (member, held session) pairs attended, 0–1
    at_risk: int
    cannot_meet: int


def program_summary(session: Session, access: Access, now: dt.datetime | None = None) -> list[CohortSummaryRow]:
    """Per cohort ``access`` manages: sessions held, average attendance over held sessions, people flagged."""
    now = now or utcnow()
    program = _program(access)
    cohorts = managed_cohorts(session, access)
    if not cohorts:
        raise Forbidden("Only facilitators and the program's leads see attendance reports.")
    members = active_members(session, [c.id for c in cohorts])
    meetings = sessions_of(session, program, [c.id for c in cohorts])
    statuses = {s.id: s for s in program_statuses(session, program)}
    requirements = requirements_of(session, program)
    records = records_of(session, [m.id for m in meetings], list({m.membership_id for m in members}))
    by_person: dict[int, dict[int, AttendanceRecord]] = {}
    for r in records:
        by_person.setdefault(r.membership_id, {})[r.meeting_id] = r
    rows = []
    for cohort in cohorts:
        mine = [m for m in meetings if m.cohort_id in (None, cohort.id)]
        held = [m for m in mine if m.starts_at <= now]
        seats = [s for s in members if s.cohort_id == cohort.id]
        rule = requirement_for(requirements, cohort.id)
        attended = possible = at_risk = cannot = 0
        for seat in seats:
            person_records = by_person.get(seat.membership_id, {})
            forecast = evaluate(mine, person_records, statuses, rule)
            at_risk += forecast.state == AT_RISK
            cannot += forecast.state == CANNOT_MEET
            held_forecast = evaluate(held, person_records, statuses, rule)
            attended += held_forecast.attended
            possible += len(held) - held_forecast.excused * (rule is None or rule.excused_policy is ExcusedPolicy.reduces)
        rows.append(CohortSummaryRow(cohort, len(seats), len(held), attended / possible if possible else None,
                                     at_risk, cannot))
    return rows


# ---- make-ups and the settings page -------------------------------------------------------------------------------

def get_makeup(session: Session, access: Access, makeup_id: int) -> tuple[MakeUp, bool]:
    """A make-up the viewer may see, and whether they review it (else it is their own)."""
    makeup = session.scalar(
        select(MakeUp).join(MakeUp.record).join(AttendanceRecord.meeting)
        .options(joinedload(MakeUp.record).joinedload(AttendanceRecord.meeting),
                 joinedload(MakeUp.record).joinedload(AttendanceRecord.membership).joinedload(Membership.user))
        .where(MakeUp.id == makeup_id, Meeting.program_id == _program(access).id))
    if makeup is None:
        raise NotFound("There is no such make-up in this course.")
    if makeup.record.membership_id == access.id:
        return makeup, False
    record_for_manager(session, access, makeup.record_id)
    return makeup, True


@dataclass
class SettingsPage:
    statuses: list[AttendanceStatus]
    settings: AttendanceSettings
    requirements: dict[int | None, AttendanceRequirement]
    cohorts: list[Cohort]


def settings_page(session: Session, access: Access) -> SettingsPage:
    """The lead's settings page: statuses, check-in and grade settings, the rules and the cohorts they name."""
    require_settings_lead(access)
    program = _program(access)
    return SettingsPage(program_statuses(session, program), settings_of(session, program),
                        requirements_of(session, program), managed_cohorts(session, access))
