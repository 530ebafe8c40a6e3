"""Attendance changes: the program's statuses, settings and requirements (leads), marks on the quick roll and
from an imported report, self check-in, make-ups, and the "Attendance" grade they recompute.

Each function takes the session and the acting person's ``Access``; it checks permission, validates (raising
``InvalidInput`` with the form field it concerns), changes models and flushes, never commits. Every change of
a record writes an ``AttendanceChange`` and recomputes the person's grade in the same transaction.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from lti_tool.attendance.models import (
    AttendanceChange, AttendanceRecord, AttendanceRequirement, AttendanceSettings, AttendanceStatus, ExcusedPolicy,
    MakeUp, MakeUpStatus, StatusKind,
)
from lti_tool.attendance.permissions import (
    CheckInRefused, checkin_window, require_code, require_cohort_manager, require_settings_lead,
)
from lti_tool.attendance.queries import (
    forecast_of, participant_cohort, program_statuses, record_for_manager, settings_of,
)
from lti_tool.calendar.models import Meeting
from lti_tool.course import events
from lti_tool.course.access import Access
from lti_tool.db import insert_ignoring_conflicts, utcnow
from lti_tool.errors import Forbidden, InvalidInput, NotFound
from lti_tool.grades.models import ComponentKind
from lti_tool.grades.writes import ensure_component, record_score
from lti_tool.lti.models import CourseRole, Membership
from lti_tool.programs.models import Cohort, CohortMember, Program, SeatStatus

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


# ---- the program's statuses, settings and rules (leads) ----------------------------------------------------

def create_default_statuses(session: Session, program: Program) -> bool:
    """Give a program without statuses the defaults (P/L/E/A/M); True when they were made now."""
    if session.scalar(select(AttendanceStatus.id).where(AttendanceStatus.program_id == program.id).limit(1)):
        return False
    # Two first visits at once both try: the loser's rows are skipped by the unique (program, key).
    insert_ignoring_conflicts(session, AttendanceStatus, [
        {"program_id": program.id, "key": key, "label": label, "kind": kind, "points": points, "position": i}
        for i, (key, label, kind, points) in enumerate(DEFAULT_STATUSES)])
    return True


def ensure_statuses(session: Session, program: Program) -> list[AttendanceStatus]:
    """The program's statuses in order, the defaults created the first time."""
    create_default_statuses(session, program)
    return program_statuses(session, program)


def _check_status(statuses: list[AttendanceStatus], key: str, label: str, points: float,
                  status_id: int | None = None) -> tuple[str, str]:
    key = (key or "").strip().upper()
    if len(key) != 1 or not key.isalpha():
        raise InvalidInput("The key must be one letter (it is the key pressed on the quick roll).", "key")
    if any(s.key == key and s.id != status_id for s in statuses):
        raise InvalidInput(f"Another status already uses the key “{key}”: each key must be different.", "key")
    label = (label or "").strip()
    if not label:
        raise InvalidInput("Give the status a label, such as “Present”.", "label")
    if points is None or points < 0 or points > 10:
        raise InvalidInput("Points must be between 0 and 10.", "points")
    return key, label[:60]


def update_status(session: Session, access: Access, status_id: int, *, key: str, label: str, points: float,
                  active: bool = True) -> AttendanceStatus:
    """Change one status's key, label, points or whether it is offered (leads only)."""
    require_settings_lead(access)
    statuses = ensure_statuses(session, access.program)
    status = next((s for s in statuses if s.id == status_id), None)
    if status is None:
        raise NotFound("There is no such status in this program.")
    status.key, status.label = _check_status(statuses, key, label, points, status.id)
    status.points, status.active = float(points), bool(active)
    session.flush()
    return status


def add_status(session: Session, access: Access, *, key: str, label: str, kind: StatusKind,
               points: float) -> AttendanceStatus:
    """A new status (leads only), e.g. "V — Visited another cohort", counted as its ``kind`` says."""
    require_settings_lead(access)
    statuses = ensure_statuses(session, access.program)
    key, label = _check_status(statuses, key, label, points)
    status = AttendanceStatus(program_id=access.program.id, key=key, label=label, kind=StatusKind(kind),
                              points=float(points), position=len(statuses))
    session.add(status)
    session.flush()
    return status


