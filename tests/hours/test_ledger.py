"""The ledger derived from records (G3.1–G3.3): live minutes from the roll, the check-in time, a "left early"
entry and a Zoom/Teams report (capped at the session, breaks subtracted); excused 0 by default; approved
make-ups; module items once completed (their estimate, never logs); readings whose discussion criteria were
met; manual lines with a reason; corrections show at once; who may see whose ledger."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lti_tool.attendance import writes as attendance
from lti_tool.attendance.models import AttendanceChange, AttendanceRecord
from lti_tool.discussions import writes as discussions
from lti_tool.discussions.models import PostFirst, Thread
from lti_tool.discussions.permissions import viewer_for
from lti_tool.errors import Forbidden, InvalidInput, NotFound
from lti_tool.hours import queries, writes
from lti_tool.hours.models import Category, ManualLine
from lti_tool.modules import writes as modules
from lti_tool.modules.completion import complete_item
from lti_tool.modules.models import ItemKind
from tests.factories import CohortMemberFactory
from tests.hours.conftest import T0, mark, profile


def ledger_of(session, w, who="Pat", viewer="Lena"):
    return queries.person_ledger(session, w.access(viewer), w.people[who].id).ledger


def test_present_credits_the_session_less_its_breaks_and_late_check_in_loses_the_minutes_late(session, world):
    w = world
    m1 = w.meeting(T0, w.cohorts["Literacy"], minutes=120, title="Kick-off")
    m1.break_minutes = 15
    m2 = w.meeting(T0 + dt.timedelta(days=30), w.cohorts["Literacy"], minutes=90, title="October session")
    mark(session, w, m1, "Pat", "P")
    attendance.check_in(session, w.access("Pat"), m2, _code(m2, T0 + dt.timedelta(days=30, minutes=25)),
                        now=T0 + dt.timedelta(days=30, minutes=25))
    ledger = ledger_of(session, w)
    by_title = {line.title: line for line in ledger.lines}
    assert by_title["Kick-off"].minutes == 105 and "breaks" in by_title["Kick-off"].evidence
    assert by_title["October session"].minutes == 65          # 90 − 25 late
    assert by_title["October session"].evidence.startswith("Late: checked in for 65 of 90")
    assert all(line.category is Category.live for line in ledger.lines)
    assert ledger.total_minutes == 170 and ledger.total_units == 2.75      # clock hours, down to the quarter


def _code(meeting, now):
    from lti_tool.attendance.permissions import checkin_code, time_step

    return checkin_code(meeting.id, time_step(now))


def test_left_early_and_a_zoom_report_set_the_minutes_capped_at_the_session(session, world):
    w = world
    m = w.meeting(T0, w.cohorts["Literacy"], minutes=90)
    record = mark(session, w, m, "Pat", "P")
    attendance.set_minutes(session, w.access("Fay"), record.id, left_at=T0 + dt.timedelta(minutes=60))
    assert ledger_of(session, w).lines[0].minutes == 60
    assert "left at" in ledger_of(session, w).lines[0].evidence
    # The report's minutes, capped at the 90 scheduled (people linger in the room).
    attendance.apply_import(session, w.access("Fay"), m, w.cohorts["Literacy"], {w.people["Quinn"].id: "P"},
                            minutes={w.people["Quinn"].id: 104.5})
    quinn = ledger_of(session, w, "Quinn")
    assert quinn.lines[0].minutes == 90 and "Zoom/Teams report" in quinn.lines[0].evidence
    changes = session.scalars(select(AttendanceChange).where(AttendanceChange.record_id == record.id)).all()
    assert [c.source for c in changes] == ["roll", "minutes"]          # the correction is in the history
    with pytest.raises(InvalidInput):
        attendance.set_minutes(session, w.access("Fay"), record.id, minutes=91)
    with pytest.raises(Forbidden):
        attendance.set_minutes(session, w.access("Pat"), record.id, minutes=30)


def test_excused_counts_nothing_by_default_and_the_profiles_share_when_set(session, world):
    w = world
    m = w.meeting(T0, w.cohorts["Literacy"], minutes=60)
    mark(session, w, m, "Pat", "E")
    assert ledger_of(session, w).lines == []
    profile(session, w, excused_percent=50)
    assert ledger_of(session, w).lines[0].minutes == 30


def test_an_approved_make_up_credits_its_minutes_as_a_make_up(session, world):
    w = world
    m = w.meeting(T0, w.cohorts["Literacy"], minutes=90)
    record = mark(session, w, m, "Pat", "A")
    assert ledger_of(session, w).lines == []
    makeup = attendance.assign_makeup(session, w.access("Fay"), record.id, "Watch the recording", minutes=45)
    attendance.submit_makeup(session, w.access("Pat"), makeup, "Done: my reflection")
    attendance.review_makeup(session, w.access("Fay"), makeup, approve=True)
    (line,) = ledger_of(session, w).lines
    assert (line.category, line.minutes, line.source) == (Category.make_up, 45, "make_up")


def test_correcting_an_attendance_record_changes_the_ledger_at_once(session, world):
    w = world
    m = w.meeting(T0, w.cohorts["Literacy"], minutes=90)
    mark(session, w, m, "Pat", "A")
    assert ledger_of(session, w).total_minutes == 0
    mark(session, w, m, "Pat", "P")          # the facilitator corrects the roll
    assert ledger_of(session, w).total_minutes == 90
    mark(session, w, m, "Pat", "A")
    assert ledger_of(session, w).total_minutes == 0


def test_a_deep_dive_counts_as_deep_dive_and_cancelled_sessions_count_nothing(session, world):
    from lti_tool.calendar.models import MeetingKind

    w = world
    deep = w.meeting(T0, None, minutes=240, title="Deep dive")
    deep.kind = MeetingKind.deep_dive
    gone = w.meeting(T0 + dt.timedelta(days=1), w.cohorts["Literacy"], minutes=60, title="Cancelled later")
    mark(session, w, deep, "Pat", "P")
    mark(session, w, gone, "Pat", "P")
    gone.cancelled = True
    session.flush()
    (line,) = ledger_of(session, w).lines
    assert line.category is Category.deep_dive and line.minutes == 240


def test_a_completed_module_item_credits_its_estimate_and_an_unfinished_one_nothing(session, world):
    w = world
    module = modules.save_module(session, w.access("Lena"), title="Week 1", cohort_ids=[w.cohorts["Literacy"].id],
                                 released=True)
    done = modules.save_item(session, w.access("Lena"), module, kind=ItemKind.page, title="Read this", minutes=40)
    modules.save_item(session, w.access("Lena"), module, kind=ItemKind.page, title="Not yet", minutes=25)
    complete_item(session, done, w.people["Pat"], "viewed", now=T0)
    (line,) = ledger_of(session, w).lines
    assert (line.category, line.minutes, line.title) == (Category.module, 40, "Week 1: Read this")
    assert line.on_date == dt.date(2030, 10, 10) and line.link[0] == "modules.module"


def test_a_reading_whose_discussion_criteria_were_met_credits_the_profiles_minutes(session, world):
    w = world
    profile(session, w, reading_minutes=45)
    lena = w.access("Lena")
    book = discussions.save_book(session, lena, title="Punished for Dreaming", author="Bettina Love",
                                 cohort_ids=[w.cohorts["Literacy"].id])
    discussions.save_reading(session, lena, book, label="Chapter 1", starts_on=dt.date(2030, 10, 1),
                             ends_on=dt.date(2030, 10, 20), prompt="What struck you?", post_first=PostFirst.none,
                             now=T0)
    reading = book.readings[0]
    reading.initial_posts_required, reading.replies_required = 1, 1
    thread = session.scalar(select(Thread).where(Thread.reading_id == reading.id))
    pat, quinn = viewer_for(session, w.people["Pat"], w.cohorts["Literacy"]), \
        viewer_for(session, w.people["Quinn"], w.cohorts["Literacy"])
    mine = discussions.create_post(session, pat, thread, "My first thoughts", now=T0)
    assert ledger_of(session, w).lines == []                  # one post, a reply still needed
    theirs = discussions.create_post(session, quinn, thread, "Mine", now=T0)
    discussions.create_post(session, pat, thread, "Agreed!", parent=theirs, now=T0)
    (line,) = ledger_of(session, w).lines
    assert (line.category, line.minutes, line.source) == (Category.book_study, 45, "reading")
    assert mine.id and ledger_of(session, w, "Quinn").lines == []


def test_a_manual_line_needs_a_lead_and_a_reason_and_removing_it_keeps_the_audit(session, world):
    w = world
    pat = w.people["Pat"].id
    with pytest.raises(InvalidInput) as refused:
        writes.add_manual_line(session, w.access("Lena"), pat, category="other", on_date=dt.date(2030, 11, 2),
                               minutes=180, title="State conference", reason="  ")
    assert refused.value.field == "reason"
    with pytest.raises(Forbidden):
        writes.add_manual_line(session, w.access("Fay"), pat, category="other", on_date=dt.date(2030, 11, 2),
                               minutes=180, title="State conference", reason="Attended for the cohort")
    line = writes.add_manual_line(session, w.access("Lena"), pat, category="other", on_date=dt.date(2030, 11, 2),
                                  minutes=180, title="State conference", reason="Attended for the cohort")
    assert ledger_of(session, w).total_minutes == 180
    assert ledger_of(session, w).lines[0].evidence == "Reason: Attended for the cohort"
    writes.remove_manual_line(session, w.access("Lena"), line.id, "Entered twice")
    assert ledger_of(session, w).total_minutes == 0
    kept = session.get(ManualLine, line.id)
    assert kept.removed_reason == "Entered twice" and kept.entered_by_id == w.people["Lena"].id


def test_a_participant_sees_only_their_own_ledger_and_facilitators_their_cohorts(session, world):
    w = world
    assert queries.person_ledger(session, w.access("Pat"), w.people["Pat"].id).person.id == w.people["Pat"].id
    with pytest.raises(NotFound):
        queries.person_ledger(session, w.access("Pat"), w.people["Quinn"].id)
    with pytest.raises(NotFound):
        queries.person_ledger(session, w.access("Fay"), w.people["Sam"].id)     # Math is not Fay's
    assert queries.person_ledger(session, w.access("Fay"), w.people["Quinn"].id)
    other = w.new_course("course-b")
    stranger = w.person("Stranger", course=other)
    with pytest.raises(NotFound):
        queries.person_ledger(session, w.access("Lena"), stranger.id)
    rows = queries.program_ledger(session, w.access("Fay")).rows
    assert sorted(r.person.user.name for r in rows) == ["Pat", "Quinn"]
    assert sorted(r.person.user.name for r in queries.program_ledger(session, w.access("Lena")).rows) == \
        ["Pat", "Quinn", "Sam"]
    with pytest.raises(NotFound):
        queries.program_ledger(session, w.access("Pat"))


def test_the_profile_refuses_a_cap_out_of_range_and_saves_nothing(session, world):
    w = world
    with pytest.raises(InvalidInput) as refused:
        profile(session, w, caps={"module": 120})
    assert refused.value.field == "cap_module"
    with pytest.raises(Forbidden):
        writes.save_profile(session, w.access("Fay"), unit="ceu", rounding="down_tenth", caps={},
                            reading_minutes=60, excused_percent=0)
    saved = profile(session, w, unit="ceu", rounding="down_tenth", caps={"module": 20})
    assert saved.caps == {"module": 20.0}


def test_the_program_ledger_costs_the_same_queries_for_more_people_and_records(session, world):
    from sqlalchemy import event

    from lti_tool.db import db

    w = world

    def statements() -> int:
        counted = []
        listener = lambda *a: counted.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            queries.program_ledger(session, w.access("Lena"))
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(counted)

    m = w.meeting(T0, w.cohorts["Literacy"], minutes=60)
    mark(session, w, m, "Pat", "P")
    few = statements()
    for i in range(4):
        person = w.person(f"Extra {i}")
        CohortMemberFactory(cohort=w.cohorts["Literacy"], membership=person)
        later = w.meeting(T0 + dt.timedelta(days=i + 1), w.cohorts["Literacy"], minutes=60)
        for who in ("Pat", "Quinn", f"Extra {i}"):
            mark(session, w, later, who, "P")
    assert statements() == few
