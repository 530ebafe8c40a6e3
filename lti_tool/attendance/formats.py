"""Attendance files in and out: the rows of the CSV exports (written by ``lti_tool.course.csvfile``, which keeps
a spreadsheet from running a cell as a formula), and the import of a Zoom or Teams participant report with the
review of what it would change (nothing is saved until the facilitator confirms: ``writes.apply_import``)."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from lti_tool.attendance.models import AttendanceStatus, StatusKind
from lti_tool.attendance.queries import CohortGrid, CohortSummaryRow, PersonalRecord, roll_sheet
from lti_tool.calendar.models import Meeting
from lti_tool.course.access import Access
from lti_tool.course.zones import describe_instant
from lti_tool.errors import InvalidInput
from lti_tool.programs.models import Cohort, CohortMember

# ---- CSV exports (rows for lti_tool.course.csvfile.csv_response) -------------------------------------------------


def grid_rows(grid: CohortGrid, zone: ZoneInfo) -> list[list]:
    """The cohort grid: a row per participant, a column per session (its start in ``zone``), then the totals."""
    header = ["Participant", "Email"] + [f"{describe_instant(m.starts_at, zone, 'iso')} {m.title}"
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


def personal_rows(record: PersonalRecord, zone: ZoneInfo) -> list[list]:
    """One person's sessions with their status and note."""
    rows = [["Session", "Starts", "Status", "Note"]]
    for meeting in record.meetings:
        r = record.records.get(meeting.id)
        rows.append([meeting.title, describe_instant(meeting.starts_at, zone, "iso"),
                     record.statuses[r.status_id].label if r else "Not marked yet", r.note if r else ""])
    return rows


def summary_rows(rows: list[CohortSummaryRow]) -> list[list]:
    """The program summary, a row per cohort."""
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


class ImportFileError(InvalidInput):
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
        raise ImportFileError("The file is empty. Choose the participant report you downloaded from Zoom or Teams.",
                              "file")
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
    statuses: list[AttendanceStatus]            # what each match may be changed to


def propose_status(minutes: float, meeting: Meeting, statuses: list[AttendanceStatus]) -> AttendanceStatus:
    """Three quarters of the session or more: present; a quarter or more: late (came late or left early);
    less: absent. The facilitator can change each on the review screen."""
    share = minutes / max(meeting.duration_minutes, 1)
    kind = StatusKind.present if share >= 0.75 else StatusKind.late if share >= 0.25 else StatusKind.absent
    return next(s for s in statuses if s.kind is kind)


def review_import(session: Session, access: Access, meeting: Meeting, cohort: Cohort,
                  report: ParsedReport) -> ImportReview:
    """Match the report to the cohort's active members by email (ignoring case), for those who manage the
    cohort. Nothing is saved."""
    sheet = roll_sheet(session, access, meeting, cohort)
    statuses = sheet.statuses
    if not all(any(s.kind is k for s in statuses) for k in (StatusKind.present, StatusKind.late, StatusKind.absent)):
        raise InvalidInput("The program needs present, late and absent statuses to import a report.")
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
    return ImportReview(matched, unmatched, absent, report.ignored_columns, statuses)