def update_settings(session: Session, access: Access, *, checkin_opens_minutes: int, checkin_closes_minutes: int,
                    late_after_minutes: int, grade_mode: str, grading_enabled: bool) -> AttendanceSettings:
    """The check-in window, the late threshold and how the grade is computed (leads only)."""
    require_settings_lead(access)
    for name, value in (("checkin_opens_minutes", checkin_opens_minutes),
                        ("checkin_closes_minutes", checkin_closes_minutes), ("late_after_minutes", late_after_minutes)):
        if value is None or not 0 <= value <= 24 * 60:
            raise InvalidInput("Give a number of minutes between 0 and 1440.", name)
    if grade_mode not in ("requirement", "share"):
        raise InvalidInput("Choose how the grade is computed.", "grade_mode")
    settings = settings_of(session, access.program)
    if settings.id is None:
        session.add(settings)
    settings.checkin_opens_minutes, settings.checkin_closes_minutes = checkin_opens_minutes, checkin_closes_minutes
    settings.late_after_minutes, settings.grade_mode = late_after_minutes, grade_mode
    settings.grading_enabled = bool(grading_enabled)
    session.flush()
    return settings


def set_requirement(session: Session, access: Access, cohort: Cohort | None, *, min_sessions: int | None,
                    excused_policy: ExcusedPolicy = ExcusedPolicy.reduces,
                    made_up_counts: bool = True) -> AttendanceRequirement | None:
    """Set (or with ``min_sessions`` None, remove) the program's rule, or one cohort's rule that replaces it
    (leads only)."""
    require_settings_lead(access)
    program = access.program
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
        raise InvalidInput("The number of sessions to attend must be between 1 and 500.", "min_sessions")
    if existing is None:
        existing = AttendanceRequirement(program_id=program.id, cohort_id=cohort_id, min_sessions=min_sessions)
        session.add(existing)
    existing.min_sessions = min_sessions
    existing.excused_policy = ExcusedPolicy(excused_policy)
    existing.made_up_counts = bool(made_up_counts)
    session.flush()
    return existing


# ---- marks ---------------------------------------------------------------------------------------------------

def _status_by_key(statuses: list[AttendanceStatus], key: str) -> AttendanceStatus:
    key = (key or "").strip().upper()
    status = next((s for s in statuses if s.key == key and s.active), None)
    if status is None:
        raise InvalidInput(f"“{key or '(empty)'}” is not one of this program's attendance statuses.", "status")
    return status


def _seat(session: Session, cohort: Cohort, membership_id: int) -> CohortMember:
    seat = session.scalar(select(CohortMember).options(joinedload(CohortMember.membership))
                          .where(CohortMember.cohort_id == cohort.id, CohortMember.membership_id == membership_id,
                                 CohortMember.status == SeatStatus.active))
    if seat is None or not seat.membership.active:
        raise InvalidInput("That person is not an active member of this cohort, so they cannot be marked.",
                           "membership_id")
    return seat


def _check_roll(access: Access, meeting: Meeting, cohort: Cohort) -> None:
    """The session is of the viewer's program and of ``cohort`` (or program-wide), and they manage ``cohort``."""
    if access.program is None or meeting.program_id != access.program.id:
        raise NotFound("There is no such session in this course.")
    require_cohort_manager(access, cohort)
    if meeting.cohort_id not in (None, cohort.id) or cohort.program_id != meeting.program_id:
        raise InvalidInput("This session belongs to another cohort.", "cohort")


_KEEP = object()     # _set_record: leave the record's minutes as they are


