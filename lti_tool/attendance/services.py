"""Attendance operations: statuses, the quick roll, self check-in with a rotating code, requirements and their
forecast, make-ups, reports with CSV export, and the import of a Zoom or Teams participant report.

Functions take the session and the acting membership; they check permissions, validate, change models and
flush (never commit), and raise domain errors whose messages say what to do. Every change of a record writes
an ``AttendanceChange`` and recomputes the person's "Attendance" grade in the same transaction.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from lti_tool.attendance.models import (
    AttendanceChange, AttendanceRecord, AttendanceRequirement, AttendanceSettings, AttendanceStatus, ExcusedPolicy,
    MakeUp, MakeUpStatus, StatusKind,
)
from lti_tool.calendar.models import Meeting
from lti_tool.db import utcnow
from lti_tool.errors import DomainError, Forbidden, NotFound
from lti_tool.lti.models import CourseRole, Membership, User
from lti_tool.programs.models import Cohort, CohortFacilitator, CohortMember, Program, SeatStatus
from lti_tool.programs.services import can_manage_cohort, is_lead

CODE_STEP_SECONDS = 30
CODE_DIGITS = 6
GRADE_KEY = "attendance"
GRADE_MAXIMUM = 100.0

DEFAULT_STATUSES = [
    # key, label, kind, points
    ("P", "Present", StatusKind.present, 1.0),
    ("L", "Late", StatusKind.late, 1.0),
    ("E", "Excused", StatusKind.excused, 0.0),
    ("A", "Absent", StatusKind.absent, 0.0),
    ("M", "Made up", StatusKind.made_up, 1.0),
]


class AttendanceError(DomainError):
    """Input a person can correct; ``field`` names the form field the message belongs to, if any."""

    status = 400
    title = "Please check what you entered"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class CheckInRefused(DomainError):
    status = 403
    title = "Check-in refused"


class WrongCode(DomainError):
    """A wrong or expired code: answered 400, and counted by the rate limit."""

    status = 400
    title = "That code is not right"


def _insert_ignoring_conflicts(session: Session, model, rows: list[dict]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on PostgreSQL and SQLite (no savepoints: pysqlite's are unreliable)."""
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(model).values(rows).on_conflict_do_nothing())


# ---- program setup ----------------------------------------------------------------------------------------

def ensure_statuses(session: Session, program: Program) -> list[AttendanceStatus]:
    """The program's statuses in order, the defaults created the first time (P/L/E/A/M)."""
    statuses = list(session.scalars(select(AttendanceStatus).where(AttendanceStatus.program_id == program.id)
                                    .order_by(AttendanceStatus.position, AttendanceStatus.id)))
    if not statuses:
        # Two first visits at once both try: the loser's rows are skipped by the unique (program, key).
        _insert_ignoring_conflicts(session, AttendanceStatus, [
            {"program_id": program.id, "key": key, "label": label, "kind": kind, "points": points, "position": i}
            for i, (key, label, kind, points) in enumerate(DEFAULT_STATUSES)])
        statuses = list(session.scalars(select(AttendanceStatus).where(AttendanceStatus.program_id == program.id)
                                        .order_by(AttendanceStatus.position, AttendanceStatus.id)))
    return statuses


def active_statuses(session: Session, program: Program) -> list[AttendanceStatus]:
    return [s for s in ensure_statuses(session, program) if s.active]


def get_settings(session: Session, program: Program) -> AttendanceSettings:
    settings = session.scalar(select(AttendanceSettings).where(AttendanceSettings.program_id == program.id))
    if settings is None:
        settings = AttendanceSettings(program_id=program.id, checkin_opens_minutes=15, checkin_closes_minutes=15,
                                      late_after_minutes=10, grade_mode="requirement", grading_enabled=True)
        session.add(settings)
        session.flush()
    return settings


def _require_lead(program: Program, actor: Membership) -> None:
    if actor.course_id != program.course_id:
        raise NotFound("There is no such program in this course.")
    if not is_lead(program, actor):
        raise Forbidden("Only the program's leads can change attendance settings.")


def update_status(session: Session, actor: Membership, program: Program, status_id: int, *, key: str, label: str,
                  points: float, active: bool = True) -> AttendanceStatus:
    """Change one status's key, label, points or whether it is offered (leads only)."""
    _require_lead(program, actor)
    statuses = ensure_statuses(session, program)
    status = next((s for s in statuses if s.id == status_id), None)
    if status is None:
        raise NotFound("There is no such status in this program.")
    key = _clean_key(key)
    if any(s.key == key and s.id != status.id for s in statuses):
        raise AttendanceError(f"Another status already uses the key “{key}”: each key must be different.", "key")
    label = (label or "").strip()
    if not label:
        raise AttendanceError("Give the status a label, such as “Present”.", "label")
    if points is None or points < 0 or points > 10:
        raise AttendanceError("Points must be between 0 and 10.", "points")
    status.key, status.label, status.points, status.active = key, label[:60], float(points), bool(active)
    session.flush()
    return status


