"""The grade passback page through real launches: sent, pending and failed scores with the LMS's reason,
filters, "sync now" as a job, retrying one score, editing a column, and who may see or do what."""
from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, update

from lti_tool.db import db, utcnow
from lti_tool.grades import delivery, writes
from lti_tool.grades.models import ComponentKind, DeliveryStatus, GradedComponent, ScoreDelivery
from lti_tool.jobs import Job, JobStatus, open_job, report
from lti_tool.lti.models import Course, Membership, User
from lti_tool.sandbox import services as sb
from tests.lti_client import forms

LEARNERS = [f"demo-participant-{i}" for i in range(1, 5)]


def _no_worker(job_id: int) -> None:
    """A queue whose worker has not picked the job up yet: the job stays queued."""


@pytest.fixture
def course(app, lti):
    """The demo course after the facilitator and four learners launched; returns (course id, facilitator)."""
    facilitator = lti("demo-facilitator-1")
    for sub in LEARNERS:
        lti(sub)
    with app.app_context():
        return db.session.scalar(select(Course.id).where(Course.context_id == "demo-course")), facilitator


def _members(course_id):
    return {m.user.sub: m for m in db.session.scalars(
        select(Membership).join(User).where(Membership.course_id == course_id))}


def _record(course_id, scores, key="attendance", label="Attendance", maximum=8.0, comment="6 of 8 sessions"):
    course = db.session.get(Course, course_id)
    component = writes.ensure_component(db.session, course, key, ComponentKind.attendance, label, maximum)
    members = _members(course_id)
    for sub, score in scores.items():
        writes.record_score(db.session, component, members[sub], score, comment=comment)
    db.session.commit()   # after commit the (immediate) task delivers
    return component


def _sandbox_course(name="demo-course"):
    return sb.get_course(db.session, sb.first_platform(db.session), name)


def _row_of(html: str, name: str) -> str:
    rows = [r for r in re.findall(r"<tr class=\"grd-[a-z]+\">.*?</tr>", html, re.S) if name in r]
    assert len(rows) == 1, f"one row for {name}, found {len(rows)}"
    return rows[0]


def _names(course_id):
    return {sub: m.user.display_name for sub, m in _members(course_id).items()}


def _sent_pending_failed(app, course_id):
    """participant-1 sent; participant-3 refused by the LMS (not enrolled there); participant-2 pending
    while the LMS is down; participant-4 no score."""
    with app.app_context():
        _record(course_id, {"demo-participant-1": 6.0})
        sb.remove_enrollment(db.session, _sandbox_course(), "demo-participant-3")
        db.session.commit()
        _record(course_id, {"demo-participant-3": 5.0})
        sb.add_fault(db.session, "/scores", "down", times=1000)
        db.session.commit()
        _record(course_id, {"demo-participant-2": 7.0})
        sb.clear_faults(db.session)
        db.session.commit()
        return _names(course_id)


def test_the_page_shows_what_was_sent_what_is_pending_and_what_failed_with_the_lms_reason(app, course):
    course_id, facilitator = course
    names = _sent_pending_failed(app, course_id)
    page = facilitator.get(f"/c/{course_id}/grades/")
    assert page.status_code == 200
    html = page.text
    sent = _row_of(html, names["demo-participant-1"])
    assert "Sent" in sent and "6 / 8" in sent and "<time" in sent
    pending = _row_of(html, names["demo-participant-2"])
    assert "Pending" in pending and "7 / 8" in pending and "Next attempt" in pending
    assert "last time the LMS answered 503 (unavailable)" in pending     # the last attempt's error, in words
    failed = _row_of(html, names["demo-participant-3"])
    assert "Failed" in failed and "HTTP 422" in failed
    assert "“User not found in course or is not a student”" in failed    # the LMS's own message, unwrapped
    assert "Retry" in failed
    assert "No score yet" in _row_of(html, names["demo-participant-4"])
    counts = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    assert "1 sent" in counts and "1 pending" in counts and "1 failed" in counts
    # the column: created in the LMS, its id shown to a lead
    assert "Created" in html and "/line_items/" in html


