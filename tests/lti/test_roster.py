"""The roster page and its sync (lti_tool.lti.roster_views) through real launches over HTTP against the sandbox
LMS, whose NRPS endpoints page the way Canvas (cursor, 50 at most) and Moodle (limit/from) do: members come,
change role and leave; a 5,000-member course; an LMS that fails half-way; the sync at a facilitator's launch
when the roster is old; who may see what."""
from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from html import unescape

import pytest
from sqlalchemy import event, func, select

from lti_tool.db import db, utcnow
from lti_tool.jobs import Job, JobStatus, report
from lti_tool.lti import roster
from lti_tool.lti.models import Course, CourseRole, Membership, User
from lti_tool.sandbox import services as sb
from tests.lti_client import forms


# -- helpers -------------------------------------------------------------------------------------------------

def text(response) -> str:
    """The page's text with tags dropped and spaces squeezed, to read sentences as a person would."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.text))).strip()


def course_id_of(response) -> int:
    return int(re.search(r"/c/(\d+)/", response.url).group(1))


@contextmanager
def lms(app):
    """The sandbox LMS's rows, changed as an LMS administrator would, committed on leaving."""
    with app.app_context():
        session = db.new_session()
        try:
            yield session, sb.first_platform(session)
            session.commit()
        finally:
            session.close()


def lms_course(session, platform, context_id="demo-course"):
    return sb.get_course(session, platform, context_id)


@contextmanager
def tool_db(app):
    """The tool's own tables, read fresh (the server thread and the jobs write through their own sessions)."""
    with app.app_context():
        session = db.new_session()
        try:
            yield session
        finally:
            session.close()


def membership(app, course_id: int, sub: str) -> Membership | None:
    with tool_db(app) as s:
        m = s.scalar(select(Membership).join(Membership.user)
                     .where(Membership.course_id == course_id, User.sub == sub))
        if m is not None:
            s.expunge(m)
        return m


def jobs(app, course_id: int) -> list[Job]:
    with tool_db(app) as s:
        rows = list(s.scalars(select(Job).where(Job.course_id == course_id, Job.kind == roster.JOB_KIND)
                              .order_by(Job.id)))
        s.expunge_all()
        return rows


def press_sync(browser, course_id: int):
    """Press "Sync roster now" on the roster page (its CSRF token included), following the redirect."""
    page = browser.get(f"/c/{course_id}/roster/")
    assert page.status_code == 200
    index = next(i for i, f in enumerate(forms(page.text)) if f.action.endswith("/roster/sync"))
    return browser.submit(page, index=index)


def nrps_requests(app, part: str) -> list:
    with lms(app) as (s, _):
        return [r for r in sb.request_log(s, part) if r.method == "GET"]


@pytest.fixture
def facilitator(lti, app):
    """A facilitator of the demo course, launched over HTTP, and the tool's course id."""
    browser = lti("demo-facilitator-1")
    return browser, course_id_of(browser.last)


@pytest.fixture
def auto_sync(app, monkeypatch):
    """Turn on the sync at a facilitator's launch (the suite keeps it off so launches leave rosters alone)."""
    monkeypatch.setitem(app.config, "ROSTER_SYNC_AT_LAUNCH", True)


def count_queries(app, browser, path: str) -> tuple[int, object]:
    engine = db.engine_for(app)
    statements = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = browser.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200
    return len(statements), response


# -- the page and its button ---------------------------------------------------------------------------------