def add_status(session: Session, actor: Membership, program: Program, *, key: str, label: str, kind: StatusKind,
               points: float) -> AttendanceStatus:
    """A new status (leads only), e.g. "V — Visited another cohort", counted as its ``kind`` says."""
    _require_lead(program, actor)
    statuses = ensure_statuses(session, program)
    key = _clean_key(key)
    if any(s.key == key for s in statuses):
        raise AttendanceError(f"Another status already uses the key “{key}”: each key must be different.", "key")
    label = (label or "").strip()
    if not label:
        raise AttendanceError("Give the status a label.", "label")
    if points is None or points < 0 or points > 10:
        raise AttendanceError("Points must be between 0 and 10.", "points")
    status = AttendanceStatus(program_id=program.id, key=key, label=label[:60], kind=StatusKind(kind),
                              points=float(points), position=len(statuses))
    session.add(status)
    session.flush()
    return status


def _clean_key(key: str) -> str:
    key = (key or "").strip().upper()
    if len(key) != 1 or not key.isalpha():
        raise AttendanceError("The key must be one letter (it is the key pressed on the quick roll).", "key")
    return key


def update_settings(session: Session, actor: Membership, program: Program, *, checkin_opens_minutes: int,
                    checkin_closes_minutes: int, late_after_minutes: int, grade_mode: str,
                    grading_enabled: bool) -> AttendanceSettings:
    _require_lead(program, actor)
    for name, value in (("checkin_opens_minutes", checkin_opens_minutes),
                        ("checkin_closes_minutes", checkin_closes_minutes), ("late_after_minutes", late_after_minutes)):
        if value is None or not 0 <= value <= 24 * 60:
            raise AttendanceError("Give a number of minutes between 0 and 1440.", name)
    if grade_mode not in ("requirement", "share"):
        raise AttendanceError("Choose how the grade is computed.", "grade_mode")
    settings = get_settings(session, program)
    settings.checkin_opens_minutes, settings.checkin_closes_minutes = checkin_opens_minutes, checkin_closes_minutes
    settings.late_after_minutes, settings.grade_mode = late_after_minutes, grade_mode
    settings.grading_enabled = bool(grading_enabled)
    session.flush()
    return settings


def set_requirement(session: Session, actor: Membership, program: Program, cohort: Cohort | None, *,
                    min_sessions: int | None, excused_policy: ExcusedPolicy = ExcusedPolicy.reduces,
                    made_up_counts: bool = True) -> AttendanceRequirement | None:
    """Set (or with ``min_sessions`` None, remove) the program's rule, or one cohort's rule that replaces it."""
    _require_lead(program, actor)
    if cohort is not None and cohort.program_id != program.id:
        raise NotFound("There is no such cohort in this program.")
    cohort_id = cohort.id if cohort else None
    existing = session.scalar(select(AttendanceRequirement).where(
        AttendanceRequirement.program_id == program.id,
        AttendanceRequirement.cohort_id.is_(None) if cohort_id is None else AttendanceRequirement.cohort_id == cohort_id))
    if min_sessions is None:
        if existing is not None:
            session.delete(existing)
            session.flush()
        return None
    if min_sessions < 1 or min_sessions > 500:
        raise AttendanceError("The number of sessions to attend must be between 1 and 500.", "min_sessions")
    if existing is None:
        existing = AttendanceRequirement(program_id=program.id, cohort_id=cohort_id, min_sessions=min_sessions)
        session.add(existing)
    existing.min_sessions = min_sessions
    existing.excused_policy = ExcusedPolicy(excused_policy)
    existing.made_up_counts = bool(made_up_counts)
    session.flush()
    return existing


def requirements_of(session: Session, program: Program) -> dict[int | None, AttendanceRequirement]:
    """The program's rules by cohort id (None: the program's own)."""
    return {r.cohort_id: r for r in session.scalars(
        select(AttendanceRequirement).where(AttendanceRequirement.program_id == program.id))}


def requirement_for(requirements: dict[int | None, AttendanceRequirement], cohort_id: int | None):
    return requirements.get(cohort_id) or requirements.get(None)


# ---- who may do what -----------------------------------------------------------------------------------------

def get_cohort(session: Session, actor: Membership, cohort_id: int) -> Cohort:
    cohort = session.scalar(select(Cohort).join(Cohort.program).options(joinedload(Cohort.program))
                            .where(Cohort.id == cohort_id, Program.course_id == actor.course_id))
    if cohort is None:
        raise NotFound("There is no such cohort in this course.")
    return cohort


def require_manager(session: Session, actor: Membership, cohort: Cohort) -> None:
    if not can_manage_cohort(session, cohort, actor):
        raise Forbidden("Only this cohort's facilitators and the program's leads can take or see its attendance.")


def managed_cohorts(session: Session, actor: Membership, program: Program) -> list[Cohort]:
    """The cohorts ``actor`` takes attendance for: all of them for a lead, else those they facilitate."""
    query = select(Cohort).where(Cohort.program_id == program.id).order_by(Cohort.name)
    if not is_lead(program, actor):
        query = query.join(CohortFacilitator, CohortFacilitator.cohort_id == Cohort.id).where(
            CohortFacilitator.membership_id == actor.id)
    return list(session.scalars(query))


def get_meeting(session: Session, actor: Membership, meeting_id: int) -> Meeting:
    meeting = session.scalar(select(Meeting).options(joinedload(Meeting.program), joinedload(Meeting.cohort))
                             .where(Meeting.id == meeting_id))
    if meeting is None or meeting.program.course_id != actor.course_id:
        raise NotFound("There is no such session in this course.")
    return meeting