def test_the_status_and_person_filters_narrow_the_rows(app, course):
    course_id, facilitator = course
    names = _sent_pending_failed(app, course_id)
    failed_only = facilitator.get(f"/c/{course_id}/grades/", params={"status": "failed"}).text
    rows = failed_only.split("<tbody>")[-1]            # the scores table (the person filter lists everyone)
    assert names["demo-participant-3"] in rows
    assert names["demo-participant-1"] not in rows and names["demo-participant-2"] not in rows
    with app.app_context():
        p1 = _members(course_id)["demo-participant-1"].id
    one = facilitator.get(f"/c/{course_id}/grades/", params={"person": p1}).text
    table = one.split("<tbody>")[-1]
    assert names["demo-participant-1"] in table
    assert names["demo-participant-2"] not in table and names["demo-participant-3"] not in table
    assert "1 score shown (filtered)" in one


def test_sync_now_resends_failed_and_waiting_scores_and_the_gradebook_has_each_once(app, course):
    course_id, facilitator = course
    with app.app_context():
        sb.remove_enrollment(db.session, _sandbox_course(), "demo-participant-3")
        db.session.commit()
        _record(course_id, {"demo-participant-3": 5.0})                   # refused: failed
        sb.add_fault(db.session, "/scores", "500", times=1000)
        db.session.commit()
        _record(course_id, {s: 4.0 for s in ("demo-participant-1", "demo-participant-2")})   # pending, due later
        states = {r.membership.user.sub: r.status for r in db.session.scalars(select(ScoreDelivery))}
        assert states == {"demo-participant-3": DeliveryStatus.failed, "demo-participant-1": DeliveryStatus.pending,
                          "demo-participant-2": DeliveryStatus.pending}
        # The LMS is fixed: the fault is gone and the learner is enrolled again.
        sb.clear_faults(db.session)
        sandbox_course = _sandbox_course()
        sb.enroll(db.session, sandbox_course, sb.get_user(db.session, sb.first_platform(db.session),
                                                          "demo-participant-3"), [sb.LEARNER])
        db.session.commit()
    page = facilitator.get(f"/c/{course_id}/grades/")
    done = facilitator.submit(page, index=0)          # the "Sync now" form
    assert done.status_code == 200
    assert re.search(r"/c/\d+/jobs/\d+", done.url)
    assert "Finished" in done.text and "<progress" in done.text and "3 sent" in done.text
    again = facilitator.get(done.url)                 # the page survives a reload
    assert "Finished" in again.text
    status = facilitator.get(done.url, headers={"Accept": "application/json"}).json()
    assert status["status"] == "done" and status["result"]["sent"] == 3 and status["percent"] == 100
    with app.app_context():
        item = sb.line_items(db.session, _sandbox_course())[0]
        results = {r.user_sub: r.score_given for r in sb.results(db.session, item)}
        assert results == {"demo-participant-1": 4.0, "demo-participant-2": 4.0, "demo-participant-3": 5.0}
        history = [h.user_sub for h in sb.score_history(db.session, item)]
        assert sorted(history) == sorted(results), "each score reached the gradebook once"
        assert {r.status for r in db.session.scalars(select(ScoreDelivery))} == {DeliveryStatus.sent}
    after = facilitator.get(f"/c/{course_id}/grades/").text
    assert "0 failed" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", after))


def test_sync_now_with_the_queue_down_fails_the_job_with_what_to_do_and_the_next_click_starts_afresh(
        app, course, queue_down):
    course_id, facilitator = course
    done = facilitator.submit(facilitator.get(f"/c/{course_id}/grades/"), index=0)     # "Sync now"
    assert done.status_code == 200 and re.search(r"/c/\d+/jobs/\d+", done.url)
    status = facilitator.get(done.url, headers={"Accept": "application/json"}).json()
    assert status["status"] == "failed" and "queue could not be reached" in status["error"]
    again = facilitator.submit(facilitator.get(f"/c/{course_id}/grades/"), index=0)
    assert again.status_code == 200 and again.url != done.url, "a failed job is not handed out again"
    with app.app_context():
        assert [j.status for j in db.session.scalars(select(Job).order_by(Job.id))] == [JobStatus.failed] * 2