def test_the_sync_button_lists_every_lms_member_with_role_email_and_raw_roles(app, facilitator):
    browser, cid = facilitator
    before = browser.get(f"/c/{cid}/roster/")
    assert "The roster has not been read in full from the LMS yet" in text(before)
    assert "In the course (1)" in text(before)               # only the facilitator who launched

    after = press_sync(browser, cid)
    page = text(after)
    assert after.url.endswith(f"/c/{cid}/roster/")
    assert "28 members: 27 new, 0 changed, 0 no longer in the course." in page
    # In the program's zone, named (the <time>'s title holds the zone's full name).
    assert re.search(r"Last synced from the LMS: \w{3} \d+ \w{3} \d{4}, \d+:\d\d [ap]m E[SD]T\b", page)
    assert 'title="America/New_York"' in after.text
    assert "In the course (28)" in page and "No longer in the LMS course (0)" in page
    assert "Aisha Rahman" in page and "aisha.rahman@example.edu" in page
    assert "Ruth Abernathy" in page                            # the observer
    # Our role beside the raw LTI roles, which wait behind a disclosure.
    row = re.search(r"Tomás Lindqvist.*?</tr>", after.text, re.S).group(0)
    assert "Facilitator" in row and "<details" in row
    assert "membership/Instructor#TeachingAssistant" in row
    assert "LMS roster" in row and "Never" in row               # source, and no launch yet
    me = re.search(r"Maya Okonkwo-Reyes</th>.*?</tr>", after.text, re.S).group(0)
    assert ">Launch<" in me and "<time" in me                 # met at a launch, with its time
    [job] = jobs(app, cid)
    assert job.status is JobStatus.done and job.result == {"listed": 28, "added": 27, "changed": 0, "deactivated": 0}


def test_new_lms_members_appear_roles_change_and_those_who_left_are_kept_as_inactive(app, lti, facilitator):
    browser, cid = facilitator
    leaver = lti("demo-participant-4")                           # has a history here: a launch
    assert leaver.get(f"/c/{cid}/").status_code == 200
    launched_at = membership(app, cid, "demo-participant-4").last_launch_at
    press_sync(browser, cid)
    with lms(app) as (s, platform):
        course = lms_course(s, platform)
        sb.set_roles(s, course, "demo-participant-3", [sb.INSTRUCTOR])
        sb.remove_enrollment(s, course, "demo-participant-4")
        sb.set_enrollment_status(s, course, "demo-participant-5", "Inactive")
        sb.add_course(s, platform, "demo-course", course.title,
                      [("late-joiner", "Zoe Late-Joiner", "zoe@example.edu", [sb.LEARNER])])

    page = text(press_sync(browser, cid))
    assert "28 members: 1 new, 2 changed, 1 no longer in the course." in page
    assert "Zoe Late-Joiner" in page
    assert "In the course (27)" in page and "No longer in the LMS course (2)" in page
    promoted = membership(app, cid, "demo-participant-3")
    assert promoted.role is CourseRole.facilitator and promoted.active
    gone = membership(app, cid, "demo-participant-4")
    assert gone is not None and gone.active is False            # kept, not deleted
    assert gone.last_launch_at == launched_at and gone.source == "launch"

    inactive = browser.get(f"/c/{cid}/roster/?status=inactive")
    shown = text(inactive)
    assert "No longer in the LMS course: 1–2 of 2" in shown
    assert "Daniel Kim" in shown and "Elena Petrova" in shown   # participants 4 and 5
    assert "Inactive in the LMS" in shown                        # 5 is still enrolled, but inactive there
    row = re.search(r"Daniel Kim</th>.*?</tr>", inactive.text, re.S).group(0)
    assert "No longer in the LMS course" in row and "<time" in row   # the last launch stays visible
    # Someone the LMS no longer lists cannot use the course's pages any more.
    assert leaver.get(f"/c/{cid}/").status_code == 403


def test_the_roster_is_paged_50_at_a_time_by_name(app, facilitator):
    browser, cid = facilitator
    with lms(app) as (s, platform):
        sb.add_course(s, platform, "demo-course", "Communities of Practice",
                      [(f"extra-{i:02d}", f"Extra Person {i:02d}", "", [sb.LEARNER]) for i in range(40)])
    press_sync(browser, cid)
    first = text(browser.get(f"/c/{cid}/roster/"))
    assert "In the course: 1–50 of 68, by name" in first
    second = browser.get(f"/c/{cid}/roster/?page=2")
    assert "In the course: 51–68 of 68, by name" in text(second)
    assert 'aria-current="page">2' in second.text
    assert "Yasmin Al-Sayed" in text(second) and "Yasmin Al-Sayed" not in first
    assert "51–68 of 68" in text(browser.get(f"/c/{cid}/roster/?page=99"))   # past the end: the last page


