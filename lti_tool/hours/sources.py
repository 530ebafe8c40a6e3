"""Where ledger lines come from: each source turns one kind of record into lines, for many people at once, in a
fixed number of queries (one for attendance, one for modules, one per book for the book study, one for the
manual lines), whatever the number of people or records.

- **attendance**: present and late credit the record's ``minutes`` (set by the roll, the check-in and the
  Zoom/Teams import: see ``attendance.writes.evidence_minutes``), capped at the session's contact time (its
  time less breaks); excused credits the profile's share of it (0 % by default); an approved make-up credits
  its own minutes (else the session's contact time) as a make-up; absent credits nothing. A deep dive counts
  as "deep dive", any other session as "live".
- **module_item**: a completed item credits its estimated ``minutes`` (facilitator-set), never time measured
  from logs.
- **reading**: a reading whose discussion criteria the person met (``discussions.queries.standings``) credits
  the profile's ``reading_minutes``.
- **manual**: a lead's lines (with their reason).

Other features add sources (the protocol runner's, ``protocols/sources.protocol_lines``):
``register_source(fn)`` with ``fn(session, program, membership_ids, profile) -> dict[int, list[Line]]``,
called once per ledger build for everyone at once; connect it in ``create_app`` like the event receivers, and
give its lines ``Category.protocol`` with ``source="protocol_run"`` and a ``link`` to the run's page.
"""
from __future__ import annotations

from typing import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lti_tool.attendance.models import AttendanceRecord, AttendanceStatus, MakeUp, MakeUpStatus, StatusKind
from lti_tool.calendar.models import Meeting, MeetingKind
from lti_tool.course.zones import program_zone
from lti_tool.discussions.models import Book
from lti_tool.discussions.queries import standings
from lti_tool.hours.ledger import Line
from lti_tool.hours.models import Category, HoursProfile, ManualLine
from lti_tool.modules.models import ItemCompletion, Module, ModuleItem
from lti_tool.programs.models import Program

Source = Callable[[Session, Program, list[int], HoursProfile], dict[int, list[Line]]]
_extra_sources: list[Source] = []


def register_source(fn: Source) -> None:
    """Add a source of lines (once however often it is registered): see the module's docstring."""
    if fn not in _extra_sources:
        _extra_sources.append(fn)


def _attendance(session: Session, program: Program, ids: list[int], profile: HoursProfile) -> dict[int, list[Line]]:
    zone = program_zone(program)
    rows = session.execute(
        select(AttendanceRecord, Meeting, AttendanceStatus, MakeUp)
        .join(Meeting, Meeting.id == AttendanceRecord.meeting_id)
        .join(AttendanceStatus, AttendanceStatus.id == AttendanceRecord.status_id)
        .outerjoin(MakeUp, MakeUp.record_id == AttendanceRecord.id)
        .where(Meeting.program_id == program.id, Meeting.cancelled.is_(False),
               AttendanceRecord.membership_id.in_(ids))).all()
    out: dict[int, list[Line]] = {}
    for record, meeting, status, makeup in rows:
        contact = meeting.contact_minutes
        category = Category.deep_dive if meeting.kind is MeetingKind.deep_dive else Category.live
        source, source_id = "attendance", record.id
        link = ("attendance.person", (("course_id", program.course_id), ("membership_id", record.membership_id)))
        breaks = f", less {meeting.break_minutes} min of breaks" if meeting.break_minutes else ""
        if status.kind in (StatusKind.present, StatusKind.late):
            minutes = contact if record.minutes is None else min(record.minutes, contact)
            evidence = _live_evidence(record, status, minutes, contact, zone) + breaks
        elif status.kind is StatusKind.excused:
            minutes = contact * (profile.excused_percent or 0) // 100
            evidence = f"{status.label}: {profile.excused_percent or 0} % of the session counts"
        elif status.kind is StatusKind.made_up:
            approved = makeup is not None and makeup.status is MakeUpStatus.approved
            minutes = makeup.minutes if approved and makeup.minutes is not None else contact
            category, evidence = Category.make_up, (f"Make-up approved: {makeup.task[:80]}" if approved
                                                    else f"{status.label} (marked on the roll)")
            if approved:
                source, source_id = "make_up", makeup.id
                link = ("attendance.makeup", (("course_id", program.course_id), ("makeup_id", makeup.id)))
        else:
            continue
        if minutes <= 0:
            continue
        out.setdefault(record.membership_id, []).append(Line(
            category, meeting.starts_at.astimezone(zone).date(), minutes, meeting.title, source, source_id,
            evidence, link))
    return out