def test_sync_now_replaces_a_job_whose_worker_died(app, course, idle_queue):
    course_id, facilitator = course
    first = facilitator.submit(facilitator.get(f"/c/{course_id}/grades/"), index=0)
    [job_id] = idle_queue()
    with app.app_context():
        report(job_id, status=JobStatus.running, done=3, total=10)
        # ...and its worker is killed: nothing touches the row for longer than a job may stay silent.
        db.session.execute(update(Job).where(Job.id == job_id)
                           .values(updated_at=utcnow() - dt.timedelta(hours=1)))
        db.session.commit()
    page = facilitator.get(f"/c/{course_id}/grades/")
    with app.app_context():
        # Showing the page writes nothing: the dead job is not "under way" there, and stays as it was until
        # the next "Sync now" retires it.
        assert db.session.get(Job, job_id).status is JobStatus.running
    second = facilitator.submit(page, index=0)
    assert second.url != first.url
    with app.app_context():
        old = db.session.get(Job, job_id)
        assert old.status is JobStatus.failed and "stopped without finishing" in old.error
    assert idle_queue() == [job_id, job_id + 1], "the new job went to the queue"


def test_retry_sends_one_failed_score_again(app, course):
    course_id, facilitator = course
    with app.app_context():
        sb.remove_enrollment(db.session, _sandbox_course(), "demo-participant-3")
        db.session.commit()
        _record(course_id, {"demo-participant-3": 5.0})
        name = _names(course_id)["demo-participant-3"]
    page = facilitator.get(f"/c/{course_id}/grades/")
    retry_index = next(i for i, f in enumerate(forms(page.text)) if "/retry" in f.action)
    still = facilitator.submit(page, index=retry_index)
    assert "refused it again" in still.text            # the LMS still says no, and the page says why
    with app.app_context():
        sb.enroll(db.session, _sandbox_course(), sb.get_user(db.session, sb.first_platform(db.session),
                                                             "demo-participant-3"), [sb.LEARNER])
        db.session.commit()
    page = facilitator.get(f"/c/{course_id}/grades/")
    ok = facilitator.submit(page, index=retry_index)
    assert "the LMS took it" in ok.text and "Sent" in _row_of(ok.text, name)
    with app.app_context():
        item = sb.line_items(db.session, _sandbox_course())[0]
        assert [h.user_sub for h in sb.score_history(db.session, item)] == ["demo-participant-3"]
    # a score that has not failed cannot be retried
    with app.app_context():
        sent_id = db.session.scalar(select(ScoreDelivery.id))
    token = facilitator.csrf_token(f"/c/{course_id}/grades/")
    refused = facilitator.post(f"/c/{course_id}/grades/deliveries/{sent_id}/retry", data={"csrf_token": token})
    assert refused.status_code == 409


def test_a_lead_changes_a_column_and_the_lms_line_item_follows(app, course):
    course_id, facilitator = course
    with app.app_context():
        component = _record(course_id, {"demo-participant-1": 6.0})
        db.session.refresh(component)
        component_id, lineitem_url = component.id, component.lineitem_url
        assert lineitem_url
    form_page = facilitator.get(f"/c/{course_id}/grades/components/{component_id}")
    assert form_page.status_code == 200 and lineitem_url in form_page.text
    bad = facilitator.submit(form_page, label="Attendance", score_maximum="0")
    assert bad.status_code == 400 and "more than 0" in bad.text
    saved = facilitator.submit(form_page, label="Live sessions attended", score_maximum="10")
    assert saved.status_code == 200 and "Saved" in saved.text
    with app.app_context():
        items = sb.line_items(db.session, _sandbox_course())
        assert [(i.label, i.score_maximum) for i in items] == [("Live sessions attended", 10.0)]
        component = db.session.get(GradedComponent, component_id)
        assert component.in_step and component.lineitem_url == lineitem_url
    assert "Created" in saved.text


def test_only_leads_edit_columns_when_the_program_names_its_leads(app, course, lti):
    course_id, facilitator = course
    other = lti("demo-facilitator-2")
    with app.app_context():
        from lti_tool.programs.queries import program_for_course

        component_id = _record(course_id, {"demo-participant-1": 6.0}).id
        program = program_for_course(db.session, db.session.get(Course, course_id))
        program.settings = {**(program.settings or {}), "leads": [_members(course_id)["demo-facilitator-1"].id]}
        db.session.commit()
    view = other.get(f"/c/{course_id}/grades/components/{component_id}")
    assert view.status_code == 200 and "Only the program's leads" in view.text
    token = other.csrf_token(f"/c/{course_id}/grades/")
    refused = other.post(f"/c/{course_id}/grades/components/{component_id}",
                         data={"csrf_token": token, "label": "Renamed", "score_maximum": "5"})
    assert refused.status_code == 403
    assert other.get(f"/c/{course_id}/grades/").status_code == 200       # a facilitator still sees the page
    with app.app_context():
        assert db.session.get(GradedComponent, component_id).label == "Attendance"