def test_a_running_sync_shows_its_progress_after_a_reload_and_the_fragment_stops_polling_once_done(
        app, facilitator, idle_queue):
    browser, cid = facilitator
    press_sync(browser, cid)
    [job_id] = idle_queue()                                    # a worker that has not run yet
    waiting = browser.get(f"/c/{cid}/roster/")
    assert "Waiting for the background worker to start the sync" in text(waiting)
    # The worker reads a few pages...
    with app.app_context():
        report(job_id, status=JobStatus.running, done=150, message="150 members read so far…")
    page = browser.get(f"/c/{cid}/roster/")                   # a reload shows the job where it is
    shown = text(page)
    assert "Sync in progress" in shown and "150 members read so far." in shown
    assert "<progress" in page.text and 'for="roster-progress-' in page.text
    assert f'hx-get="/c/{cid}/roster/jobs/{job_id}"' in page.text and 'hx-trigger="every 2s"' in page.text
    assert "Sync roster now" not in shown                      # one sync at a time
    fragment = browser.get(f"/c/{cid}/roster/jobs/{job_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "150 members read so far." in text(fragment)
    assert "<html" not in fragment.text

    with app.app_context():
        roster.run_roster_sync.call_local(job_id)               # ...and finishes (as its worker would)
    done = browser.get(f"/c/{cid}/roster/jobs/{job_id}", headers={"HX-Request": "true"})
    assert done.status_code == 286                             # htmx stops polling on 286
    assert "28 members: 27 new, 0 changed, 0 no longer in the course." in text(done)
    assert "Show the updated roster" in text(done)
    reloaded = browser.get(f"/c/{cid}/roster/")
    assert "hx-get" not in reloaded.text and "Sync roster now" in text(reloaded)
    whole = browser.get(f"/c/{cid}/roster/jobs/{job_id}")     # without htmx: a page of its own
    assert "<html" in whole.text and "28 members" in text(whole)


def test_pressing_sync_while_one_runs_joins_it_instead_of_starting_another(app, facilitator, idle_queue):
    browser, cid = facilitator
    page = browser.get(f"/c/{cid}/roster/")                    # two tabs with the button
    token = forms(page.text)[0].fields["csrf_token"]
    browser.post(f"/c/{cid}/roster/sync", {"csrf_token": token})
    again = browser.post(f"/c/{cid}/roster/sync", {"csrf_token": token})
    assert again.status_code == 200 and "Waiting for the background worker" in text(again)
    assert len(jobs(app, cid)) == 1


def test_a_queue_that_cannot_be_reached_fails_the_sync_with_what_to_do(app, facilitator, queue_down):
    browser, cid = facilitator
    page = text(press_sync(browser, cid))
    assert "The roster sync could not start." in page
    assert "Last sync failed" in page and "job queue could not be reached" in page
    assert "Sync again" in page
    [job] = jobs(app, cid)
    assert job.status is JobStatus.failed


def test_the_sync_form_refuses_a_post_without_its_csrf_token(app, facilitator):
    browser, cid = facilitator
    response = browser.post(f"/c/{cid}/roster/sync", {})
    assert response.status_code in (400, 200)
    assert jobs(app, cid) == []


def test_the_roster_page_costs_the_same_queries_for_1_member_or_many(app, facilitator):
    browser, cid = facilitator
    small, _ = count_queries(app, browser, f"/c/{cid}/roster/")
    with lms(app) as (s, platform):
        sb.add_bulk_course(s, platform, "demo-course", 120, title="Communities of Practice", instructors=0,
                           prefix="many")
    press_sync(browser, cid)
    large, response = count_queries(app, browser, f"/c/{cid}/roster/?page=2")
    assert "of 148" in text(response)
    assert large == small
    inactive, _ = count_queries(app, browser, f"/c/{cid}/roster/?status=inactive")
    assert inactive == small


# -- a large course, paged as Canvas and as Moodle page it -----------------------------------------------------

@pytest.mark.parametrize("paging", ["canvas", "moodle"])
def test_a_course_of_5000_members_syncs_through_every_page(app, lti, paging, idle_queue):
    context = f"big-{paging}"
    with lms(app) as (s, platform):
        sb.add_bulk_course(s, platform, context, 5000, nrps_paging=paging)
        sb.clear_request_log(s)
    browser = lti(f"{context}-user-1", course=context)         # the course's instructor
    cid = course_id_of(browser.last)
    # The job runs as a worker runs it, outside the button's request (whose client would wait for it inline).
    press_sync(browser, cid)
    with app.app_context():
        roster.run_roster_sync.call_local(idle_queue()[0])
    page = text(browser.get(f"/c/{cid}/roster/"))
    assert "5000 members: 4999 new, 0 changed, 0 no longer in the course." in page
    assert "In the course (5000)" in page and "1–50 of 5000" in page
    requests = nrps_requests(app, "names_and_roles" if paging == "canvas" else "/memberships")
    if paging == "canvas":
        assert len(requests) == 100                            # Canvas gives 50 at most, with a cursor
        assert all("page=" in r.query for r in requests[1:])
    else:
        page_size = app.config.get("ROSTER_PAGE_SIZE", 100)
        assert len(requests) == 5000 // page_size              # Moodle pages when asked for a limit
        assert [f"from={i * page_size}" in r.query for i, r in enumerate(requests)][1:] == [True] * (len(requests) - 1)
    with tool_db(app) as s:
        assert s.scalar(select(func.count()).select_from(Membership)
                        .where(Membership.course_id == cid, Membership.active.is_(True))) == 5000
    last = text(browser.get(f"/c/{cid}/roster/?page=100"))
    assert "4951–5000 of 5000" in last


# -- an LMS that fails half-way --------------------------------------------------------------------------------

def second_page_marker(paging: str, page_size: int) -> str:
    """Something only the second page's URL has: faults match the path and query."""
    if paging == "canvas":
        from lti_tool.sandbox.views import _encode_cursor

        return f"page={_encode_cursor(page_size)}"
    return f"from={page_size}"  # (the demo course has under 100 members: no from=100 to catch as well)


@pytest.mark.parametrize("paging", ["canvas", "moodle"])
def test_an_lms_failing_half_way_fails_the_job_clearly_keeps_what_was_read_and_a_rerun_completes(
        app, lti, monkeypatch, paging):
    monkeypatch.setitem(app.config, "ROSTER_PAGE_SIZE", 10)
    with lms(app) as (s, platform):
        course = lms_course(s, platform)
        sb.add_course(s, platform, "demo-course", course.title, nrps_paging=paging)
    browser = lti("demo-facilitator-1")
    cid = course_id_of(browser.last)
    press_sync(browser, cid)                                   # a first full sync: everyone known
    with lms(app) as (s, platform):
        course = lms_course(s, platform)
        sb.remove_enrollment(s, course, "demo-observer-1")
        sb.set_roles(s, course, "demo-facilitator-1", [sb.INSTRUCTOR])
        sb.add_course(s, platform, "demo-course", course.title,
                      [("aaa-newcomer", "Aaron Newcomer", "aaron@example.edu", [sb.LEARNER])])
        marker = second_page_marker(paging, 10)
        sb.add_fault(s, marker, "500", times=50)                # page 2 and all its retries fail
        sb.clear_request_log(s)

    page = text(press_sync(browser, cid))
    assert "Last sync failed" in page
    assert "10 members read before that were saved; nobody was marked as gone" in page
    assert "Run the sync again when the LMS is reachable" in page
    assert "Sync again" in page
    failed = jobs(app, cid)[-1]
    assert failed.status is JobStatus.failed and failed.done_count == 10
    assert membership(app, cid, "demo-observer-1").active      # a partial read marks nobody as gone
    statuses = [(marker in r.query, r.status) for r in nrps_requests(app, "")]
    assert (False, 200) in statuses and (True, 500) in statuses     # page 1 read, page 2 refused

    with lms(app) as (s, _):
        sb.clear_faults(s)
    again = text(press_sync(browser, cid))
    assert "28 members: 1 new, 0 changed, 1 no longer in the course." in again
    assert membership(app, cid, "demo-observer-1").active is False
    assert membership(app, cid, "aaa-newcomer").active
    assert [j.status for j in jobs(app, cid)] == [JobStatus.done, JobStatus.failed, JobStatus.done]


def test_the_first_sync_failing_half_way_keeps_the_members_of_the_pages_read(app, facilitator, monkeypatch):
    browser, cid = facilitator
    monkeypatch.setitem(app.config, "ROSTER_PAGE_SIZE", 10)
    with lms(app) as (s, _):
        sb.add_fault(s, second_page_marker("canvas", 10), "500", times=50)
    page = text(press_sync(browser, cid))
    assert "The roster sync stopped before the end" in page
    assert "Last sync failed" in page and "In the course (10)" in page   # the first page, the launcher among them
    with tool_db(app) as s:
        course = s.get(Course, cid)
        assert course.roster_synced_at is None                 # not a whole read: the roster still counts as old


# -- the sync at a facilitator's launch ----------------------------------------------------------------------

def age_roster(app, course_id: int, seconds: float) -> None:
    with tool_db(app) as s:
        s.get(Course, course_id).roster_synced_at = utcnow() - dt.timedelta(seconds=seconds)
        s.commit()


def test_a_facilitator_launch_syncs_a_roster_older_than_the_limit(app, lti, auto_sync, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_MAX_AGE_SECONDS", 3600)
    first = lti("demo-facilitator-1")                         # never synced: the first launch syncs
    cid = course_id_of(first.last)
    assert [j.status for j in jobs(app, cid)] == [JobStatus.done]
    assert "In the course (28)" in text(first.get(f"/c/{cid}/roster/"))
    age_roster(app, cid, 3700)
    with lms(app) as (s, platform):
        sb.add_course(s, platform, "demo-course", lms_course(s, platform).title,
                      [("late-joiner", "Zoe Late-Joiner", "zoe@example.edu", [sb.LEARNER])])
    again = lti("demo-facilitator-2")                         # another facilitator (a Canvas TA) launches
    assert again.last.status_code == 200
    assert [j.status for j in jobs(app, cid)] == [JobStatus.done, JobStatus.done]
    assert jobs(app, cid)[-1].result["added"] == 1
    assert membership(app, cid, "late-joiner").active


def test_a_fresh_roster_is_not_synced_again_at_a_facilitator_launch(app, lti, auto_sync, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_MAX_AGE_SECONDS", 3600)
    cid = course_id_of(lti("demo-facilitator-1").last)
    age_roster(app, cid, 3500)
    lti("demo-facilitator-1")
    assert len(jobs(app, cid)) == 1


def test_a_participant_launch_never_syncs_the_roster(app, lti, auto_sync, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_MAX_AGE_SECONDS", 3600)
    cid = course_id_of(lti("demo-participant-1").last)
    assert jobs(app, cid) == []
    with tool_db(app) as s:
        s.get(Course, cid).roster_synced_at = utcnow() - dt.timedelta(days=30)
        s.commit()
    lti("demo-participant-2")
    lti("demo-observer-1")
    assert jobs(app, cid) == []


def test_a_launch_succeeds_when_the_job_queue_is_down(app, lti, auto_sync, queue_down):
    browser = lti("demo-facilitator-1")                       # lti() asserts the landing page answered 200
    cid = course_id_of(browser.last)
    [job] = jobs(app, cid)
    assert job.status is JobStatus.failed and "queue could not be reached" in job.error
    assert browser.get(f"/c/{cid}/").status_code == 200


def test_a_launch_succeeds_when_the_lms_roster_fails(app, lti, auto_sync):
    with lms(app) as (s, _):
        sb.add_fault(s, "names_and_roles", "500", times=50)
    browser = lti("demo-facilitator-1")
    cid = course_id_of(browser.last)
    [job] = jobs(app, cid)
    assert job.status is JobStatus.failed
    assert "Last sync failed" in text(browser.get(f"/c/{cid}/roster/"))


def test_the_launch_sync_is_off_when_configured_off(app, lti, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_SYNC_AT_LAUNCH", False)
    cid = course_id_of(lti("demo-facilitator-1").last)
    assert jobs(app, cid) == []


# -- who may see what ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["demo-participant-1", "demo-observer-1"])
def test_participants_and_observers_may_not_see_or_sync_the_roster(app, lti, facilitator, user):
    _, cid = facilitator
    browser = lti(user)
    assert browser.get(f"/c/{cid}/roster/").status_code == 403
    token = forms(browser.get(f"/c/{cid}/").text)
    response = browser.post(f"/c/{cid}/roster/sync", {"csrf_token": token[0].fields.get("csrf_token", "")
                                                      if token else ""})
    assert response.status_code in (400, 403)
    assert jobs(app, cid) == []


def test_another_courses_roster_and_jobs_are_out_of_reach(app, lti, facilitator):
    browser, cid = facilitator
    press_sync(browser, cid)
    [job] = jobs(app, cid)
    other = lti("other-facilitator-1", course="other-course")
    other_cid = course_id_of(other.last)
    assert other_cid != cid
    assert other.get(f"/c/{cid}/roster/").status_code == 403
    assert other.get(f"/c/{cid}/roster/jobs/{job.id}").status_code == 403
    token = forms(other.get(f"/c/{other_cid}/roster/").text)[0].fields["csrf_token"]
    assert other.post(f"/c/{cid}/roster/sync", {"csrf_token": token}).status_code == 403
    # Its own course id with this course's job id: no such job there.
    assert other.get(f"/c/{other_cid}/roster/jobs/{job.id}").status_code == 404
    assert "Maya Okonkwo-Reyes" not in text(other.get(f"/c/{other_cid}/roster/"))
    assert len(jobs(app, cid)) == 1 and jobs(app, other_cid) == []


def test_a_participant_named_a_cohorts_facilitator_may_not_see_or_sync_the_roster(app, lti, facilitator):
    """The roster is course-wide and the LMS's: staff only. Facilitating a cohort (an accepted proposal) gives
    a manager's powers over that cohort, not staff's (lti_tool/course/access.py)."""
    from lti_tool.programs.models import Cohort, CohortFacilitator, Program

    browser, cid = facilitator
    press_sync(browser, cid)
    [job] = jobs(app, cid)
    learner = lti("demo-participant-1")
    with tool_db(app) as s:
        program = s.scalar(select(Program).where(Program.course_id == cid))
        cohort = Cohort(program_id=program.id, name="Proposed cohort")
        s.add(cohort)
        s.flush()
        member = s.scalar(select(Membership).join(Membership.user)
                          .where(Membership.course_id == cid, User.sub == "demo-participant-1"))
        s.add(CohortFacilitator(cohort_id=cohort.id, membership_id=member.id))
        s.commit()
    token = forms(learner.get(f"/c/{cid}/calendar/timezone").text)[0].fields["csrf_token"]
    assert learner.get(f"/c/{cid}/roster/").status_code == 403
    assert learner.get(f"/c/{cid}/roster/jobs/{job.id}").status_code == 403
    assert learner.post(f"/c/{cid}/roster/sync", {"csrf_token": token}).status_code == 403
    assert len(jobs(app, cid)) == 1


def test_staff_who_are_not_leads_see_and_sync_the_roster(app, lti, facilitator):
    from lti_tool.programs.models import Program

    browser, cid = facilitator
    staff = lti("demo-facilitator-2")
    with tool_db(app) as s:
        program = s.scalar(select(Program).where(Program.course_id == cid))
        lead = s.scalar(select(Membership.id).join(Membership.user)
                        .where(Membership.course_id == cid, User.sub == "demo-facilitator-1"))
        program.settings = {**(program.settings or {}), "leads": [lead]}
        s.commit()
    page = text(press_sync(staff, cid))
    assert "28 members: 26 new, 0 changed, 0 no longer in the course." in page
    [job] = jobs(app, cid)
    assert staff.get(f"/c/{cid}/roster/jobs/{job.id}").status_code == 200