def roll_cohort(session: Session, actor: Membership, meeting: Meeting, cohort_id: int | None) -> Cohort:
    """The cohort whose roll is taken at ``meeting``: its own, or for a program-wide session the one chosen."""
    if meeting.cohort_id is not None:
        if cohort_id not in (None, meeting.cohort_id):
            raise AttendanceError("This session belongs to another cohort.", "cohort")
        cohort = meeting.cohort
    else:
        if not cohort_id:
            raise AttendanceError("This session is for the whole program: choose the cohort whose roll you take.",
                                  "cohort")
        cohort = session.get(Cohort, cohort_id)
        if cohort is None or cohort.program_id != meeting.program_id:
            raise NotFound("There is no such cohort in this program.")
    require_manager(session, actor, cohort)
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


def _records(session: Session, meeting_ids: Sequence[int], membership_ids: Sequence[int]) -> list[AttendanceRecord]:
    if not meeting_ids or not membership_ids:
        return []
    return list(session.scalars(select(AttendanceRecord).where(
        AttendanceRecord.meeting_id.in_(list(meeting_ids)),
        AttendanceRecord.membership_id.in_(list(membership_ids)))))


def _status_map(session: Session, program: Program) -> dict[int, AttendanceStatus]:
    return {s.id: s for s in ensure_statuses(session, program)}


# ---- marking --------------------------------------------------------------------------------------------------

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


def roll_sheet(session: Session, actor: Membership, meeting: Meeting, cohort: Cohort) -> RollSheet:
    """What the quick roll shows: the cohort's active members and their records (a fixed number of queries)."""
    require_manager(session, actor, cohort)
    members = active_members(session, [cohort.id])
    statuses = active_statuses(session, meeting.program)
    records = {r.membership_id: r for r in _records(session, [meeting.id], [m.membership_id for m in members])}
    return RollSheet(meeting, cohort, members, records, statuses)


def _status_by_key(session: Session, program: Program, key: str) -> AttendanceStatus:
    key = (key or "").strip().upper()
    status = next((s for s in ensure_statuses(session, program) if s.key == key and s.active), None)
    if status is None:
        raise AttendanceError(f"“{key or '(empty)'}” is not one of this program's attendance statuses.", "status")
    return status


def _seat(session: Session, cohort: Cohort, membership_id: int) -> CohortMember:
    seat = session.scalar(select(CohortMember).options(joinedload(CohortMember.membership))
                          .where(CohortMember.cohort_id == cohort.id, CohortMember.membership_id == membership_id,
                                 CohortMember.status == SeatStatus.active))
    if seat is None or not seat.membership.active:
        raise AttendanceError("That person is not an active member of this cohort, so they cannot be marked.",
                              "membership_id")
    return seat


def _set_record(session: Session, by: Membership | None, meeting: Meeting, member: Membership,
                status: AttendanceStatus, note: str | None, source: str, cohort: Cohort,
                now: dt.datetime | None = None, record: AttendanceRecord | None = None) -> AttendanceRecord:
    """Create or change a record, write its history, recompute the grade. ``note`` None keeps the note."""
    now = now or utcnow()
    if record is None:
        record = session.scalar(select(AttendanceRecord).where(AttendanceRecord.meeting_id == meeting.id,
                                                               AttendanceRecord.membership_id == member.id))
    note = None if note is None else note.strip()[:2000]
    if record is not None and record.status_id == status.id and (note is None or note == record.note):
        return record
    if record is None:
        # Two marks of the same person at once (a quick double tap): INSERT … ON CONFLICT DO NOTHING, then the
        # row is read back, so the second one updates the first's row instead of failing.
        _insert_ignoring_conflicts(session, AttendanceRecord, [
            {"meeting_id": meeting.id, "membership_id": member.id, "status_id": status.id, "note": "",
             "source": source, "marked_at": now}])
        record = session.scalar(select(AttendanceRecord).where(AttendanceRecord.meeting_id == meeting.id,
                                                               AttendanceRecord.membership_id == member.id)
                                .execution_options(populate_existing=True))
        previous = None if not record.changes else record.status_id
    else:
        previous = record.status_id
    record.status_id, record.status = status.id, status
    if note is not None:
        record.note = note
    record.source = source
    record.marked_by_id = by.id if by else None
    record.marked_at = now
    session.flush()
    session.add(AttendanceChange(record=record, changed_by_id=by.id if by else None, changed_at=now,
                                 from_status_id=previous, to_status_id=status.id,
                                 note=record.note, source=source))
    session.flush()
    recompute_grade(session, meeting.program, member, cohort)
    return record


def mark_attendance(session: Session, actor: Membership, meeting: Meeting, cohort: Cohort, membership_id: int,
                    status_key: str, note: str | None = None) -> AttendanceRecord:
    """Mark one person at one session (facilitators of the cohort and leads). The person must hold an active
    seat in ``cohort``, the status must be one of the program's, and the session must belong to the cohort or
    to the whole program."""
    if meeting.program.course_id != actor.course_id:
        raise NotFound("There is no such session in this course.")
    require_manager(session, actor, cohort)
    if meeting.cohort_id not in (None, cohort.id) or cohort.program_id != meeting.program_id:
        raise AttendanceError("This session belongs to another cohort.", "cohort")
    if meeting.cancelled:
        raise AttendanceError("This session was cancelled: there is no attendance to take.")
    status = _status_by_key(session, meeting.program, status_key)
    seat = _seat(session, cohort, membership_id)
    return _set_record(session, actor, meeting, seat.membership, status, note, "roll", cohort)