def _live_evidence(record: AttendanceRecord, status: AttendanceStatus, minutes: int, contact: int, zone) -> str:
    if record.source == "import" and record.minutes is not None:
        return f"{status.label}: {minutes} min in the Zoom/Teams report (at most {contact})"
    if record.left_at is not None:
        return f"{status.label}: left at {record.left_at.astimezone(zone):%-I:%M %p %Z}"
    if minutes < contact:
        how = "checked in" if record.source == "check_in" else "recorded"
        return f"{status.label}: {how} for {minutes} of {contact} min"
    return f"{status.label}: the whole session"


def _modules(session: Session, program: Program, ids: list[int], profile: HoursProfile) -> dict[int, list[Line]]:
    zone = program_zone(program)
    rows = session.execute(
        select(ItemCompletion.id, ItemCompletion.membership_id, ItemCompletion.completed_at, ModuleItem.id,
               ModuleItem.title, ModuleItem.minutes, Module.id, Module.title)
        .join(ModuleItem, ModuleItem.id == ItemCompletion.item_id).join(Module, Module.id == ModuleItem.module_id)
        .where(Module.program_id == program.id, ItemCompletion.membership_id.in_(ids), ModuleItem.minutes > 0)).all()
    out: dict[int, list[Line]] = {}
    for _cid, mid, done_at, item_id, title, minutes, module_id, module_title in rows:
        out.setdefault(mid, []).append(Line(
            Category.module, done_at.astimezone(zone).date(), minutes, f"{module_title}: {title}", "module_item",
            item_id, f"Completed; the item's estimate is {minutes} min",
            ("modules.module", (("course_id", program.course_id), ("module_id", module_id)))))
    return out


def _book_study(session: Session, program: Program, ids: list[int], profile: HoursProfile) -> dict[int, list[Line]]:
    out: dict[int, list[Line]] = {}
    if not profile.reading_minutes:
        return out
    books = list(session.scalars(select(Book).where(Book.program_id == program.id)
                                 .options(selectinload(Book.readings)).order_by(Book.id)))
    for book in books:
        for mid, by_reading in standings(session, book, ids).items():
            for standing in by_reading.values():
                if not standing.met:
                    continue
                reading = standing.reading
                out.setdefault(mid, []).append(Line(
                    Category.book_study, reading.ends_on, profile.reading_minutes, f"{book.title}: {reading.label}",
                    "reading", reading.id, "Discussion criteria met" + ("" if standing.met_on_time else " (partly late)"),
                    ("discussions.book", (("course_id", program.course_id), ("book_id", book.id)))))
    return out


def _manual(session: Session, program: Program, ids: list[int], profile: HoursProfile) -> dict[int, list[Line]]:
    out: dict[int, list[Line]] = {}
    for line in session.scalars(select(ManualLine).where(ManualLine.program_id == program.id,
                                                         ManualLine.membership_id.in_(ids),
                                                         ManualLine.removed_at.is_(None))):
        out.setdefault(line.membership_id, []).append(Line(
            line.category, line.on_date, line.minutes, line.title, "manual", line.id, f"Reason: {line.reason}"))
    return out


SOURCES: tuple[Source, ...] = (_attendance, _modules, _book_study, _manual)


def lines_for(session: Session, program: Program, membership_ids: Iterable[int],
              profile: HoursProfile) -> dict[int, list[Line]]:
    """Every person's lines (membership id → lines; everyone asked for has an entry)."""
    ids = sorted(set(membership_ids))
    result: dict[int, list[Line]] = {mid: [] for mid in ids}
    if not ids:
        return result
    for source in (*SOURCES, *_extra_sources):
        for mid, lines in source(session, program, ids, profile).items():
            result.setdefault(mid, []).extend(lines)
    return result