def _refused_every_passback_page(browser, course_id, component_id, delivery_id, job_id):
    token = browser.csrf_token(f"/c/{course_id}/calendar/timezone")   # a page with a form a learner may use
    assert browser.get(f"/c/{course_id}/grades/").status_code == 403
    assert browser.get(f"/c/{course_id}/grades/components/{component_id}").status_code == 403
    assert browser.post(f"/c/{course_id}/grades/sync", data={"csrf_token": token}).status_code == 403
    assert browser.post(f"/c/{course_id}/grades/deliveries/{delivery_id}/retry",
                        data={"csrf_token": token}).status_code == 403
    assert browser.get(f"/c/{course_id}/jobs/{job_id}").status_code == 403


def test_participants_get_403_on_every_passback_page(app, course, lti):
    course_id, facilitator = course
    with app.app_context():
        component_id = _record(course_id, {"demo-participant-1": 6.0}).id
        delivery_id = db.session.scalar(select(ScoreDelivery.id))
        job = open_job(db.session, delivery.SYNC_JOB_KIND, course_id, None, _no_worker)[0]
        db.session.commit()
        job_id = job.id
    _refused_every_passback_page(lti("demo-participant-1"), course_id, component_id, delivery_id, job_id)
    with app.app_context():
        assert not db.session.scalar(select(Job).where(Job.id != job_id, Job.kind == delivery.SYNC_JOB_KIND))


def test_another_courses_components_deliveries_and_jobs_are_404(app, course, lti):
    course_id, facilitator = course
    lti("other-facilitator-1", course="other-course")
    lti("demo-participant-1", course="other-course")
    with app.app_context():
        other_id = db.session.scalar(select(Course.id).where(Course.context_id == "other-course"))
        other = _record(other_id, {"demo-participant-1": 3.0})
        other_component = other.id
        other_delivery = db.session.scalar(select(ScoreDelivery.id).where(ScoreDelivery.component_id == other.id))
        sb.add_fault(db.session, "/scores", "down", times=1)   # not used: the row is sent already
        other_job = open_job(db.session, delivery.SYNC_JOB_KIND, other_id, None, _no_worker)[0].id
        db.session.commit()
    token = facilitator.csrf_token(f"/c/{course_id}/grades/")
    assert facilitator.get(f"/c/{course_id}/grades/components/{other_component}").status_code == 404
    assert facilitator.post(f"/c/{course_id}/grades/components/{other_component}",
                            data={"csrf_token": token, "label": "x", "score_maximum": "3"}).status_code == 404
    assert facilitator.post(f"/c/{course_id}/grades/deliveries/{other_delivery}/retry",
                            data={"csrf_token": token}).status_code == 404
    assert facilitator.get(f"/c/{course_id}/jobs/{other_job}").status_code == 404
    assert facilitator.get(f"/c/{course_id}/jobs/{other_job}",
                           headers={"Accept": "application/json"}).status_code == 404
    # and the other course's scores are not on this course's page
    assert "Lena" not in facilitator.get(f"/c/{course_id}/grades/").text
    with app.app_context():
        assert db.session.get(GradedComponent, other_component).label == "Attendance"