def set_note(session: Session, actor: Membership, meeting: Meeting, cohort: Cohort, membership_id: int,
             note: str) -> AttendanceRecord:
    """Change the note of an existing record (a note needs a status first)."""
    require_manager(session, actor, cohort)
    seat = _seat(session, cohort, membership_id)
    record = session.scalar(select(AttendanceRecord).where(AttendanceRecord.meeting_id == meeting.id,
                                                           AttendanceRecord.membership_id == seat.membership_id))
    if record is None:
        raise AttendanceError("Choose a status first; the note is kept with it.", "note")
    return _set_record(session, actor, meeting, seat.membership, record.status, note, "roll", cohort,
                       record=record)


def history(session: Session, record: AttendanceRecord) -> list[AttendanceChange]:
    return list(session.scalars(select(AttendanceChange)
                                .options(joinedload(AttendanceChange.changed_by).joinedload(Membership.user),
                                         joinedload(AttendanceChange.from_status), joinedload(AttendanceChange.to_status))
                                .where(AttendanceChange.record_id == record.id).order_by(AttendanceChange.id)))


# ---- self check-in ---------------------------------------------------------------------------------------------

def _code_key() -> bytes:
    secret = current_app.config.get("ATTENDANCE_CHECKIN_SECRET") or current_app.config["SECRET_KEY"]
    return hashlib.sha256(b"attendance-checkin:" + str(secret).encode()).digest()


def time_step(now: dt.datetime) -> int:
    return int(now.timestamp()) // CODE_STEP_SECONDS


def checkin_code(meeting_id: int, step: int) -> str:
    """The code of one meeting in one 30-second step: HMAC-SHA256(secret, meeting id, step), TOTP-style
    dynamic truncation to six digits."""
    digest = hmac.new(_code_key(), f"{meeting_id}:{step}".encode(), hashlib.sha256).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(number % 10 ** CODE_DIGITS).zfill(CODE_DIGITS)


def current_code(meeting: Meeting, now: dt.datetime | None = None) -> tuple[str, int]:
    """The code showing now and the seconds until it changes."""
    now = now or utcnow()
    step = time_step(now)
    return checkin_code(meeting.id, step), CODE_STEP_SECONDS - int(now.timestamp()) % CODE_STEP_SECONDS


def checkin_window(settings: AttendanceSettings, meeting: Meeting) -> tuple[dt.datetime, dt.datetime]:
    return (meeting.starts_at - dt.timedelta(minutes=settings.checkin_opens_minutes),
            meeting.ends_at + dt.timedelta(minutes=settings.checkin_closes_minutes))


def checkin_open(settings: AttendanceSettings, meeting: Meeting, now: dt.datetime | None = None) -> bool:
    opens, closes = checkin_window(settings, meeting)
    return not meeting.cancelled and opens <= (now or utcnow()) <= closes


def _cohort_for_participant(session: Session, actor: Membership, meeting: Meeting) -> Cohort:
    seats = list(session.scalars(select(CohortMember).options(joinedload(CohortMember.cohort))
                                 .join(Cohort, Cohort.id == CohortMember.cohort_id)
                                 .where(CohortMember.membership_id == actor.id,
                                        CohortMember.status == SeatStatus.active,
                                        Cohort.program_id == meeting.program_id).order_by(CohortMember.id)))
    if meeting.cohort_id is not None:
        seat = next((s for s in seats if s.cohort_id == meeting.cohort_id), None)
        if seat is None:
            raise CheckInRefused("This session belongs to another cohort: you can only check in to your own "
                                 "cohort's sessions and the program-wide ones.")
        return seat.cohort
    if not seats:
        raise CheckInRefused("You are not in a cohort of this program yet, so there is no attendance to record.")
    return seats[0].cohort


def check_in(session: Session, actor: Membership, meeting: Meeting, code: str,
             now: dt.datetime | None = None) -> AttendanceRecord:
    """Mark the signed-in participant present (late after the program's late threshold) at ``meeting`` when
    ``code`` is the code showing now or the one just before it. There is no "who" argument: the identity is
    the LMS launch's."""
    now = now or utcnow()
    if meeting.program.course_id != actor.course_id:
        raise NotFound("There is no such session in this course.")
    if actor.role is not CourseRole.participant or not actor.active:
        raise CheckInRefused("Only participants check in; facilitators take the roll instead.")
    cohort = _cohort_for_participant(session, actor, meeting)
    settings = get_settings(session, meeting.program)
    opens, closes = checkin_window(settings, meeting)
    if meeting.cancelled:
        raise CheckInRefused("This session was cancelled.")
    if not opens <= now <= closes:
        raise CheckInRefused(f"Check-in for this session is open from {settings.checkin_opens_minutes} minutes "
                             f"before it starts until {settings.checkin_closes_minutes} minutes after it ends.")
    given = re.sub(r"\s+", "", code or "")
    step = time_step(now)
    if not given or not any(hmac.compare_digest(given, checkin_code(meeting.id, s)) for s in (step, step - 1)):
        raise WrongCode("That code is not the one showing now. Codes change every 30 seconds: "
                        "type the one on the screen.")
    existing = session.scalar(select(AttendanceRecord).options(joinedload(AttendanceRecord.status))
                              .where(AttendanceRecord.meeting_id == meeting.id,
                                     AttendanceRecord.membership_id == actor.id))
    if existing is not None and existing.status.kind in (StatusKind.present, StatusKind.late):
        return existing
    late = now > meeting.starts_at + dt.timedelta(minutes=settings.late_after_minutes)
    kind = StatusKind.late if late else StatusKind.present
    status = next((s for s in active_statuses(session, meeting.program) if s.kind is kind), None)
    if status is None:
        raise CheckInRefused("The program has no status for this; ask your facilitator to mark you.")
    return _set_record(session, actor, meeting, actor, status, None, "check_in", cohort, now=now, record=existing)


