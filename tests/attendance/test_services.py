"""Attendance services: statuses, the roll with its history, self check-in, requirements and their forecast,
make-ups, reports and CSV, the Zoom/Teams import, the grade hookup, and every refusal leaving data unchanged."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from lti_tool.attendance import formats, permissions, queries, writes
from lti_tool.attendance.models import (AttendanceChange, AttendanceRecord, ExcusedPolicy, MakeUpStatus,
                                        StatusKind)
from lti_tool.course.access import Access, access_for
from lti_tool.course.csvfile import csv_bytes
from lti_tool.errors import DomainError, Forbidden, InvalidInput, NotFound
from lti_tool.grades.models import GradedComponent, ScoreDelivery
from lti_tool.lti.models import CourseRole
from lti_tool.programs import queries as program_queries
from lti_tool.programs.models import CohortFacilitator
from tests.attendance.conftest import NOW
from tests.factories import make_world

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def access(member) -> Access:
    """What ``member`` may do, as a page would build it for them."""
    return access_for(object_session(member), member)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def status_of(session, meeting, member):
    record = session.scalar(select(AttendanceRecord).where(AttendanceRecord.meeting_id == meeting.id,
                                                           AttendanceRecord.membership_id == member.id))
    return None if record is None else record.status.key


# ---- statuses ------------------------------------------------------------------------------------------------

def test_a_program_starts_with_the_five_default_statuses_and_their_points(session, world):
    statuses = writes.ensure_statuses(session, world.program)
    assert [(s.key, s.label, s.kind, s.points) for s in statuses] == [
        ("P", "Present", StatusKind.present, 1.0), ("L", "Late", StatusKind.late, 1.0),
        ("E", "Excused", StatusKind.excused, 0.0), ("A", "Absent", StatusKind.absent, 0.0),
        ("M", "Made up", StatusKind.made_up, 1.0)]


def test_a_lead_edits_a_status_and_a_facilitator_may_not(session, world):
    late = writes.ensure_statuses(session, world.program)[1]
    writes.update_status(session, access(world.people["Lena"]), late.id, key="t", label="Tardy", points=0.5)
    assert (late.key, late.label, late.points) == ("T", "Tardy", 0.5)
    with pytest.raises(Forbidden):
        writes.update_status(session, access(world.people["Fay"]), late.id, key="L", label="Late", points=1)
    with pytest.raises(InvalidInput, match="already uses the key"):
        writes.update_status(session, access(world.people["Lena"]), late.id, key="P", label="x", points=1)
    assert late.key == "T"


# ---- the roll --------------------------------------------------------------------------------------------------

def test_marking_keeps_every_change_with_who_when_from_and_to(session, world):
    lit, fay, pat = world.cohorts["Literacy"], world.people["Fay"], world.people["Pat"]
    meeting = world.meeting(NOW - D, lit)
    writes.mark_attendance(session, access(fay), meeting, lit, pat.id, "A")
    record = writes.mark_attendance(session, access(fay), meeting, lit, pat.id, "l", note="Joined after 20 minutes")
    # no change:
    writes.mark_attendance(session, access(fay), meeting, lit, pat.id, "L", note="Joined after 20 minutes")
    changes = queries.history(session, record)
    assert [(c.from_status.key if c.from_status else None, c.to_status.key, c.changed_by_id) for c in changes] == [
        (None, "A", fay.id), ("A", "L", fay.id)]
    assert changes[1].note == "Joined after 20 minutes" and record.note == "Joined after 20 minutes"
    assert record.marked_by_id == fay.id and record.marked_at is not None


def test_a_status_not_in_the_programs_set_is_refused_and_nothing_changes(session, world):
    lit, fay, pat = world.cohorts["Literacy"], world.people["Fay"], world.people["Pat"]
    meeting = world.meeting(NOW, lit)
    writes.mark_attendance(session, access(fay), meeting, lit, pat.id, "P")
    with pytest.raises(InvalidInput, match="not one of this program's attendance statuses"):
        writes.mark_attendance(session, access(fay), meeting, lit, pat.id, "X")
    assert status_of(session, meeting, pat) == "P" and count(session, AttendanceChange) == 1


def test_a_status_switched_off_by_the_lead_can_no_longer_be_used(session, world):
    lit, fay, pat = world.cohorts["Literacy"], world.people["Fay"], world.people["Pat"]
    made_up = writes.ensure_statuses(session, world.program)[4]
    writes.update_status(session, access(world.people["Lena"]), made_up.id, key="M", label="Made up", points=1,
                      active=False)
    with pytest.raises(InvalidInput):
        writes.mark_attendance(session, access(fay), world.meeting(NOW, lit), lit, pat.id, "M")


def test_marking_a_non_member_of_the_cohort_is_refused(session, world):
    lit, fay = world.cohorts["Literacy"], world.people["Fay"]
    meeting = world.meeting(NOW, lit)
    for outsider in (world.people["Sam"], world.people["Oscar"], world.people["Lena"]):
        with pytest.raises(InvalidInput, match="not an active member of this cohort"):
            writes.mark_attendance(session, access(fay), meeting, lit, outsider.id, "P")
    assert count(session, AttendanceRecord) == 0


def test_participants_cannot_mark_and_facilitators_only_their_cohorts(session, world):
    lit, math = world.cohorts["Literacy"], world.cohorts["Math"]
    meeting, math_meeting = world.meeting(NOW, lit), world.meeting(NOW, math)
    with pytest.raises(Forbidden):
        writes.mark_attendance(session, access(world.people["Quinn"]), meeting, lit, world.people["Pat"].id, "P")
    with pytest.raises(Forbidden):
        writes.mark_attendance(session, access(world.people["Fay"]), math_meeting, math, world.people["Sam"].id, "P")
    # a lead may:
    writes.mark_attendance(session, access(world.people["Lena"]), math_meeting, math, world.people["Sam"].id, "P")
    assert count(session, AttendanceRecord) == 1


def test_nothing_crosses_courses(session, world):
    other = make_world(session, "course-b")
    stranger_lead = other.person("Olga", CourseRole.facilitator)
    lit = world.cohorts["Literacy"]
    meeting = world.meeting(NOW, lit)
    with pytest.raises(NotFound):
        queries.get_meeting(session, access(stranger_lead), meeting.id)
    with pytest.raises(NotFound):
        program_queries.get_cohort(session, access(stranger_lead), lit.id)
    with pytest.raises(NotFound):
        writes.mark_attendance(session, access(stranger_lead), meeting, lit, world.people["Pat"].id, "P")
    with pytest.raises(NotFound):
        queries.personal_record(session, access(stranger_lead), world.people["Pat"].id)


def test_a_cohort_session_is_marked_only_for_its_own_cohort(session, world):
    lit, math = world.cohorts["Literacy"], world.cohorts["Math"]
    lit_meeting = world.meeting(NOW, lit)
    with pytest.raises(InvalidInput, match="another cohort"):
        writes.mark_attendance(session, access(world.people["Lena"]), lit_meeting, math, world.people["Sam"].id, "P")
    with pytest.raises(InvalidInput, match="another cohort"):
        queries.roll_cohort(session, access(world.people["Lena"]), lit_meeting, math.id)


def test_a_program_wide_session_needs_a_cohort_and_lists_its_active_members(session, world):
    kickoff = world.meeting(NOW, None, title="Kick-off")
    with pytest.raises(InvalidInput, match="choose the cohort"):
        queries.roll_cohort(session, access(world.people["Fay"]), kickoff, None)
    lit = queries.roll_cohort(session, access(world.people["Fay"]), kickoff, world.cohorts["Literacy"].id)
    sheet = queries.roll_sheet(session, access(world.people["Fay"]), kickoff, lit)
    assert [s.membership.user.name for s in sheet.members] == ["Pat", "Quinn", "Rosa"]
    with pytest.raises(Forbidden):
        queries.roll_cohort(session, access(world.people["Fay"]), kickoff, world.cohorts["Math"].id)


def test_a_participant_named_facilitator_manages_that_cohort_and_no_other(session, world):
    lit, math, sam, pat = world.cohorts["Literacy"], world.cohorts["Math"], world.people["Sam"], world.people["Pat"]
    nina = world.person("Nina")                              # an LMS Learner whose proposal became "Math"
    session.add(CohortFacilitator(cohort_id=math.id, membership_id=nina.id))
    session.flush()
    writes.mark_attendance(session, access(nina), world.meeting(NOW, math), math, sam.id, "P")
    assert [s.membership.user.name for s in queries.cohort_grid(session, access(nina), math).members] == ["Sam"]
    assert queries.personal_record(session, access(nina), sam.id).cohort.name == "Math"
    assert [r.cohort.name for r in queries.program_summary(session, access(nina), now=NOW)] == ["Math"]
    with pytest.raises(Forbidden):
        writes.mark_attendance(session, access(nina), world.meeting(NOW, lit), lit, pat.id, "P")
    with pytest.raises(Forbidden):
        queries.cohort_grid(session, access(nina), lit)
    with pytest.raises(Forbidden):
        queries.personal_record(session, access(nina), pat.id)
    with pytest.raises(Forbidden):
        writes.set_requirement(session, access(nina), math, min_sessions=2)
    assert count(session, AttendanceRecord) == 1


# ---- check-in ---------------------------------------------------------------------------------------------------

def test_the_code_changes_every_30_seconds_and_the_previous_one_is_still_accepted(session, world):
    lit, pat = world.cohorts["Literacy"], world.people["Pat"]
    meeting = world.meeting(NOW, lit)
    step = permissions.time_step(NOW)
    assert permissions.checkin_code(meeting.id, step) != permissions.checkin_code(meeting.id, step + 1)
    assert permissions.checkin_code(meeting.id, step) != permissions.checkin_code(meeting.id + 1, step)
    assert len(permissions.checkin_code(meeting.id, step)) == 6
    previous = permissions.checkin_code(meeting.id, step - 1)
    record = writes.check_in(session, access(pat), meeting, previous, now=NOW + dt.timedelta(seconds=1))
    assert record.membership_id == pat.id and record.status.key == "P" and record.source == "check_in"
    assert record.changes[0].changed_by_id == pat.id


def test_an_old_or_wrong_code_is_refused(session, world):
    lit, pat = world.cohorts["Literacy"], world.people["Pat"]
    meeting = world.meeting(NOW, lit)
    old = permissions.checkin_code(meeting.id, permissions.time_step(NOW) - 2)
    for code in (old, "000000", ""):
        with pytest.raises(permissions.WrongCode):
            writes.check_in(session, access(pat), meeting, code, now=NOW)
    assert count(session, AttendanceRecord) == 0


def test_checking_in_after_the_late_threshold_marks_late(session, world):
    lit, pat = world.cohorts["Literacy"], world.people["Pat"]
    meeting = world.meeting(NOW, lit)
    later = NOW + dt.timedelta(minutes=25)
    record = writes.check_in(session, access(pat), meeting, permissions.current_code(meeting, later)[0], now=later)
    assert record.status.key == "L"


def test_no_check_in_outside_the_window(session, world):
    lit, pat = world.cohorts["Literacy"], world.people["Pat"]
    meeting = world.meeting(NOW, lit, minutes=60)
    for when in (NOW - dt.timedelta(minutes=16), NOW + dt.timedelta(minutes=60 + 16)):
        with pytest.raises(permissions.CheckInRefused, match="open from 15 minutes before"):
            writes.check_in(session, access(pat), meeting, permissions.current_code(meeting, when)[0], now=when)
    early = NOW - dt.timedelta(minutes=14)
    code = permissions.current_code(meeting, early)[0]
    assert writes.check_in(session, access(pat), meeting, code, now=early).status.key == "P"


def test_no_check_in_for_a_session_of_another_cohort_or_by_a_facilitator(session, world):
    math_meeting = world.meeting(NOW, world.cohorts["Math"])
    code = permissions.current_code(math_meeting, NOW)[0]
    with pytest.raises(permissions.CheckInRefused, match="another cohort"):
        writes.check_in(session, access(world.people["Pat"]), math_meeting, code, now=NOW)
    with pytest.raises(permissions.CheckInRefused, match="Only participants"):
        writes.check_in(session, access(world.people["Fay"]), math_meeting, code, now=NOW)
    assert count(session, AttendanceRecord) == 0


def test_a_check_in_replaces_an_absence_but_keeps_an_earlier_present(session, world):
    lit, fay, pat = world.cohorts["Literacy"], world.people["Fay"], world.people["Pat"]
    meeting = world.meeting(NOW, lit)
    writes.mark_attendance(session, access(fay), meeting, lit, pat.id, "A")
    record = writes.check_in(session, access(pat), meeting, permissions.current_code(meeting, NOW)[0], now=NOW)
    assert record.status.key == "P" and len(record.changes) == 2
    later = NOW + dt.timedelta(minutes=40)
    writes.check_in(session, access(pat), meeting, permissions.current_code(meeting, later)[0], now=later)
    assert record.status.key == "P" and len(record.changes) == 2
    assert [r.membership_id for r in queries.checked_in(session, access(fay), meeting, lit)] == [pat.id]


# ---- requirements and forecast --------------------------------------------------------------------------------

def _eight_sessions(world, cohort, past: int):
    """Eight sessions, ``past`` of them before NOW, a cancelled one that never counts, and one of another cohort."""
    meetings = [world.meeting(NOW + (i - past) * 7 * D, cohort if i % 2 else None, title=f"S{i + 1}")
                for i in range(8)]
    world.meeting(NOW + 100 * D, cohort, cancelled=True)
    world.meeting(NOW, world.cohorts["Math"])
    return meetings


def _forecast(session, world, member):
    return queries.personal_record(session, access(world.people["Lena"]), member.id).forecast


def test_the_forecast_counts_every_scheduled_session_past_and_future(session, world):
    lit, lena = world.cohorts["Literacy"], world.people["Lena"]
    writes.set_requirement(session, access(lena), None, min_sessions=6)
    meetings = _eight_sessions(world, lit, past=3)
    pat, quinn, rosa = world.people["Pat"], world.people["Quinn"], world.people["Rosa"]
    for m in meetings[:3]:
        writes.mark_attendance(session, access(lena), m, lit, pat.id, "P")
    writes.mark_attendance(session, access(lena), meetings[0], lit, quinn.id, "A")
    writes.mark_attendance(session, access(lena), meetings[1], lit, quinn.id, "P")
    writes.mark_attendance(session, access(lena), meetings[2], lit, quinn.id, "P")
    for m in meetings[:3]:
        writes.mark_attendance(session, access(lena), m, lit, rosa.id, "A")

    p = _forecast(session, world, pat)
    assert (p.total, p.attended, p.remaining, p.needed, p.state) == (8, 3, 5, 3, queries.ON_TRACK)
    q = _forecast(session, world, quinn)
    assert (q.attended, q.missed, q.remaining, q.needed, q.state) == (2, 1, 5, 4, queries.AT_RISK)
    assert q.explanation == "Needs 4 of the 5 remaining sessions."
    r = _forecast(session, world, rosa)
    assert (r.needed, r.remaining, r.state) == (6, 5, queries.CANNOT_MEET)
    grid = queries.cohort_grid(session, access(lena), lit)
    assert [s.membership.user.name for s in grid.flagged] == ["Quinn", "Rosa"]


def test_you_need_2_of_the_3_remaining_sessions(session, world):
    lit, lena, pat = world.cohorts["Literacy"], world.people["Lena"], world.people["Pat"]
    writes.set_requirement(session, access(lena), None, min_sessions=6)
    meetings = _eight_sessions(world, lit, past=5)
    for m, key in zip(meetings[:5], "PPAPP"):
        writes.mark_attendance(session, access(lena), m, lit, pat.id, key)
    f = _forecast(session, world, pat)
    assert (f.needed, f.remaining, f.state) == (2, 3, queries.AT_RISK)
    for m in meetings[5:7]:
        writes.mark_attendance(session, access(lena), m, lit, pat.id, "P")
    assert _forecast(session, world, pat).state == queries.MET


def test_excused_counts_as_attended_or_reduces_the_number_required(session, world):
    lit, lena, pat = world.cohorts["Literacy"], world.people["Lena"], world.people["Pat"]
    meetings = _eight_sessions(world, lit, past=2)
    writes.mark_attendance(session, access(lena), meetings[0], lit, pat.id, "E")
    writes.mark_attendance(session, access(lena), meetings[1], lit, pat.id, "E")
    writes.set_requirement(session, access(lena), None, min_sessions=6, excused_policy=ExcusedPolicy.attended)
    f = _forecast(session, world, pat)
    assert (f.attended, f.required, f.needed) == (2, 6, 4)
    writes.set_requirement(session, access(lena), None, min_sessions=6, excused_policy=ExcusedPolicy.reduces)
    f = _forecast(session, world, pat)
    assert (f.attended, f.excused, f.missed, f.required, f.needed) == (0, 2, 0, 5, 5)   # ceil(6 × 6/8)
    assert f.state == queries.ON_TRACK


def test_a_cohort_rule_replaces_the_programs(session, world):
    lit, lena = world.cohorts["Literacy"], world.people["Lena"]
    writes.set_requirement(session, access(lena), None, min_sessions=6)
    writes.set_requirement(session, access(lena), lit, min_sessions=2)
    _eight_sessions(world, lit, past=0)
    assert _forecast(session, world, world.people["Pat"]).required == 2
    with pytest.raises(Forbidden):
        writes.set_requirement(session, access(world.people["Fay"]), lit, min_sessions=3)


# ---- make-ups ------------------------------------------------------------------------------------------------------

def test_an_approved_make_up_turns_an_absence_into_made_up_and_counts_as_the_rule_says(session, world):
    lit, fay, pat, lena = world.cohorts["Literacy"], world.people["Fay"], world.people["Pat"], world.people["Lena"]
    writes.set_requirement(session, access(lena), None, min_sessions=1, made_up_counts=True)
    meeting = world.meeting(NOW - D, lit)
    record = writes.mark_attendance(session, access(fay), meeting, lit, pat.id, "A")
    with pytest.raises(Forbidden):
        writes.assign_makeup(session, access(world.people["Quinn"]), record.id, "Watch")
    makeup = writes.assign_makeup(session, access(fay), record.id, "Watch the recording and post a reflection",
                               dt.date(2030, 10, 20))
    with pytest.raises(Forbidden):
        writes.submit_makeup(session, access(world.people["Quinn"]), makeup, "not mine")
    writes.submit_makeup(session, access(pat), makeup, "https://example.edu/my-reflection")
    with pytest.raises(InvalidInput, match="Say what to change"):
        writes.review_makeup(session, access(fay), makeup, approve=False)
    writes.review_makeup(session, access(fay), makeup, approve=False, note="Please say what you would try")
    assert makeup.status is MakeUpStatus.returned and status_of(session, meeting, pat) == "A"
    writes.submit_makeup(session, access(pat), makeup, "I would try the protocol next month.")
    writes.review_makeup(session, access(fay), makeup, approve=True)
    assert makeup.status is MakeUpStatus.approved and status_of(session, meeting, pat) == "M"
    assert [c.source for c in queries.history(session, record)] == ["roll", "make_up"]
    assert _forecast(session, world, pat).state == queries.MET
    writes.set_requirement(session, access(lena), None, min_sessions=1, made_up_counts=False)
    assert _forecast(session, world, pat).state == queries.CANNOT_MEET


def test_only_an_absence_gets_a_make_up(session, world):
    lit, fay, pat = world.cohorts["Literacy"], world.people["Fay"], world.people["Pat"]
    record = writes.mark_attendance(session, access(fay), world.meeting(NOW, lit), lit, pat.id, "P")
    with pytest.raises(InvalidInput, match="Only an absence"):
        writes.assign_makeup(session, access(fay), record.id, "Watch")


# ---- grades ----------------------------------------------------------------------------------------------------------

def test_each_change_puts_the_persons_attendance_score_in_the_outbox(session, world):
    lit, fay, pat, lena = world.cohorts["Literacy"], world.people["Fay"], world.people["Pat"], world.people["Lena"]
    writes.set_requirement(session, access(lena), None, min_sessions=4)
    meetings = _eight_sessions(world, lit, past=3)
    writes.mark_attendance(session, access(fay), meetings[0], lit, pat.id, "P")
    writes.mark_attendance(session, access(fay), meetings[1], lit, pat.id, "L")
    component = session.scalar(select(GradedComponent).where(GradedComponent.course_id == world.course.id))
    assert (component.key, component.label, component.score_maximum) == ("attendance", "Attendance", 100.0)
    latest = session.scalar(select(ScoreDelivery).where(ScoreDelivery.membership_id == pat.id)
                            .order_by(ScoreDelivery.id.desc()).limit(1))
    assert latest.score_given == 50.0
    assert latest.comment.startswith("2 of 8 sessions attended; 4 required")
    assert session.scalar(select(func.count()).select_from(ScoreDelivery)
                          .where(ScoreDelivery.membership_id == world.people["Quinn"].id)) == 0
    writes.update_settings(session, access(lena), checkin_opens_minutes=15, checkin_closes_minutes=15,
                        late_after_minutes=10, grade_mode="share", grading_enabled=True)
    writes.mark_attendance(session, access(fay), meetings[2], lit, pat.id, "P")
    latest = session.scalar(select(ScoreDelivery).where(ScoreDelivery.membership_id == pat.id)
                            .order_by(ScoreDelivery.id.desc()).limit(1))
    assert latest.score_given == 37.5 and latest.comment == "3 of 8 sessions attended"


# ---- reports and CSV ---------------------------------------------------------------------------------------------------

def test_csv_cells_that_start_like_a_formula_are_neutralised():
    data = csv_bytes([["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "plain", 3, "Zoë"]])
    assert data.startswith(b"\xef\xbb\xbf")                        # UTF-8 with a BOM, for spreadsheets
    assert next(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        "'=HYPERLINK(\"x\")", "'+1", "'-2", "'@SUM(A1)", "plain", "3", "Zoë"]


def test_the_grid_and_summary_export_as_csv(session, world):
    lit, lena = world.cohorts["Literacy"], world.people["Lena"]
    world.people["Pat"].user.name = "=cmd|' /C calc'!A0"
    meetings = _eight_sessions(world, lit, past=2)
    writes.mark_attendance(session, access(lena), meetings[0], lit, world.people["Pat"].id, "P")
    grid = queries.cohort_grid(session, access(lena), lit)
    rows = list(csv.reader(io.StringIO(csv_bytes(formats.grid_rows(grid, dt.timezone.utc)).decode("utf-8-sig"))))
    assert rows[0][:2] == ["Participant", "Email"] and rows[0][-3:] == ["Attended", "Required", "Standing"]
    assert len(rows[0]) == 2 + 8 + 3
    pat_row = next(r for r in rows if r[0].startswith("'="))
    assert pat_row[0] == "'=cmd|' /C calc'!A0" and pat_row[2] == "Present" and pat_row[-3] == "1"
    rows = queries.program_summary(session, access(lena), now=NOW)
    by_name = {r.cohort.name: r for r in rows}
    assert (by_name["Literacy"].held, by_name["Literacy"].members) == (3, 3)   # two past sessions and the one at NOW
    assert by_name["Literacy"].average == pytest.approx(1 / 9)
    assert csv_bytes(formats.summary_rows(rows)).decode("utf-8-sig").splitlines()[0].startswith("Cohort,Participants")
    with pytest.raises(Forbidden):
        queries.program_summary(session, access(world.people["Pat"]))


def test_a_participant_sees_only_their_own_record(session, world):
    pat, quinn = world.people["Pat"], world.people["Quinn"]
    assert queries.personal_record(session, access(pat), pat.id).membership.id == pat.id
    with pytest.raises(Forbidden):
        queries.personal_record(session, access(pat), quinn.id)
    assert queries.personal_record(session, access(world.people["Fay"]), quinn.id).cohort.name == "Literacy"
    with pytest.raises(Forbidden):   # Fay does not run Math
        queries.personal_record(session, access(world.people["Fay"]), world.people["Sam"].id)


# ---- import ---------------------------------------------------------------------------------------------------------------

ZOOM = ("Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest,Recording Consent\n"
        "Pat P,PAT@example.edu,10/10/2030 03:00:05 PM,10/10/2030 04:00:00 PM,60,No,Y\n"
        "Pat P,pat@example.edu,10/10/2030 04:05:00 PM,10/10/2030 04:30:00 PM,25,No,Y\n"
        "Quinn,quinn@example.edu,10/10/2030 03:40:00 PM,10/10/2030 04:30:00 PM,50,No,Y\n"
        "Visitor,visitor@elsewhere.org,10/10/2030 03:00:00 PM,10/10/2030 04:30:00 PM,90,Yes,Y\n"
        "Sam,sam@example.edu,10/10/2030 03:00:00 PM,10/10/2030 04:30:00 PM,90,No,Y\n")

TEAMS = ("1. Summary\nMeeting title\tLiteracy CoP\nAttended participants\t2\n\n2. Participants\n"
         "Full Name\tJoin Time\tLeave Time\tDuration\tEmail\tRole\tParticipant ID (UPN)\n"
         "Rosa\t10/10/30, 3:00:00 PM\t10/10/30, 4:30:00 PM\t1h 28m 10s\tRosa@Example.edu\tAttendee\trosa@example.edu\n"
         "Quinn\t10/10/30, 4:10:00 PM\t10/10/30, 4:20:00 PM\t10m 0s\tquinn@example.edu\tAttendee\tquinn@example.edu\n"
         "\n3. In-Meeting Activities\nName\tJoin Time\n")


def test_a_zoom_report_is_matched_by_email_and_reviewed_before_saving(session, world):
    lit, fay = world.cohorts["Literacy"], world.people["Fay"]
    meeting = world.meeting(NOW, lit, minutes=90)
    report = formats.parse_participant_report(ZOOM.encode())
    review = formats.review_import(session, access(fay), meeting, lit, report)
    assert {(m.seat.membership.user.name, m.minutes, m.proposed.key) for m in review.matched} == {
        ("Pat", 85.0, "P"), ("Quinn", 50.0, "L")}
    assert sorted(r.email for r in review.unmatched) == ["sam@example.edu", "visitor@elsewhere.org"]
    assert [s.membership.user.name for s in review.absent_from_report] == ["Rosa"]
    assert count(session, AttendanceRecord) == 0                      # the review saves nothing
    changed = writes.apply_import(session, access(fay), meeting, lit, {m.seat.membership_id: m.proposed.key
                                                                      for m in review.matched})
    assert changed == 2 and status_of(session, meeting, world.people["Pat"]) == "P"
    assert {c.source for c in session.scalars(select(AttendanceChange))} == {"import"}


def test_a_teams_report_in_utf16_with_tabs_and_a_summary_block_is_read():
    report = formats.parse_participant_report(b"\xff\xfe" + TEAMS.encode("utf-16-le"))
    assert {(r.email, round(r.minutes, 1)) for r in report.rows} == {("rosa@example.edu", 88.2),
                                                                    ("quinn@example.edu", 10.0)}


def test_an_import_with_unknown_columns_says_which_columns_it_expected(session, world):
    with pytest.raises(formats.ImportFileError, match="“Student”, “Minutes”.*User Email"):
        formats.parse_participant_report(b"Student,Minutes\nPat,60\n")
    with pytest.raises(formats.ImportFileError, match="empty"):
        formats.parse_participant_report(b"")


def test_confirming_an_import_with_a_non_member_or_a_bad_status_saves_nothing(session, world):
    lit, fay = world.cohorts["Literacy"], world.people["Fay"]
    meeting = world.meeting(NOW, lit)
    session.commit()         # each refusal is rolled back to this world (not past it, as a view does)
    for decisions, reason in (({world.people["Pat"].id: "P", world.people["Sam"].id: "P"}, "not an active member"),
                              ({world.people["Pat"].id: "P", world.people["Quinn"].id: "Z"}, "not one of")):
        with pytest.raises(DomainError, match=reason):
            writes.apply_import(session, access(fay), meeting, lit, decisions)
        session.rollback()
    assert count(session, AttendanceRecord) == 0