def test_the_job_view_polls_while_running_and_stops_when_finished(app, course):
    course_id, facilitator = course
    with app.app_context():
        job_id = open_job(db.session, "grade_sync", course_id, None, _no_worker)[0].id
        db.session.commit()
        report(job_id, status=JobStatus.running, done=3, total=10, message="3 of 10 handled")
    page = facilitator.get(f"/c/{course_id}/jobs/{job_id}")
    assert page.status_code == 200
    assert 'hx-trigger="every 1s"' in page.text and 'value="30"' in page.text and "3 of 10 handled" in page.text
    assert re.search(r'<label[^>]*for="job-\d+-bar"', page.text)
    fragment = facilitator.get(f"/c/{course_id}/jobs/{job_id}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "<progress" in fragment.text
    data = facilitator.get(f"/c/{course_id}/jobs/{job_id}", headers={"Accept": "application/json"}).json()
    assert data == {**data, "status": "running", "done": 3, "total": 10, "percent": 30, "finished": False}
    with app.app_context():
        report(job_id, status=JobStatus.failed, error="The LMS was down.")
    finished = facilitator.get(f"/c/{course_id}/jobs/{job_id}", headers={"HX-Request": "true"}).text
    assert "hx-trigger" not in finished and "The LMS was down." in finished and "Stopped with an error" in finished
    assert facilitator.get(f"/c/{course_id}/jobs/999999").status_code == 404


@contextmanager
def _count_queries(app):
    engine = db.engine_for(app)
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_the_page_costs_the_same_number_of_queries_for_more_people_and_columns(app, course, lti):
    course_id, facilitator = course
    with app.app_context():
        _record(course_id, {"demo-participant-1": 6.0})
    facilitator.get(f"/c/{course_id}/grades/")
    with _count_queries(app) as small:
        assert facilitator.get(f"/c/{course_id}/grades/").status_code == 200
    for sub in (f"demo-participant-{i}" for i in range(5, 12)):
        lti(sub)
    with app.app_context():
        sb.remove_enrollment(db.session, _sandbox_course(), "demo-participant-6")
        db.session.commit()
        subs = [f"demo-participant-{i}" for i in range(1, 12)]
        _record(course_id, {s: 5.0 for s in subs})
        _record(course_id, {s: 1.0 for s in subs}, key="module:1", label="Module 1", maximum=1)
        sb.add_fault(db.session, "/scores", "down", times=1000)
        db.session.commit()
        _record(course_id, {s: 7.0 for s in subs[:4]})
        sb.clear_faults(db.session)
        db.session.commit()
    with _count_queries(app) as large:
        page = facilitator.get(f"/c/{course_id}/grades/")
    assert page.status_code == 200 and page.text.count("grd-failed") == 2 and page.text.count("grd-pending") == 4
    assert len(large) == len(small), "\n".join(large)


# -- who may do what: the rule of lti_tool.course.access on the passback pages ---------------------------------

def _facilitate_a_cohort(course_id, sub, name="Proposed cohort"):
    """``sub`` is named facilitator of a new cohort, as an accepted proposal makes them; returns its id."""
    from lti_tool.programs.models import Cohort, CohortFacilitator, Program

    program = db.session.scalar(select(Program).where(Program.course_id == course_id))
    cohort = Cohort(program_id=program.id, name=name)
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortFacilitator(cohort_id=cohort.id, membership_id=_members(course_id)[sub].id))
    db.session.commit()
    return cohort.id


def test_a_participant_named_a_cohorts_facilitator_is_still_refused_the_passback_pages(app, course, lti):
    """The passback pages are course-wide and about the LMS: staff only. Facilitating a cohort gives its
    manager's powers over that cohort, not staff's (lti_tool/course/access.py)."""
    from lti_tool.course.access import access_for

    course_id, facilitator = course
    learner = lti("demo-participant-1")
    with app.app_context():
        component_id = _record(course_id, {"demo-participant-2": 6.0}).id
        delivery_id = db.session.scalar(select(ScoreDelivery.id))
        cohort_id = _facilitate_a_cohort(course_id, "demo-participant-1")
        staff_job = open_job(db.session, delivery.SYNC_JOB_KIND, course_id,
                             _members(course_id)["demo-facilitator-1"].user_id, _no_worker)[0].id
        db.session.commit()
        access = access_for(db.session, _members(course_id)["demo-participant-1"])
        assert access.manages(cohort_id) and not access.staff      # they do manage their cohort
    _refused_every_passback_page(learner, course_id, component_id, delivery_id, staff_job)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 1


def test_staff_who_are_not_leads_see_sync_and_retry_but_do_not_edit_columns(app, course, lti):
    course_id, lead = course
    staff = lti("demo-facilitator-2")
    with app.app_context():
        from lti_tool.programs.models import Program

        sb.remove_enrollment(db.session, _sandbox_course(), "demo-participant-3")
        db.session.commit()
        _record(course_id, {"demo-participant-3": 5.0})                      # refused: failed
        program = db.session.scalar(select(Program).where(Program.course_id == course_id))
        program.settings = {**(program.settings or {}), "leads": [_members(course_id)["demo-facilitator-1"].id]}
        db.session.commit()
    page = staff.get(f"/c/{course_id}/grades/")
    assert page.status_code == 200 and "Failed" in page.text
    assert "/grades/components/" not in page.text and "LMS id:" not in page.text     # no column editing
    assert "/grades/components/" in lead.get(f"/c/{course_id}/grades/").text
    retry_index = next(i for i, f in enumerate(forms(page.text)) if "/retry" in f.action)
    assert "refused it again" in staff.submit(page, index=retry_index).text
    done = staff.submit(staff.get(f"/c/{course_id}/grades/"), index=0)              # "Sync now"
    assert re.search(r"/c/\d+/jobs/\d+", done.url) and "Finished" in done.text
    assert lead.get(done.url).status_code == 200, "every staff member follows a staff member's job"