def checked_in(session: Session, actor: Membership, meeting: Meeting, cohort: Cohort) -> list[AttendanceRecord]:
    """Who has checked in themselves at ``meeting`` (of ``cohort``), latest first: the facilitator's live list."""
    require_manager(session, actor, cohort)
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


def cohort_grid(session: Session, actor: Membership, cohort: Cohort) -> CohortGrid:
    """Participants × sessions of a cohort with each one's forecast, in a fixed number of queries."""
    require_manager(session, actor, cohort)
    program = cohort.program
    members = active_members(session, [cohort.id])
    meetings = sessions_of(session, program, [cohort.id])
    statuses = _status_map(session, program)
    rule = requirement_for(requirements_of(session, program), cohort.id)
    records = {(r.membership_id, r.meeting_id): r
               for r in _records(session, [m.id for m in meetings], [m.membership_id for m in members])}
    forecasts = {}
    for m in members:
        mine = {meeting.id: records[(m.membership_id, meeting.id)] for meeting in meetings
                if (m.membership_id, meeting.id) in records}
        forecasts[m.membership_id] = evaluate(meetings, mine, statuses, rule)
    return CohortGrid(cohort, meetings, members, records, statuses, forecasts, rule)


@dataclass
class PersonalRecord:
    membership: Membership
    cohort: Cohort | None
    meetings: list[Meeting]
    records: dict[int, AttendanceRecord]                 # meeting id → record
    statuses: dict[int, AttendanceStatus]
    forecast: Forecast
    makeups: dict[int, MakeUp]                           # record id → make-up


def participant_cohort(session: Session, program: Program, membership: Membership) -> Cohort | None:
    """The participant's cohort in the program (the first they joined, if several)."""
    return session.scalar(select(Cohort).join(CohortMember, CohortMember.cohort_id == Cohort.id)
                          .where(Cohort.program_id == program.id, CohortMember.membership_id == membership.id,
                                 CohortMember.status == SeatStatus.active)
                          .order_by(CohortMember.id).limit(1))


def personal_record(session: Session, actor: Membership, program: Program, membership_id: int) -> PersonalRecord:
    """One participant's attendance: their own, or (for their facilitators and leads) anyone's."""
    if program.course_id != actor.course_id:
        raise NotFound("There is no such program in this course.")
    person = session.scalar(select(Membership).options(joinedload(Membership.user))
                            .where(Membership.id == membership_id, Membership.course_id == program.course_id))
    if person is None:
        raise NotFound("There is no such person in this course.")
    cohort = participant_cohort(session, program, person)
    if person.id != actor.id and not (cohort is not None and can_manage_cohort(session, cohort, actor)) \
            and not is_lead(program, actor):
        raise Forbidden("You can see your own attendance, and facilitators see their cohorts'.")
    meetings = sessions_of(session, program, [cohort.id] if cohort else [])
    statuses = _status_map(session, program)
    records = {r.meeting_id: r for r in _records(session, [m.id for m in meetings], [person.id])}
    rule = requirement_for(requirements_of(session, program), cohort.id if cohort else None)
    makeups = {mk.record_id: mk for mk in session.scalars(
        select(MakeUp).where(MakeUp.record_id.in_([r.id for r in records.values()] or [-1])))}
    return PersonalRecord(person, cohort, meetings, records, statuses, evaluate(meetings, records, statuses, rule),
                          makeups)


@dataclass
class CohortSummaryRow:
    cohort: Cohort
    members: int
    held: int
    average: float | None        # share of (member, held session) pairs attended, 0–1
    at_risk: int
    cannot_meet: int


def program_summary(session: Session, actor: Membership, program: Program,
                    now: dt.datetime | None = None) -> list[CohortSummaryRow]:
    """Per cohort the actor manages: sessions held, average attendance over held sessions, people flagged."""
    now = now or utcnow()
    cohorts = managed_cohorts(session, actor, program)
    if not cohorts:
        raise Forbidden("Only facilitators and the program's leads see attendance reports.")
    members = active_members(session, [c.id for c in cohorts])
    meetings = sessions_of(session, program, [c.id for c in cohorts])
    statuses = _status_map(session, program)
    requirements = requirements_of(session, program)
    records = _records(session, [m.id for m in meetings], list({m.membership_id for m in members}))
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


# ---- grades -----------------------------------------------------------------------------------------------------

