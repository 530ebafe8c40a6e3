"""Attendance pages through real LTI launches from the sandbox LMS: the quick roll (one change at a time and
the no-JavaScript form), check-in with the facilitator's code, the grid and CSV exports, the import review,
make-ups, the lead's settings, permissions and bad input, and the query count of the busy pages."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import event, func, select

from lti_tool.attendance import permissions, writes
from lti_tool.attendance.models import AttendanceChange, AttendanceRecord, AttendanceRequirement, AttendanceStatus
from lti_tool.calendar.models import Meeting
from lti_tool.course.access import access_for
from lti_tool.db import db
from lti_tool.programs.models import CohortFacilitator
from tests.attendance.helpers import build, membership_of
from tests.lti_client import forms

P1, P2, P3 = "demo-participant-1", "demo-participant-2", "demo-participant-3"


def course_of(response) -> int:
    return int(re.search(r"/c/(\d+)/", response.url).group(1))


@pytest.fixture
def demo(app, lti):
    fac = lti("demo-facilitator-1")
    course_id = course_of(fac.last)
    people = {sub: lti(sub) for sub in (P1, P2, P3, "demo-participant-4")}
    d = build(app, course_id, [P1, P2, P3], other_members=["demo-participant-4"])
    return d, fac, people


def base(d) -> str:
    return f"/c/{d.course_id}/attendance"


def records(app):
    with app.app_context():
        return {(r.meeting_id, r.membership_id): r.status.key for r in db.session.scalars(select(AttendanceRecord))}


def changes(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AttendanceChange))


def csrf_of(browser, path) -> str:
    return next(f.fields["csrf_token"] for f in forms(browser.get(path).text) if "csrf_token" in f.fields)


def mark(browser, d, membership_id, status, note=None, meeting=None, token=None, cohort=None):
    data = {"membership_id": membership_id, "status": status}
    if note is not None:
        data["note"] = note
    meeting = meeting or d.now_meeting
    return browser.post(f"{base(d)}/meetings/{meeting}/mark?cohort={cohort or d.cohort_id}", data,
                        headers={"X-CSRFToken": token, "Accept": "application/json", "X-Requested-With": "fetch"})


# ---- quick roll -------------------------------------------------------------------------------------------------

def test_the_quick_roll_lists_the_cohort_and_saves_each_change_as_it_is_made(app, demo):
    d, fac, _ = demo
    page = fac.get(f"{base(d)}/meetings/{d.now_meeting}/roll")
    assert page.status_code == 200
    assert "Aisha Rahman" in page.text and "Ben Carter" in page.text and "Chloé Dubois" in page.text
    assert "Daniel Kim" not in page.text                         # in the other cohort
    token = csrf_of(fac, f"{base(d)}/meetings/{d.now_meeting}/roll")
    answer = mark(fac, d, d.members[P1], "P", token=token)
    assert answer.status_code == 200 and answer.json()["label"] == "Present"
    answer = mark(fac, d, d.members[P1], "L", note="Came at 3:20", token=token)
    assert answer.json() == {**answer.json(), "status": "L", "note": "Came at 3:20"}
    assert records(app) == {(d.now_meeting, d.members[P1]): "L"}
    assert changes(app) == 2


def test_without_javascript_the_roll_form_saves_every_row(app, demo):
    d, fac, _ = demo
    page = fac.get(f"{base(d)}/meetings/{d.now_meeting}/roll")
    fields = {f"status-{d.members[P1]}": "P", f"status-{d.members[P2]}": "A", f"note-{d.members[P2]}": "Sick"}
    answer = fac.submit(page, **fields)
    assert answer.status_code == 200 and "Attendance saved (2 changed)" in answer.text
    assert records(app) == {(d.now_meeting, d.members[P1]): "P", (d.now_meeting, d.members[P2]): "A"}


def test_a_status_outside_the_set_or_a_non_member_is_refused_with_nothing_changed(app, demo):
    d, fac, _ = demo
    token = csrf_of(fac, f"{base(d)}/meetings/{d.now_meeting}/roll")
    mark(fac, d, d.members[P1], "P", token=token)
    bad = mark(fac, d, d.members[P1], "Q", token=token)
    assert bad.status_code == 400 and "not one of this program's attendance statuses" in bad.json()["message"]
    outsider = mark(fac, d, d.members["demo-participant-4"], "P", token=token)
    assert outsider.status_code == 400 and "not an active member of this cohort" in outsider.json()["message"]
    page = fac.get(f"{base(d)}/meetings/{d.now_meeting}/roll")
    form_bad = fac.submit(page, **{f"status-{d.members[P2]}": "P", f"status-{d.members[P3]}": "Z"})
    assert form_bad.status_code == 400 and "Nothing was saved" in form_bad.text
    assert records(app) == {(d.now_meeting, d.members[P1]): "P"} and changes(app) == 1


def test_a_mark_without_the_csrf_token_is_refused(app, demo):
    d, fac, _ = demo
    answer = mark(fac, d, d.members[P1], "P", token="forged")
    assert answer.status_code == 400 and records(app) == {}


def test_participants_cannot_take_the_roll(app, demo):
    d, _, people = demo
    pat = people[P1]
    assert pat.get(f"{base(d)}/meetings/{d.now_meeting}/roll").status_code == 403
    token = csrf_of(pat, f"{base(d)}/meetings/{d.now_meeting}/checkin")
    assert mark(pat, d, d.members[P2], "P", token=token).status_code == 403
    assert pat.get(f"{base(d)}/cohorts/{d.cohort_id}/grid").status_code == 403
    assert records(app) == {}


def test_a_facilitator_only_takes_the_roll_of_their_cohorts(app, lti, demo):
    d, _, _ = demo
    other = lti("demo-facilitator-2")          # a TA in the same course, facilitating nothing, not a lead
    answer = other.get(f"{base(d)}/meetings/{d.now_meeting}/roll")
    assert answer.status_code == 403
    assert other.get(f"{base(d)}/cohorts/{d.cohort_id}/grid").status_code == 403


def test_nothing_is_reachable_from_another_course(app, lti, demo):
    d, _, _ = demo
    stranger = lti("other-facilitator-1", course="other-course")
    other_course = course_of(stranger.last)
    assert other_course != d.course_id
    assert stranger.get(f"{base(d)}/meetings/{d.now_meeting}/roll").status_code == 403
    assert stranger.get(f"/c/{other_course}/attendance/meetings/{d.now_meeting}/roll").status_code == 404
    assert stranger.get(f"/c/{other_course}/attendance/cohorts/{d.cohort_id}/grid").status_code == 404
    assert stranger.get(f"/c/{other_course}/attendance/people/{d.members[P1]}").status_code == 404


# ---- a participant named as a cohort's facilitator (issue 11, point 1) ----------------------------------------------

@pytest.fixture
def named(app, lti, demo):
    """demo-participant-5, an LMS Learner named facilitator of "Principals" (a CohortFacilitator row, as an
    accepted proposal makes): they manage that cohort and no other."""
    d, _, _ = demo
    browser = lti("demo-participant-5")
    with app.app_context():
        db.session.add(CohortFacilitator(cohort_id=d.cohort_id,
                                         membership_id=membership_of("demo-participant-5", d.course_id).id))
        db.session.commit()
    return browser


def test_a_participant_named_facilitator_takes_their_cohorts_roll_and_shows_its_check_in_code(app, demo, named):
    d, _, _ = demo
    home = named.get(f"{base(d)}/")
    assert home.status_code == 200 and "Principals" in home.text and "Coaches" not in home.text
    roll = named.get(f"{base(d)}/meetings/{d.now_meeting}/roll")
    assert roll.status_code == 200 and "Aisha Rahman" in roll.text
    token = csrf_of(named, f"{base(d)}/meetings/{d.now_meeting}/roll")
    assert mark(named, d, d.members[P1], "P", token=token).status_code == 200
    saved = named.submit(named.get(f"{base(d)}/meetings/{d.now_meeting}/roll"), **{f"status-{d.members[P2]}": "A"})
    assert saved.status_code == 200 and "Attendance saved" in saved.text
    assert records(app) == {(d.now_meeting, d.members[P1]): "P", (d.now_meeting, d.members[P2]): "A"}
    screen = named.get(f"{base(d)}/meetings/{d.now_meeting}/checkin/screen")
    assert screen.status_code == 200 and re.search(r'data-code="\d{6}"', screen.text)
    for part in ("code", "list", "qr.svg"):
        assert named.get(f"{base(d)}/meetings/{d.now_meeting}/checkin/{part}?cohort={d.cohort_id}").status_code == 200


def test_a_participant_named_facilitator_sees_their_cohorts_grid_csv_records_and_summary(app, demo, named):
    d, _, _ = demo
    for path in (f"/cohorts/{d.cohort_id}", f"/cohorts/{d.cohort_id}/grid", f"/people/{d.members[P1]}"):
        assert named.get(base(d) + path).status_code == 200, path
    export = named.get(f"{base(d)}/cohorts/{d.cohort_id}/grid.csv")
    assert export.status_code == 200 and len(list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))) == 4
    summary = named.get(f"{base(d)}/summary")
    assert summary.status_code == 200 and "Principals" in summary.text and "Coaches" not in summary.text
    assert "Principals" in named.get(f"{base(d)}/summary.csv").content.decode("utf-8-sig")
    person = named.get(f"{base(d)}/people/{d.members[P1]}.csv").content.decode("utf-8-sig")
    assert person.startswith("Session,Starts,Status,Note") and "Not marked yet" in person


def test_a_participant_named_facilitator_reviews_make_ups_and_imports_a_report_for_their_cohort(app, demo, named):
    d, _, people = demo
    token = csrf_of(named, f"{base(d)}/meetings/{d.now_meeting}/roll")
    mark(named, d, d.members[P1], "A", token=token, meeting=d.past_meetings[0])
    with app.app_context():
        record_id = db.session.scalar(select(AttendanceRecord.id))
    assert "Every change of this record" in named.get(f"{base(d)}/records/{record_id}/history").text
    given = named.submit(named.get(f"{base(d)}/records/{record_id}/makeup"), task="Watch the recording")
    assert given.status_code == 200 and "Make-up task given" in given.text
    makeup_url = re.search(r'href="(/c/\d+/attendance/makeups/\d+)"', given.text).group(1)
    people[P1].submit(people[P1].get(makeup_url), **{"work-work": "My reflection"})
    approved = named.submit(named.get(makeup_url), decision="approve")
    assert "counts as made up" in approved.text
    path = f"{base(d)}/meetings/{d.now_meeting}/import?cohort={d.cohort_id}"
    review = named.post(path, {"csrf_token": csrf_of(named, path)},
                        files={"file": ("zoom.csv", ZOOM.encode(), "text/csv")})
    assert review.status_code == 200 and "Review the import" in review.text
    confirm = named.submit(review, **{f"status-{d.members[P1]}": "P", f"status-{d.members[P2]}": "L"})
    assert "Imported 2 people" in confirm.text
    assert records(app) == {(d.past_meetings[0], d.members[P1]): "M", (d.now_meeting, d.members[P1]): "P",
                            (d.now_meeting, d.members[P2]): "L"}


def test_a_participant_named_facilitator_gets_nothing_of_another_cohort_nor_the_settings(app, demo, named):
    d, fac, _ = demo
    p4 = d.members["demo-participant-4"]
    token = csrf_of(fac, f"{base(d)}/meetings/{d.other_meeting}/roll")
    mark(fac, d, p4, "A", token=token, meeting=d.other_meeting, cohort=d.other_cohort_id)
    with app.app_context():
        other_record = db.session.scalar(select(AttendanceRecord.id).where(AttendanceRecord.membership_id == p4))
    refused = [f"/meetings/{d.other_meeting}/roll", f"/meetings/{d.other_meeting}/checkin/screen",
               f"/meetings/{d.other_meeting}/checkin/code?cohort={d.other_cohort_id}",
               f"/meetings/{d.other_meeting}/import", f"/cohorts/{d.other_cohort_id}",
               f"/cohorts/{d.other_cohort_id}/grid", f"/cohorts/{d.other_cohort_id}/grid.csv", f"/people/{p4}",
               f"/records/{other_record}/history", f"/records/{other_record}/makeup", "/settings"]
    for path in refused:
        assert named.get(base(d) + path).status_code in (403, 404), path
    token = csrf_of(named, f"{base(d)}/meetings/{d.now_meeting}/roll")
    assert mark(named, d, p4, "P", token=token, meeting=d.other_meeting, cohort=d.other_cohort_id).status_code == 403
    assert mark(named, d, p4, "P", token=token).status_code == 400        # not in their cohort
    assert records(app) == {(d.other_meeting, p4): "A"}


def test_the_default_statuses_made_at_the_first_visit_are_kept(app, demo):
    d, fac, _ = demo
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AttendanceStatus)) == 0
    page = fac.get(f"{base(d)}/settings")
    with app.app_context():
        ids = set(db.session.scalars(select(AttendanceStatus.id)))
    assert len(ids) == 5, "the page's loader committed the statuses it made"
    late = re.search(r'action="/c/\d+/attendance/settings/statuses/(\d+)"[^>]*aria-label="Status Late"', page.text)
    field = f"s{late.group(1)}-label"
    index = next(i for i, f in enumerate(forms(page.text)) if field in f.fields)
    saved = fac.submit(page, index=index, **{field: "Tardy"})
    assert saved.status_code == 200 and "Status saved" in saved.text
    with app.app_context():
        assert set(db.session.scalars(select(AttendanceStatus.id))) == ids
        assert db.session.get(AttendanceStatus, int(late.group(1))).label == "Tardy"


# ---- check-in ------------------------------------------------------------------------------------------------------

def test_a_participant_checks_in_with_the_code_on_the_facilitators_screen(app, demo):
    d, fac, people = demo
    screen = fac.get(f"{base(d)}/meetings/{d.now_meeting}/checkin/screen")
    assert screen.status_code == 200 and 'hx-trigger="every 3s"' in screen.text
    code = re.search(r'data-code="(\d{6})"', screen.text).group(1)
    qr = fac.get(f"{base(d)}/meetings/{d.now_meeting}/checkin/qr.svg?cohort={d.cohort_id}")
    assert qr.headers["Content-Type"].startswith("image/svg+xml") and "<svg" in qr.text
    pat = people[P1]
    page = pat.get(f"{base(d)}/meetings/{d.now_meeting}/checkin?code={code}")
    assert f'value="{code}"' in page.text
    # A field naming somebody else is simply not read: the identity is the launch's.
    done = pat.submit(page, membership_id=str(d.members[P2]))
    assert done.status_code == 200 and "You are checked in: Present" in done.text
    assert records(app) == {(d.now_meeting, d.members[P1]): "P"}
    live = fac.get(f"{base(d)}/meetings/{d.now_meeting}/checkin/list?cohort={d.cohort_id}")
    assert "Aisha Rahman" in live.text and "1 checked in" in live.text


def test_a_wrong_code_is_refused_and_repeated_wrong_codes_are_rate_limited(app, demo):
    d, _, people = demo
    pat = people[P1]
    page = pat.get(f"{base(d)}/meetings/{d.now_meeting}/checkin")
    wrong = pat.submit(page, code="000000")
    assert wrong.status_code == 400 and "not the one showing now" in wrong.text
    statuses = [pat.submit(page, code="000001").status_code for _ in range(12)]
    assert statuses[-1] == 429 and set(statuses) <= {400, 429}
    assert records(app) == {}


def test_no_check_in_for_another_cohorts_session_nor_outside_the_window(app, demo):
    d, _, people = demo
    pat = people[P1]
    with app.app_context():
        other_code = permissions.current_code(db.session.get(Meeting, d.other_meeting))[0]
        past_code = permissions.current_code(db.session.get(Meeting, d.past_meetings[0]))[0]
    page = pat.get(f"{base(d)}/meetings/{d.other_meeting}/checkin")
    refused = pat.submit(page, code=other_code)
    assert refused.status_code == 403 and "belongs to another cohort" in refused.text
    page = pat.get(f"{base(d)}/meetings/{d.past_meetings[0]}/checkin")
    closed = pat.submit(page, code=past_code)
    assert closed.status_code == 403 and "Check-in for this session is open from" in closed.text
    assert records(app) == {}


# ---- reports --------------------------------------------------------------------------------------------------------

def test_the_grid_is_a_captioned_table_and_exports_csv(app, demo):
    d, fac, _ = demo
    token = csrf_of(fac, f"{base(d)}/meetings/{d.now_meeting}/roll")
    mark(fac, d, d.members[P1], "P", token=token, meeting=d.past_meetings[0])
    mark(fac, d, d.members[P2], "A", token=token, meeting=d.past_meetings[0])
    page = fac.get(f"{base(d)}/cohorts/{d.cohort_id}/grid")
    assert page.status_code == 200
    assert "<caption" in page.text and '<th scope="col"' in page.text and '<th scope="row"' in page.text
    assert '<span class="visually-hidden">Present</span>' in page.text
    export = fac.get(f"{base(d)}/cohorts/{d.cohort_id}/grid.csv")
    assert export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Participant" and len(rows) == 4
    aisha = next(r for r in rows if r[0] == "Aisha Rahman")
    assert aisha[1] == "aisha.rahman@example.edu" and aisha[2] == "Present"
    summary = fac.get(f"{base(d)}/summary.csv")
    assert summary.status_code == 200 and "Principals" in summary.content.decode("utf-8-sig")


def test_a_participant_sees_their_standing_and_no_one_elses(app, demo):
    d, fac, people = demo
    with app.app_context():
        program = db.session.get(Meeting, d.now_meeting).program
        from tests.attendance.helpers import membership_of
        writes.set_requirement(db.session, access_for(db.session, membership_of("demo-facilitator-1", d.course_id),
                                                      program), None, min_sessions=5)
        db.session.commit()
    token = csrf_of(fac, f"{base(d)}/meetings/{d.now_meeting}/roll")
    mark(fac, d, d.members[P1], "A", token=token, meeting=d.past_meetings[0])
    pat = people[P1]
    mine = pat.get(f"{base(d)}/me")
    assert mine.status_code == 200 and "My attendance" in mine.text
    assert "At risk" in mine.text and "You need 5 of the 5 remaining sessions" in mine.text
    assert pat.get(f"{base(d)}/people/{d.members[P2]}").status_code == 403
    cohort_page = fac.get(f"{base(d)}/cohorts/{d.cohort_id}")
    assert "Warning:" in cohort_page.text and "1 person needs attention" in cohort_page.text


# ---- import ------------------------------------------------------------------------------------------------------------

ZOOM = ("Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
        "Aisha,AISHA.RAHMAN@example.edu,x,y,88,No\n"
        "Ben,ben.carter@example.edu,x,y,30,No\n"
        "Someone,someone@elsewhere.org,x,y,90,Yes\n")


def test_an_import_is_reviewed_before_anything_is_saved_then_saved_with_history(app, demo):
    d, fac, _ = demo
    path = f"{base(d)}/meetings/{d.now_meeting}/import?cohort={d.cohort_id}"
    token = csrf_of(fac, path)
    review = fac.post(path, {"csrf_token": token}, files={"file": ("zoom.csv", ZOOM.encode(), "text/csv")})
    assert review.status_code == 200 and "Review the import" in review.text
    assert "someone@elsewhere.org" in review.text and "1 email matches nobody in this cohort" in review.text
    assert records(app) == {}
    proposed = dict(re.findall(r'name="(status-\d+)">(?:(?!</select>).)*?<option value="(\w)" selected', review.text,
                               re.S))
    assert proposed == {f"status-{d.members[P1]}": "P", f"status-{d.members[P2]}": "L"}
    confirm = fac.submit(review, **proposed)          # the test client does not read <select>s
    assert confirm.status_code == 200 and "Imported 2 people" in confirm.text
    assert records(app) == {(d.now_meeting, d.members[P1]): "P", (d.now_meeting, d.members[P2]): "L"}
    with app.app_context():
        assert {c.source for c in db.session.scalars(select(AttendanceChange))} == {"import"}


def test_an_import_with_unknown_columns_is_refused_with_a_clear_message(app, demo):
    d, fac, _ = demo
    path = f"{base(d)}/meetings/{d.now_meeting}/import?cohort={d.cohort_id}"
    token = csrf_of(fac, path)
    answer = fac.post(path, {"csrf_token": token}, files={"file": ("x.csv", b"Student,Minutes\nA,3\n", "text/csv")})
    assert answer.status_code == 400 and "not those of a Zoom or Teams participant report" in answer.text
    assert records(app) == {}


# ---- make-ups and settings --------------------------------------------------------------------------------------------------

def test_a_make_up_is_given_handed_in_and_approved(app, demo):
    d, fac, people = demo
    token = csrf_of(fac, f"{base(d)}/meetings/{d.now_meeting}/roll")
    mark(fac, d, d.members[P1], "A", token=token, meeting=d.past_meetings[0])
    with app.app_context():
        record_id = db.session.scalar(select(AttendanceRecord.id))
    give = fac.get(f"{base(d)}/records/{record_id}/makeup")
    after = fac.submit(give, task="Watch the recording and post a reflection")
    assert after.status_code == 200 and "Make-up task given" in after.text
    makeup_url = re.search(r'href="(/c/\d+/attendance/makeups/\d+)"', after.text).group(1)
    pat = people[P1]
    page = pat.get(makeup_url)
    handed = pat.submit(page, **{"work-work": "https://example.edu/reflection"})
    assert "Your work was handed in" in handed.text
    review = fac.get(makeup_url)
    approved = fac.submit(review, decision="approve")
    assert "counts as made up" in approved.text
    assert records(app) == {(d.past_meetings[0], d.members[P1]): "M"}


def test_a_lead_sets_a_requirement_and_a_participant_cannot_open_settings(app, demo):
    d, fac, people = demo
    page = fac.get(f"{base(d)}/settings")
    assert page.status_code == 200
    requirement_form = next(i for i, f in enumerate(forms(page.text)) if "min_sessions" in f.fields)
    saved = fac.submit(page, index=requirement_form, min_sessions="4", cohort_id="0")
    assert "Requirement saved" in saved.text
    with app.app_context():
        assert db.session.scalar(select(AttendanceRequirement.min_sessions)) == 4
    assert people[P1].get(f"{base(d)}/settings").status_code == 403


# ---- fixed query counts ------------------------------------------------------------------------------------------------------

def _queries(app, browser, path) -> int:
    engine = db.engine_for(app)
    seen = []

    def count(conn, cursor, statement, *_args):
        seen.append(1)
        print("SQL", statement.split("FROM")[0][:60].replace("\n"," "), "FROM", statement.split("FROM")[1][:50].replace("\n"," ") if "FROM" in statement else "")

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert browser.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_grid_and_the_roll_cost_the_same_number_of_queries_whatever_their_size(app, lti, demo):
    d, fac, people = demo
    token = csrf_of(fac, f"{base(d)}/meetings/{d.now_meeting}/roll")
    for sub in (P1, P2):
        mark(fac, d, d.members[sub], "P", token=token, meeting=d.past_meetings[0])
    grid_path, roll_path = f"{base(d)}/cohorts/{d.cohort_id}/grid", f"{base(d)}/meetings/{d.now_meeting}/roll"
    print('GRID'); small = (_queries(app, fac, grid_path), _queries(app, fac, roll_path))
    more = [f"demo-participant-{i}" for i in range(5, 11)]
    for sub in more:
        lti(sub)
    with app.app_context():
        from lti_tool.programs.models import CohortMember, SeatStatus
        from tests.attendance.helpers import membership_of
        meeting = db.session.get(Meeting, d.now_meeting)
        for sub in more:
            db.session.add(CohortMember(cohort_id=d.cohort_id, membership_id=membership_of(sub, d.course_id).id,
                                        status=SeatStatus.active))
        for i in range(6):
            db.session.add(Meeting(program_id=meeting.program_id, cohort_id=d.cohort_id, kind=meeting.kind,
                                   title=f"Extra {i}", starts_at=meeting.starts_at, ends_at=meeting.ends_at))
        db.session.commit()
    for sub in more[:4]:
        mark(fac, d, d.members.get(sub) or _id(app, sub, d), "L", token=token)
    large = (_queries(app, fac, grid_path), _queries(app, fac, roll_path))
    assert large == small


def _id(app, sub, d):
    with app.app_context():
        from tests.attendance.helpers import membership_of
        return membership_of(sub, d.course_id).id