def test_whoever_started_a_job_follows_it_and_other_participants_do_not(app, course, lti):
    course_id, facilitator = course
    starter, other = lti("demo-participant-1"), lti("demo-participant-2")
    with app.app_context():
        job_id = open_job(db.session, "export", course_id, _members(course_id)["demo-participant-1"].user_id,
                          _no_worker)[0].id
        db.session.commit()
    assert starter.get(f"/c/{course_id}/jobs/{job_id}").status_code == 200
    assert other.get(f"/c/{course_id}/jobs/{job_id}").status_code == 403
    assert facilitator.get(f"/c/{course_id}/jobs/{job_id}").status_code == 200


@pytest.fixture
def queue_goes_down(app):
    """Call it and the app's job queue is a Redis server that is not there (as ``queue_down``)."""
    from huey.storage import RedisStorage

    from lti_tool.jobs import _Queue

    saved = app.extensions["lti_tool.jobs"]
    yield lambda: app.extensions.__setitem__(
        "lti_tool.jobs", _Queue(RedisStorage("lti_tool", url="redis://127.0.0.1:9/0"), False))
    app.extensions["lti_tool.jobs"] = saved


def test_a_lead_saves_a_column_while_the_job_queue_is_down_and_the_column_follows_later(app, course,
                                                                                          queue_goes_down):
    """Regression: the view enqueued the column update itself after its commit, so a queue that was down
    answered 500 for a change already saved."""
    course_id, facilitator = course
    with app.app_context():
        component_id = _record(course_id, {"demo-participant-1": 6.0}).id      # sent: the column exists
    queue_goes_down()
    form_page = facilitator.get(f"/c/{course_id}/grades/components/{component_id}")
    saved = facilitator.submit(form_page, label="Live sessions attended", score_maximum="10")
    assert saved.status_code == 200 and "Saved" in saved.text
    assert "Needs update" in saved.text                       # the LMS column follows at the next delivery
    with app.app_context():
        component = db.session.get(GradedComponent, component_id)
        assert (component.label, component.score_maximum, component.in_step) == ("Live sessions attended", 10, False)


def test_sync_now_with_the_lms_down_counts_every_waiting_score_as_to_be_tried_again(app, course):
    """Regression: the scores not tried because their LMS had just failed were counted nowhere, so the job
    said "1 will be tried again later" of 4 waiting scores."""
    course_id, facilitator = course
    with app.app_context():
        sb.add_fault(db.session, "/scores", "down", times=100000)
        db.session.commit()
        _record(course_id, {s: 4.0 for s in LEARNERS})
    done = facilitator.submit(facilitator.get(f"/c/{course_id}/grades/"), index=0)     # "Sync now"
    assert "Sync finished: 0 sent, 4 will be tried again later (the LMS did not answer)." in done.text
    status = facilitator.get(done.url, headers={"Accept": "application/json"}).json()
    assert status["result"]["sent"] == 0 and status["result"]["retried"] + status["result"]["postponed"] == 4
    with app.app_context():
        assert {r.status for r in db.session.scalars(select(ScoreDelivery))} == {DeliveryStatus.pending}


def test_times_on_the_passback_page_are_in_the_viewers_zone_with_the_zone_named(app, course):
    """Regression: the cells showed a bare wall-clock time ("2 Dec 2026, 15:12")."""
    course_id, facilitator = course
    with app.app_context():
        _record(course_id, {"demo-participant-1": 6.0})
        _members(course_id)["demo-facilitator-1"].user.timezone = "Asia/Tokyo"
        db.session.commit()
        sent_at = db.session.scalar(select(ScoreDelivery.sent_at))
        name = _names(course_id)["demo-participant-1"]
    row = _row_of(facilitator.get(f"/c/{course_id}/grades/").text, name)
    tokyo = sent_at.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert re.search(rf'Sent <time datetime="[^"]+" title="Asia/Tokyo">[^<]*{tokyo.year}, '
                     rf'{tokyo.hour % 12 or 12}:{tokyo.minute:02d} [ap]m JST</time>', row), row