def grade_for(forecast: Forecast, mode: str) -> tuple[float, str]:
    """The score out of 100 and its comment ("6 of 8 sessions attended")."""
    comment = f"{forecast.attended} of {forecast.total} sessions attended"
    if mode == "requirement" and forecast.required:
        score = min(forecast.points, forecast.required) / forecast.required * GRADE_MAXIMUM
        comment += f"; {forecast.required} required ({forecast.label.lower()})"
    else:
        score = min(forecast.points / forecast.total, 1.0) * GRADE_MAXIMUM if forecast.total else 0.0
    return round(score, 2), comment


def recompute_grade(session: Session, program: Program, membership: Membership, cohort: Cohort | None = None):
    """Recompute one participant's "Attendance" score and put it in the outbox (same transaction)."""
    from lti_tool.grades.models import ComponentKind
    from lti_tool.grades.services import ensure_component, record_score

    if membership.role is not CourseRole.participant:
        return None
    settings = get_settings(session, program)
    if not settings.grading_enabled:
        return None
    cohort = cohort or participant_cohort(session, program, membership)
    if cohort is None:
        return None
    meetings = sessions_of(session, program, [cohort.id])
    statuses = _status_map(session, program)
    records = {r.meeting_id: r for r in _records(session, [m.id for m in meetings], [membership.id])}
    forecast = evaluate(meetings, records, statuses, requirement_for(requirements_of(session, program), cohort.id))
    score, comment = grade_for(forecast, settings.grade_mode)
    component = ensure_component(session, program.course, GRADE_KEY, ComponentKind.attendance, "Attendance",
                                 GRADE_MAXIMUM)
    return record_score(session, component, membership, score, comment=comment)


# ---- make-ups ---------------------------------------------------------------------------------------------------

def _record_for_manager(session: Session, actor: Membership, record_id: int) -> tuple[AttendanceRecord, Cohort]:
    record = session.scalar(select(AttendanceRecord)
                            .options(joinedload(AttendanceRecord.meeting).joinedload(Meeting.program),
                                     joinedload(AttendanceRecord.status), joinedload(AttendanceRecord.membership))
                            .where(AttendanceRecord.id == record_id))
    if record is None or record.meeting.program.course_id != actor.course_id:
        raise NotFound("There is no such attendance record in this course.")
    cohort = record.meeting.cohort or participant_cohort(session, record.meeting.program, record.membership)
    if cohort is None:
        raise NotFound("This person is no longer in a cohort.")
    require_manager(session, actor, cohort)
    return record, cohort


def assign_makeup(session: Session, actor: Membership, record_id: int, task: str,
                  due_on: dt.date | None = None) -> MakeUp:
    """Give an absence a make-up task (facilitators of the cohort and leads)."""
    record, _cohort = _record_for_manager(session, actor, record_id)
    if record.status.kind not in (StatusKind.absent, StatusKind.excused):
        raise AttendanceError("Only an absence can be made up.")
    task = (task or "").strip()
    if not task:
        raise AttendanceError("Describe the make-up task, e.g. “Watch the recording and post a reflection”.", "task")
    makeup = session.scalar(select(MakeUp).where(MakeUp.record_id == record.id))
    if makeup is None:
        makeup = MakeUp(record_id=record.id, task=task)
        session.add(makeup)
    elif makeup.status is MakeUpStatus.approved:
        raise AttendanceError("This make-up is already approved.")
    makeup.task, makeup.due_on, makeup.assigned_by_id = task[:5000], due_on, actor.id
    makeup.status = MakeUpStatus.assigned if not makeup.submission else makeup.status
    session.flush()
    return makeup


def get_makeup(session: Session, actor: Membership, makeup_id: int) -> tuple[MakeUp, bool]:
    """A make-up the actor may see, and whether they review it (else it is their own)."""
    makeup = session.scalar(select(MakeUp).options(
        joinedload(MakeUp.record).joinedload(AttendanceRecord.meeting).joinedload(Meeting.program),
        joinedload(MakeUp.record).joinedload(AttendanceRecord.membership).joinedload(Membership.user))
        .where(MakeUp.id == makeup_id))
    if makeup is None or makeup.record.meeting.program.course_id != actor.course_id:
        raise NotFound("There is no such make-up in this course.")
    if makeup.record.membership_id == actor.id:
        return makeup, False
    _record_for_manager(session, actor, makeup.record_id)
    return makeup, True


def submit_makeup(session: Session, actor: Membership, makeup: MakeUp, work: str) -> MakeUp:
    """The participant hands in their work (text or a link)."""
    if makeup.record.membership_id != actor.id:
        raise Forbidden("Only the person it was given to can hand in a make-up.")
    if makeup.status is MakeUpStatus.approved:
        raise AttendanceError("This make-up is already approved.")
    work = (work or "").strip()
    if not work:
        raise AttendanceError("Write your reflection or paste a link to your work.", "work")
    makeup.submission, makeup.submitted_at, makeup.status = work[:20000], utcnow(), MakeUpStatus.submitted
    session.flush()
    return makeup