def evidence_minutes(meeting: Meeting, kind: StatusKind, *, arrived_at: dt.datetime | None = None,
                     left_at: dt.datetime | None = None, reported: float | None = None) -> int | None:
    """The live minutes a mark stands for (PD hours, lti_tool/hours), from what is known, never guessed:
    a Zoom/Teams report's minutes capped at the session's contact time; for present or late, the contact time
    from the later of the start and the check-in to the earlier of the end and a "left early at" time (less
    the session's breaks); excused and absent 0; made up None (the make-up credits its own minutes)."""
    contact = meeting.contact_minutes
    if kind is StatusKind.made_up:
        return None
    if kind not in (StatusKind.present, StatusKind.late):
        return 0
    if reported is not None:
        return max(0, min(int(round(reported)), contact))
    start = max(meeting.starts_at, arrived_at) if arrived_at else meeting.starts_at
    end = min(meeting.ends_at, left_at) if left_at else meeting.ends_at
    missed = meeting.duration_minutes - int(max((end - start).total_seconds(), 0) // 60)
    return max(0, min(contact, contact - missed))


def _set_record(session: Session, by: Membership | None, meeting: Meeting, member: Membership,
                status: AttendanceStatus, note: str | None, source: str, cohort: Cohort,
                now: dt.datetime | None = None, record: AttendanceRecord | None = None,
                minutes=_KEEP) -> AttendanceRecord:
    """Create or change a record, write its history, recompute the grade. ``note`` None keeps the note;
    ``minutes`` (the live minutes, see ``evidence_minutes``) is recomputed for the status when the status
    changes and not given."""
    now = now or utcnow()
    if record is None:
        record = session.scalar(select(AttendanceRecord).where(AttendanceRecord.meeting_id == meeting.id,
                                                               AttendanceRecord.membership_id == member.id))
    note = None if note is None else note.strip()[:2000]
    if record is not None and record.status_id == status.id and (note is None or note == record.note) \
            and (minutes is _KEEP or minutes == record.minutes):
        return record
    if record is None:
        # Two marks of the same person at once (a quick double tap): INSERT … ON CONFLICT DO NOTHING, then the
        # row is read back, so the second one updates the first's row instead of failing.
        insert_ignoring_conflicts(session, AttendanceRecord, [
            {"meeting_id": meeting.id, "membership_id": member.id, "status_id": status.id, "note": "",
             "source": source, "marked_at": now}])
        record = session.scalar(select(AttendanceRecord).where(AttendanceRecord.meeting_id == meeting.id,
                                                               AttendanceRecord.membership_id == member.id)
                                .execution_options(populate_existing=True))
        previous = None if not record.changes else record.status_id
    else:
        previous = record.status_id
    if minutes is _KEEP and (previous != status.id or record.minutes is None):
        minutes = evidence_minutes(meeting, status.kind, left_at=record.left_at)
    if minutes is not _KEEP:
        record.minutes = minutes
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
    events.progress_changed.send(session, program_id=meeting.program_id, membership_ids=[member.id])
    return record


def mark_attendance(session: Session, access: Access, meeting: Meeting, cohort: Cohort, membership_id: int,
                    status_key: str, note: str | None = None) -> AttendanceRecord:
    """Mark one person at one session (those who manage the cohort). The person must hold an active seat in
    ``cohort``, the status must be one of the program's, and the session must belong to the cohort or to the
    whole program."""
    _check_roll(access, meeting, cohort)
    if meeting.cancelled:
        raise InvalidInput("This session was cancelled: there is no attendance to take.")
    status = _status_by_key(ensure_statuses(session, meeting.program), status_key)
    seat = _seat(session, cohort, membership_id)
    return _set_record(session, access.membership, meeting, seat.membership, status, note, "roll", cohort)


def set_note(session: Session, access: Access, meeting: Meeting, cohort: Cohort, membership_id: int,
             note: str) -> AttendanceRecord:
    """Change the note of an existing record (a note needs a status first)."""
    _check_roll(access, meeting, cohort)
    seat = _seat(session, cohort, membership_id)
    record = session.scalar(select(AttendanceRecord).where(AttendanceRecord.meeting_id == meeting.id,
                                                           AttendanceRecord.membership_id == seat.membership_id))
    if record is None:
        raise InvalidInput("Choose a status first; the note is kept with it.", "note")
    return _set_record(session, access.membership, meeting, seat.membership, record.status, note, "roll", cohort,
                       record=record)


def apply_import(session: Session, access: Access, meeting: Meeting, cohort: Cohort,
                 decisions: dict[int, str], minutes: dict[int, float] | None = None) -> int:
    """Save the reviewed statuses of an imported report (membership id → status key), each with its history,
    and the report's minutes (membership id → minutes, capped at the session's contact time) for PD hours;
    all or nothing: one wrong person or status refuses the whole import. Returns how many changed."""
    minutes = minutes or {}
    _check_roll(access, meeting, cohort)
    if not decisions:
        raise InvalidInput("There is nothing to import.")
    statuses = ensure_statuses(session, meeting.program)
    changed = 0
    for membership_id, key in decisions.items():
        before = session.scalar(select(AttendanceRecord.status_id).where(
            AttendanceRecord.meeting_id == meeting.id, AttendanceRecord.membership_id == membership_id))
        status = _status_by_key(statuses, key)
        seat = _seat(session, cohort, membership_id)
        reported = minutes.get(membership_id)
        if reported is not None and not 0 <= reported <= 24 * 60:
            raise InvalidInput("A report's minutes must be between 0 and 1440.")
        _set_record(session, access.membership, meeting, seat.membership, status, None, "import", cohort,
                    minutes=evidence_minutes(meeting, status.kind, reported=reported) if reported is not None
                    else _KEEP)
        changed += before != status.id
    return changed


# ---- self check-in ---------------------------------------------------------------------------------------------

def _cohort_checked_in_to(session: Session, access: Access, meeting: Meeting) -> Cohort:
    if meeting.cohort_id is not None:
        if not access.sits_in(meeting.cohort_id):
            raise CheckInRefused("This session belongs to another cohort: you can only check in to your own "
                                 "cohort's sessions and the program-wide ones.")
        return meeting.cohort
    cohort = participant_cohort(session, meeting.program, access.membership)
    if cohort is None:
        raise CheckInRefused("You are not in a cohort of this program yet, so there is no attendance to record.")
    return cohort


def check_in(session: Session, access: Access, meeting: Meeting, code: str,
             now: dt.datetime | None = None) -> AttendanceRecord:
    """Mark the signed-in participant present (late after the program's late threshold) at ``meeting`` when
    ``code`` is the code showing now or the one just before it. There is no "who" argument: the identity is
    the LMS launch's."""
    now = now or utcnow()
    if access.program is None or meeting.program_id != access.program.id:
        raise NotFound("There is no such session in this course.")
    if not access.is_participant or not access.membership.active:
        raise CheckInRefused("Only participants check in; facilitators take the roll instead.")
    cohort = _cohort_checked_in_to(session, access, meeting)
    settings = settings_of(session, meeting.program)
    opens, closes = checkin_window(settings, meeting)
    if meeting.cancelled:
        raise CheckInRefused("This session was cancelled.")
    if not opens <= now <= closes:
        raise CheckInRefused(f"Check-in for this session is open from {settings.checkin_opens_minutes} minutes "
                             f"before it starts until {settings.checkin_closes_minutes} minutes after it ends.")
    require_code(meeting, code, now)
    existing = session.scalar(select(AttendanceRecord).options(joinedload(AttendanceRecord.status))
                              .where(AttendanceRecord.meeting_id == meeting.id,
                                     AttendanceRecord.membership_id == access.id))
    if existing is not None and existing.status.kind in (StatusKind.present, StatusKind.late):
        return existing
    late = now > meeting.starts_at + dt.timedelta(minutes=settings.late_after_minutes)
    kind = StatusKind.late if late else StatusKind.present
    status = next((s for s in ensure_statuses(session, meeting.program) if s.kind is kind and s.active), None)
    if status is None:
        raise CheckInRefused("The program has no status for this; ask your facilitator to mark you.")
    return _set_record(session, access.membership, meeting, access.membership, status, None, "check_in", cohort,
                       now=now, record=existing,
                       minutes=evidence_minutes(meeting, kind, arrived_at=now if late else None))


def set_minutes(session: Session, access: Access, record_id: int, *, minutes: int | None = None,
                left_at: dt.datetime | None = None, now: dt.datetime | None = None) -> AttendanceRecord:
    """Correct the live minutes of a record (those who manage the person's cohort): the minutes attended, or
    the time they left early (the minutes follow from it). Kept in the record's history with who and when."""
    record, cohort = record_for_manager(session, access, record_id)
    meeting = record.meeting
    if record.status.kind not in (StatusKind.present, StatusKind.late):
        raise InvalidInput("Minutes are kept for people marked present or late.", "minutes")
    if left_at is not None:
        if not meeting.starts_at < left_at <= meeting.ends_at:
            raise InvalidInput("The time they left must be during the session.", "left_at")
        # What they missed at the start (a late check-in) stays missed.
        late_by = meeting.contact_minutes - record.minutes if record.minutes is not None and record.left_at is None \
            else 0
        value = max(0, evidence_minutes(meeting, record.status.kind, left_at=left_at) - max(late_by, 0))
        words = f"Left at {left_at.astimezone(access.program_zone):%-I:%M %p}: {value} minutes"
    elif minutes is not None:
        if not 0 <= minutes <= meeting.contact_minutes:
            raise InvalidInput(f"Give a number of minutes between 0 and {meeting.contact_minutes} (the session's "
                               "time less its breaks).", "minutes")
        value, words = minutes, f"Minutes attended set to {minutes}"
    else:
        raise InvalidInput("Give the minutes attended or the time they left.", "minutes")
    record.minutes, record.left_at = value, left_at
    now = now or utcnow()
    session.add(AttendanceChange(record=record, changed_by_id=access.id, changed_at=now,
                                 from_status_id=record.status_id, to_status_id=record.status_id,
                                 note=words, source="minutes"))
    session.flush()
    return record


# ---- grades -----------------------------------------------------------------------------------------------------

def grade_for(forecast, mode: str) -> tuple[float, str]:
    """The score out of 100 of a ``queries.Forecast`` and its comment ("6 of 8 sessions attended")."""
    comment = f"{forecast.attended} of {forecast.total} sessions attended"
    if mode == "requirement" and forecast.required:
        score = min(forecast.points, forecast.required) / forecast.required * GRADE_MAXIMUM
        comment += f"; {forecast.required} required ({forecast.label.lower()})"
    else:
        score = min(forecast.points / forecast.total, 1.0) * GRADE_MAXIMUM if forecast.total else 0.0
    return round(score, 2), comment


def recompute_grade(session: Session, program: Program, membership: Membership, cohort: Cohort | None = None):
    """Recompute one participant's "Attendance" score and put it in the outbox (same transaction)."""
    if membership.role is not CourseRole.participant:
        return None
    settings = settings_of(session, program)
    if not settings.grading_enabled:
        return None
    cohort = cohort or participant_cohort(session, program, membership)
    if cohort is None:
        return None
    score, comment = grade_for(forecast_of(session, program, membership, cohort), settings.grade_mode)
    component = ensure_component(session, program.course, GRADE_KEY, ComponentKind.attendance, "Attendance",
                                 GRADE_MAXIMUM)
    return record_score(session, component, membership, score, comment=comment)


# ---- make-ups ---------------------------------------------------------------------------------------------------

def assign_makeup(session: Session, access: Access, record_id: int, task: str,
                  due_on: dt.date | None = None, minutes: int | None = None) -> MakeUp:
    """Give an absence a make-up task (those who manage the person's cohort); ``minutes`` is what it credits
    toward PD hours once approved (None: the session's time less its breaks)."""
    record, _cohort = record_for_manager(session, access, record_id)
    if record.status.kind not in (StatusKind.absent, StatusKind.excused):
        raise InvalidInput("Only an absence can be made up.")
    task = (task or "").strip()
    if not task:
        raise InvalidInput("Describe the make-up task, e.g. “Watch the recording and post a reflection”.", "task")
    makeup = session.scalar(select(MakeUp).where(MakeUp.record_id == record.id))
    if makeup is None:
        makeup = MakeUp(record_id=record.id, task=task)
        session.add(makeup)
    elif makeup.status is MakeUpStatus.approved:
        raise InvalidInput("This make-up is already approved.")
    if minutes is not None and not 0 <= minutes <= 24 * 60:
        raise InvalidInput("Give the make-up's minutes between 0 and 1440.", "minutes")
    makeup.task, makeup.due_on, makeup.assigned_by_id = task[:5000], due_on, access.id
    makeup.minutes = minutes
    makeup.status = MakeUpStatus.assigned if not makeup.submission else makeup.status
    session.flush()
    return makeup


def submit_makeup(session: Session, access: Access, makeup: MakeUp, work: str) -> MakeUp:
    """The participant hands in their work (text or a link)."""
    if makeup.record.membership_id != access.id:
        raise Forbidden("Only the person it was given to can hand in a make-up.")
    if makeup.status is MakeUpStatus.approved:
        raise InvalidInput("This make-up is already approved.")
    work = (work or "").strip()
    if not work:
        raise InvalidInput("Write your reflection or paste a link to your work.", "work")
    makeup.submission, makeup.submitted_at, makeup.status = work[:20000], utcnow(), MakeUpStatus.submitted
    session.flush()
    return makeup


def review_makeup(session: Session, access: Access, makeup: MakeUp, approve: bool, note: str = "") -> MakeUp:
    """Approve (the record becomes "made up", with history and grade) or return the work with a note."""
    record, cohort = record_for_manager(session, access, makeup.record_id)
    if makeup.status is not MakeUpStatus.submitted:
        raise InvalidInput("There is no submitted work to review.")
    note = (note or "").strip()
    if not approve and not note:
        raise InvalidInput("Say what to change when you return the work.", "note")
    makeup.review_note, makeup.reviewed_by_id, makeup.reviewed_at = note[:5000], access.id, utcnow()
    if approve:
        made_up = next((s for s in ensure_statuses(session, record.meeting.program)
                        if s.kind is StatusKind.made_up and s.active), None)
        if made_up is None:
            raise InvalidInput("The program has no “made up” status; a lead can add one.")
        makeup.status = MakeUpStatus.approved
        _set_record(session, access.membership, record.meeting, record.membership, made_up,
                    f"Made up: {makeup.task[:200]}", "make_up", cohort, record=record)
    else:
        makeup.status = MakeUpStatus.returned
    session.flush()
    return makeup