def review_makeup(session: Session, actor: Membership, makeup: MakeUp, approve: bool, note: str = "") -> MakeUp:
    """Approve (the record becomes "made up", with history and grade) or return the work with a note."""
    record, cohort = _record_for_manager(session, actor, makeup.record_id)
    if makeup.status is not MakeUpStatus.submitted:
        raise AttendanceError("There is no submitted work to review.")
    note = (note or "").strip()
    if not approve and not note:
        raise AttendanceError("Say what to change when you return the work.", "note")
    makeup.review_note, makeup.reviewed_by_id, makeup.reviewed_at = note[:5000], actor.id, utcnow()
    if approve:
        made_up = next((s for s in active_statuses(session, record.meeting.program) if s.kind is StatusKind.made_up),
                       None)
        if made_up is None:
            raise AttendanceError("The program has no “made up” status; a lead can add one.")
        makeup.status = MakeUpStatus.approved
        _set_record(session, actor, record.meeting, record.membership, made_up,
                    f"Made up: {makeup.task[:200]}", "make_up", cohort, record=record)
    else:
        makeup.status = MakeUpStatus.returned
    session.flush()
    return makeup


def makeups_to_review(session: Session, actor: Membership, cohort: Cohort) -> list[MakeUp]:
    require_manager(session, actor, cohort)
    member_ids = select(CohortMember.membership_id).where(CohortMember.cohort_id == cohort.id)
    return list(session.scalars(
        select(MakeUp).join(MakeUp.record)
        .options(joinedload(MakeUp.record).joinedload(AttendanceRecord.membership).joinedload(Membership.user),
                 joinedload(MakeUp.record).joinedload(AttendanceRecord.meeting))
        .where(AttendanceRecord.membership_id.in_(member_ids), MakeUp.status != MakeUpStatus.approved)
        .join(Meeting, Meeting.id == AttendanceRecord.meeting_id)
        .where(or_(Meeting.cohort_id.is_(None), Meeting.cohort_id == cohort.id))
        .order_by(MakeUp.id)))


# ---- CSV export ---------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP: prefix with an apostrophe)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: Iterable[Sequence]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")   # the BOM makes Excel read UTF-8


def grid_rows(grid: CohortGrid, zone) -> list[list]:
    header = ["Participant", "Email"] + [f"{m.starts_at.astimezone(zone):%Y-%m-%d %H:%M} {m.title}"
                                         for m in grid.meetings] + ["Attended", "Required", "Standing"]
    rows = [header]
    for seat in grid.members:
        user = seat.membership.user
        f = grid.forecasts[seat.membership_id]
        cells = []
        for meeting in grid.meetings:
            record = grid.record(seat.membership_id, meeting.id)
            cells.append(grid.statuses[record.status_id].label if record else "")
        rows.append([user.display_name, user.email, *cells, f.attended,
                     f.required if f.required is not None else "", f.label])
    return rows


def personal_rows(record: PersonalRecord, zone) -> list[list]:
    rows = [["Session", "Starts", "Status", "Note"]]
    for meeting in record.meetings:
        r = record.records.get(meeting.id)
        rows.append([meeting.title, f"{meeting.starts_at.astimezone(zone):%Y-%m-%d %H:%M %Z}",
                     record.statuses[r.status_id].label if r else "Not marked yet", r.note if r else ""])
    return rows


def summary_rows(rows: list[CohortSummaryRow]) -> list[list]:
    out = [["Cohort", "Participants", "Sessions held", "Average attendance", "At risk", "Can no longer meet"]]
    for r in rows:
        out.append([r.cohort.name, r.members, r.held, "" if r.average is None else f"{r.average:.0%}",
                    r.at_risk, r.cannot_meet])
    return out


# ---- Zoom / Teams participant report import ---------------------------------------------------------------------

_COLUMNS = {
    # our field: the headers that mean it (Zoom, Teams), compared without case and spaces
    "name": ("name (original name)", "name", "full name", "participant", "user name"),
    "email": ("user email", "email", "participant id (upn)", "email address", "upn"),
    "join": ("join time", "first join", "first join time"),
    "leave": ("leave time", "last leave", "last leave time"),
    "minutes": ("duration (minutes)", "duration", "in-meeting duration", "attendance duration", "total duration"),
    "action": ("user action", "role", "guest", "recording consent", "in waiting room", "timestamp",
               "participant id", "meeting id", "topic", "start time", "end time", "user"),
}
_KNOWN = {h for headers in _COLUMNS.values() for h in headers}


class ImportFileError(AttendanceError):
    title = "This file cannot be imported"


@dataclass
class ReportRow:
    name: str
    email: str
    minutes: float


@dataclass
class ParsedReport:
    rows: list[ReportRow]
    ignored_columns: list[str] = field(default_factory=list)


def _minutes(text: str) -> float:
    """"62", "62.5", "1h 2m 3s", "45m 10s", "01:02:03" → minutes."""
    text = (text or "").strip().lower()
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        pass
    if re.fullmatch(r"\d+:\d{1,2}(:\d{1,2})?", text):
        parts = [int(p) for p in text.split(":")]
        if len(parts) == 2:
            parts = [0, *parts]
        return parts[0] * 60 + parts[1] + parts[2] / 60
    units = {unit: float(n) for n, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([hms])", text)}
    if not units:
        raise ValueError(text)
    return units.get("h", 0) * 60 + units.get("m", 0) + units.get("s", 0) / 60


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_participant_report(data: bytes) -> ParsedReport:
    """Rows of a Zoom or Teams participant report, one per email with the minutes summed (people rejoin).

    Teams files may be UTF-16 and tab-separated, and start with a summary block: the table starts at the
    first line that has an email column and a duration column."""
    if not data:
        raise ImportFileError("The file is empty. Choose the participant report you downloaded from Zoom or Teams.")
    text = _decode(data)
    lines = text.splitlines()
    header_at, delimiter, columns = None, ",", {}
    for i, line in enumerate(lines[:60]):
        for delim in ("\t", ",", ";"):
            cells = next(csv.reader([line], delimiter=delim))
            norm = [c.strip().strip('"').lower() for c in cells]
            found = {}
            for our, headers in _COLUMNS.items():
                for j, cell in enumerate(norm):
                    if cell in headers and our not in found:
                        found[our] = j
            if "email" in found and "minutes" in found:
                header_at, delimiter, columns = i, delim, found
                break
        if header_at is not None:
            break
    if header_at is None:
        first = next(csv.reader([lines[0]] if lines else [""]))
        raise ImportFileError(
            "The file's columns are not those of a Zoom or Teams participant report. It has: "
            + (", ".join(f"“{c.strip()}”" for c in first if c.strip()) or "no columns")
            + ". Zoom's report has “User Email” and “Duration (Minutes)”; Teams' has “Email” (or "
              "“Participant ID (UPN)”) and “Duration”.", "file")
    reader = csv.reader(lines[header_at:], delimiter=delimiter)
    header = next(reader)
    ignored = [h.strip() for h in header if h.strip() and h.strip().lower() not in _KNOWN]
    totals: dict[str, ReportRow] = {}
    for number, cells in enumerate(reader, start=header_at + 2):
        if not any(c.strip() for c in cells):
            if totals:
                break            # Teams: a blank line ends the participants table
            continue
        if len(cells) <= max(columns.values()):
            continue
        email = cells[columns["email"]].strip().lower()
        if not email:
            continue
        try:
            minutes = _minutes(cells[columns["minutes"]])
        except ValueError:
            raise ImportFileError(f"Line {number}: “{cells[columns['minutes']]}” is not a duration.", "file") from None
        name = cells[columns["name"]].strip() if "name" in columns else ""
        row = totals.setdefault(email, ReportRow(name=name, email=email, minutes=0.0))
        row.minutes += minutes
    if not totals:
        raise ImportFileError("The report lists nobody with an email address.", "file")
    return ParsedReport(list(totals.values()), ignored)


@dataclass
class ImportMatch:
    seat: CohortMember
    minutes: float
    proposed: AttendanceStatus
    current: AttendanceStatus | None


@dataclass
class ImportReview:
    matched: list[ImportMatch]
    unmatched: list[ReportRow]                  # emails of nobody in the cohort
    absent_from_report: list[CohortMember]      # cohort members the report does not list (left unchanged)
    ignored_columns: list[str]


def propose_status(minutes: float, meeting: Meeting, statuses: list[AttendanceStatus]) -> AttendanceStatus:
    """Three quarters of the session or more: present; a quarter or more: late (came late or left early);
    less: absent. The facilitator can change each on the review screen."""
    share = minutes / max(meeting.duration_minutes, 1)
    kind = StatusKind.present if share >= 0.75 else StatusKind.late if share >= 0.25 else StatusKind.absent
    return next(s for s in statuses if s.kind is kind)


def review_import(session: Session, actor: Membership, meeting: Meeting, cohort: Cohort,
                  report: ParsedReport) -> ImportReview:
    """Match the report to the cohort's active members by email (ignoring case). Nothing is saved."""
    sheet = roll_sheet(session, actor, meeting, cohort)
    statuses = sheet.statuses
    if not all(any(s.kind is k for s in statuses) for k in (StatusKind.present, StatusKind.late, StatusKind.absent)):
        raise AttendanceError("The program needs present, late and absent statuses to import a report.")
    by_email = {(s.membership.user.email or "").strip().lower(): s for s in sheet.members if s.membership.user.email}
    matched, unmatched, seen = [], [], set()
    for row in report.rows:
        seat = by_email.get(row.email)
        if seat is None:
            unmatched.append(row)
            continue
        seen.add(seat.membership_id)
        record = sheet.records.get(seat.membership_id)
        matched.append(ImportMatch(seat, row.minutes, propose_status(row.minutes, meeting, statuses),
                                   record.status if record else None))
    absent = [s for s in sheet.members if s.membership_id not in seen]
    return ImportReview(matched, unmatched, absent, report.ignored_columns)


def apply_import(session: Session, actor: Membership, meeting: Meeting, cohort: Cohort,
                 decisions: dict[int, str]) -> int:
    """Save the reviewed statuses (membership id → status key), each with its history; all or nothing:
    one wrong person or status refuses the whole import."""
    require_manager(session, actor, cohort)
    if not decisions:
        raise AttendanceError("There is nothing to import.")
    changed = 0
    for membership_id, key in decisions.items():
        before = session.scalar(select(AttendanceRecord.status_id).where(
            AttendanceRecord.meeting_id == meeting.id, AttendanceRecord.membership_id == membership_id))
        status = _status_by_key(session, meeting.program, key)
        seat = _seat(session, cohort, membership_id)
        if meeting.cohort_id not in (None, cohort.id):
            raise AttendanceError("This session belongs to another cohort.", "cohort")
        _set_record(session, actor, meeting, seat.membership, status, None, "import", cohort)
        changed += before != status.id
    return changed
