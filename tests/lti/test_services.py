"""The AGS and NRPS clients (lti_tool.lti.services) and the roster sync (lti_tool.lti.roster) against the
sandbox LMS's real endpoints over HTTP on loopback: paging, token reuse, retries, timeouts, faults."""
from __future__ import annotations

import base64
import datetime as dt
import time
from types import SimpleNamespace

import pytest
from flask import has_request_context
from sqlalchemy import delete, select

from lti_tool.db import db
from lti_tool.jobs import Job, JobStatus
from lti_tool.lti import registry
from lti_tool.lti.models import Course, CourseRole, Membership, User
from lti_tool.lti.roster import request_roster_sync, run_roster_sync, sync_roster
from lti_tool.lti.services import LtiServices, ServiceError
from lti_tool.sandbox import services as sb
from lti_tool.sandbox.models import SandboxAccessToken

CANVAS_TEST_USER = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"


@pytest.fixture
def lms(app, sandbox, session):
    """The sandbox's demo course seen from both sides: the LMS's rows, and the tool's Platform row."""
    sb_platform = sb.first_platform(session)
    sb_course = sb.get_course(session, sb_platform, "demo-course")
    platform = registry.find_platform(session, sandbox.issuer, sandbox.client_id)
    assert platform is not None
    session.commit()
    return SimpleNamespace(sb_platform=sb_platform, sb_course=sb_course, platform=platform,
                           lineitems_url=sb.line_items_url(sb_platform, sb_course))


def fresh(session) -> None:
    """End the transaction and forget loaded rows (sessions keep objects after commit): the server
    thread and the jobs write through their own sessions."""
    session.commit()
    session.expire_all()


def log(session, part: str):
    """The sandbox's request log as the server thread wrote it."""
    fresh(session)
    return sb.request_log(session, part)


def token_requests(session) -> int:
    return len(log(session, "/sandbox/token"))


def fault(session, path_contains: str, mode: str, **kw) -> None:
    sb.add_fault(session, path_contains, mode, **kw)
    session.commit()


def new_item(services: LtiServices, lms, label: str = "Attendance", maximum: float = 10) -> dict:
    return services.create_line_item(lms.lineitems_url, {"label": label, "scoreMaximum": maximum,
                                                          "tag": "attendance"})


def score(user: str, given: float, maximum: float = 10, progress: str = "FullyGraded") -> dict:
    return {"userId": user, "scoreGiven": given, "scoreMaximum": maximum, "activityProgress": "Completed",
            "gradingProgress": progress, "timestamp": dt.datetime.now(dt.timezone.utc).isoformat()}


# -- AGS line items ----------------------------------------------------------------------------------------

def test_line_items_are_listed_across_every_page_the_lms_returns(session, lms):
    services = LtiServices(session, lms.platform)
    for i in range(25):
        new_item(services, lms, label=f"Session {i + 1}")
    listed = services.line_items(lms.lineitems_url)
    assert [item["label"] for item in listed] == [f"Session {i + 1}" for i in range(25)]
    gets = [r for r in log(session, "/line_items") if r.method == "GET"]
    assert len(gets) == 3                                  # 10 + 10 + 5: the sandbox's default page size
    assert [("page=" in r.query) for r in gets] == [False, True, True]


def test_line_items_can_be_filtered_by_tag(session, lms):
    services = LtiServices(session, lms.platform)
    new_item(services, lms, label="Attendance")
    services.create_line_item(lms.lineitems_url, {"label": "Final product", "scoreMaximum": 100, "tag": "final"})
    assert [i["label"] for i in services.line_items(lms.lineitems_url, tag="final")] == ["Final product"]


def test_a_line_item_is_created_read_updated_and_deleted(session, lms):
    services = LtiServices(session, lms.platform)
    created = new_item(services, lms, label="Attendance", maximum=10)
    assert created["id"].startswith(lms.lineitems_url + "/")
    assert services.get_line_item(created["id"])["label"] == "Attendance"

    updated = services.update_line_item(created["id"], {**created, "label": "Attendance (spring)",
                                                        "scoreMaximum": 12})
    assert (updated["label"], updated["scoreMaximum"]) == ("Attendance (spring)", 12)
    fresh(session)
    [item] = sb.line_items(session, lms.sb_course)
    assert (item.label, item.score_maximum) == ("Attendance (spring)", 12)
    assert [r.method for r in log(session, "/line_items/")] == ["GET", "PUT"]

    services.delete_line_item(created["id"])
    fresh(session)
    assert sb.line_items(session, lms.sb_course) == []
    with pytest.raises(ServiceError) as refused:
        services.get_line_item(created["id"])
    assert refused.value.status == 404 and not refused.value.transient


# -- AGS scores and results --------------------------------------------------------------------------------

def test_scores_are_posted_to_the_lms_gradebook(session, lms):
    services = LtiServices(session, lms.platform)
    item = new_item(services, lms)
    services.post_score(item["id"], score("demo-participant-1", 7))
    services.post_score(item["id"], score("demo-participant-1", 9))
    services.post_score(item["id"], score("demo-participant-2", 0, progress="Pending"))
    fresh(session)
    [sb_item] = sb.line_items(session, lms.sb_course)
    results = {r.user_sub: r for r in sb.results(session, sb_item)}
    assert results["demo-participant-1"].score_given == 9
    assert results["demo-participant-2"].score_given is None      # Pending leaves the grade alone
    history = sb.score_history(session, sb_item, "demo-participant-1")
    assert [h.body["scoreGiven"] for h in history] == [7, 9]


def test_a_score_the_lms_refuses_raises_a_service_error_with_its_answer(session, lms):
    services = LtiServices(session, lms.platform)
    item = new_item(services, lms)
    with pytest.raises(ServiceError) as refused:
        services.post_score(item["id"], score("demo-facilitator-1", 5))   # not a student
    assert refused.value.status == 422
    assert "not a student" in refused.value.body


def test_results_are_read_across_pages(session, lms):
    services = LtiServices(session, lms.platform)
    item = new_item(services, lms)
    for i in range(1, 25):
        services.post_score(item["id"], score(f"demo-participant-{i}", i % 10))
    results = services.results(item["id"])
    assert len(results) == 24
    assert {r["userId"] for r in results} == {f"demo-participant-{i}" for i in range(1, 25)}
    assert len([r for r in log(session, "/results") if r.method == "GET"]) == 3
    [one] = services.results(item["id"], user_id="demo-participant-3")
    assert one["resultScore"] == 3


# -- NRPS --------------------------------------------------------------------------------------------------

def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"Off:{offset}:Sbx".encode()).decode().rstrip("=")


def test_canvas_members_are_paged_50_at_a_time_with_the_opaque_cursor_kept_as_given(session, lms):
    course = sb.add_bulk_course(session, lms.sb_platform, "big-canvas", 120, nrps_paging="canvas")
    session.commit()
    services = LtiServices(session, lms.platform)
    pages = list(services.member_pages(sb.memberships_url(lms.sb_platform, course), limit=100))
    assert [len(p.items) for p in pages] == [50, 50, 20]
    assert len({m["user_id"] for p in pages for m in p.items}) == 120
    queries = [r.query for r in log(session, "/names_and_roles")]
    assert len(queries) == 3
    # The cursor is mixed-case base64: a lower-cased Link URL would be refused by the LMS.
    assert f"page={_cursor(50)}" in queries[1] and f"page={_cursor(100)}" in queries[2]
    assert _cursor(50) != _cursor(50).lower()


def test_moodle_members_are_paged_with_limit_and_from_on_the_mixed_case_path(session, lms):
    course = sb.add_bulk_course(session, lms.sb_platform, "big-moodle", 120, nrps_paging="moodle")
    session.commit()
    url = sb.memberships_url(lms.sb_platform, course)
    assert "/CourseSection/" in url
    services = LtiServices(session, lms.platform)
    pages = list(services.member_pages(url, limit=50))
    assert [len(p.items) for p in pages] == [50, 50, 20]
    seen = log(session, "/memberships")
    assert [r.status for r in seen] == [200, 200, 200]
    assert all("/mod/lti/services.php/CourseSection/big-moodle/" in r.path for r in seen)
    assert ["from=" in r.query for r in seen] == [False, True, True]
    assert "from=100" in seen[2].query and "limit=50" in seen[2].query


def test_an_unpaged_moodle_roster_comes_in_one_answer(session, lms):
    course = sb.add_bulk_course(session, lms.sb_platform, "small-moodle", 30, nrps_paging="moodle")
    session.commit()
    services = LtiServices(session, lms.platform)
    pages = list(services.member_pages(sb.memberships_url(lms.sb_platform, course), limit=100))
    assert [len(p.items) for p in pages] == [30]
    assert pages[0].body["context"]["id"] == "small-moodle"


# -- access tokens -------------------------------------------------------------------------------------------

def test_an_access_token_is_reused_across_calls_and_across_clients(session, lms):
    first = LtiServices(session, lms.platform)
    item = new_item(first, lms)
    first.line_items(lms.lineitems_url)
    first.get_line_item(item["id"])
    second = LtiServices(session, lms.platform)            # as the next job would
    second.line_items(lms.lineitems_url)
    assert token_requests(session) == 1
    second.post_score(item["id"], score("demo-participant-1", 5))   # another scope: its own token
    second.post_score(item["id"], score("demo-participant-2", 5))
    assert token_requests(session) == 2


def test_a_new_access_token_is_fetched_once_the_old_one_expires(session, lms, monkeypatch):
    monkeypatch.setattr(sb, "ACCESS_TOKEN_SECONDS", 2)
    services = LtiServices(session, lms.platform)
    services.line_items(lms.lineitems_url)
    services.line_items(lms.lineitems_url)
    assert token_requests(session) == 1
    time.sleep(2.2)
    services.line_items(lms.lineitems_url)
    assert token_requests(session) == 2
    assert [r.status for r in log(session, "/line_items")] == [200, 200, 200]   # never sent an expired one


def test_a_revoked_access_token_is_replaced_after_a_401(session, lms):
    services = LtiServices(session, lms.platform)
    services.line_items(lms.lineitems_url)
    session.execute(delete(SandboxAccessToken))             # the LMS forgets every token it issued
    session.commit()
    assert services.line_items(lms.lineitems_url) == []
    assert token_requests(session) == 2
    assert [r.status for r in log(session, "/line_items")] == [200, 401, 200]


# -- timeouts and retries ------------------------------------------------------------------------------------

def _wait_for_log(session, part: str, count: int, seconds: float = 10) -> None:
    """The sandbox thread keeps sleeping after the client gave up: let it finish before the test ends."""
    deadline = time.monotonic() + seconds
    while len(log(session, part)) < count and time.monotonic() < deadline:
        time.sleep(0.1)


def test_a_request_that_takes_too_long_times_out_as_a_service_error(app, session, lms, monkeypatch):
    services = LtiServices(session, lms.platform)
    services.line_items(lms.lineitems_url)                   # token fetched before the timeout applies
    monkeypatch.setitem(app.config, "LTI_HTTP_TIMEOUT_SECONDS", 0.3)
    fault(session, "/line_items", "timeout", delay=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(ServiceError) as timed_out:
            services.create_line_item(lms.lineitems_url, {"label": "Slow", "scoreMaximum": 1})
        assert time.monotonic() - started < 1.0
        assert "did not answer within 0.3 seconds" in str(timed_out.value) and timed_out.value.transient
    finally:
        _wait_for_log(session, "/line_items", 2)


def test_a_read_that_keeps_timing_out_gives_up_after_its_retries(app, session, lms, monkeypatch):
    services = LtiServices(session, lms.platform)
    services.line_items(lms.lineitems_url)
    monkeypatch.setitem(app.config, "LTI_HTTP_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setitem(app.config, "LTI_HTTP_RETRIES", 1)
    services = LtiServices(session, lms.platform)            # the retry policy is read when a client is made
    fault(session, "/line_items", "timeout", times=2, delay=0.6)
    try:
        with pytest.raises(ServiceError) as timed_out:
            services.line_items(lms.lineitems_url)
        assert "timeout" in str(timed_out.value)
    finally:
        _wait_for_log(session, "/line_items", 3)


def test_a_read_that_times_out_once_is_retried_and_succeeds(app, session, lms, monkeypatch):
    services = LtiServices(session, lms.platform)
    services.line_items(lms.lineitems_url)
    monkeypatch.setitem(app.config, "LTI_HTTP_TIMEOUT_SECONDS", 0.3)
    fault(session, "/line_items", "timeout", times=1, delay=0.8)
    try:
        assert services.line_items(lms.lineitems_url) == []
    finally:
        _wait_for_log(session, "/line_items", 3)


def test_429_with_retry_after_is_retried_and_succeeds(session, lms):
    services = LtiServices(session, lms.platform)
    services.line_items(lms.lineitems_url)
    fault(session, "/line_items", "429", times=2, retry_after=1)
    started = time.monotonic()
    assert services.line_items(lms.lineitems_url) == []
    assert time.monotonic() - started >= 1.9                # Retry-After: 1 was honoured twice
    assert [r.status for r in log(session, "/line_items")] == [200, 429, 429, 200]


def test_500_is_retried_with_backoff_and_succeeds(session, lms):
    services = LtiServices(session, lms.platform)
    item = new_item(services, lms)
    fault(session, "/scores", "500", times=2)
    services.post_score(item["id"], score("demo-participant-1", 4))
    assert [r.status for r in log(session, "/scores")] == [500, 500, 200]
    fresh(session)
    [sb_item] = sb.line_items(session, lms.sb_course)
    assert [r.score_given for r in sb.results(session, sb_item)] == [4]


def test_a_token_endpoint_outage_is_retried(session, lms):
    fault(session, "/sandbox/token", "429", times=1, retry_after=0)
    services = LtiServices(session, lms.platform)
    assert services.line_items(lms.lineitems_url) == []
    assert [r.status for r in log(session, "/sandbox/token")] == [429, 200]


def test_a_retry_after_longer_than_the_limit_is_not_slept_but_reported(app, session, lms, monkeypatch):
    monkeypatch.setitem(app.config, "LTI_HTTP_MAX_RETRY_AFTER", 5)
    services = LtiServices(session, lms.platform)
    services.line_items(lms.lineitems_url)
    fault(session, "/line_items", "429", times=1, retry_after=600)
    started = time.monotonic()
    with pytest.raises(ServiceError) as waited:
        services.line_items(lms.lineitems_url)
    assert time.monotonic() - started < 5
    assert waited.value.status == 429 and waited.value.retry_after == 600 and waited.value.transient


def test_errors_that_persist_past_the_retries_raise_a_service_error(session, lms):
    services = LtiServices(session, lms.platform)
    services.line_items(lms.lineitems_url)
    fault(session, "/line_items", "down", times=20)
    with pytest.raises(ServiceError) as failed:
        services.line_items(lms.lineitems_url)
    assert failed.value.status == 503 and failed.value.transient


# -- outside any request -----------------------------------------------------------------------------------

def test_the_clients_work_from_a_background_job_with_only_an_app_context(app, sandbox):
    with app.app_context():
        assert not has_request_context()
        session = db.new_session()
        try:
            platform = registry.find_platform(session, sandbox.issuer, sandbox.client_id)
            sb_platform = sb.first_platform(session)
            url = sb.line_items_url(sb_platform, sb.get_course(session, sb_platform, "demo-course"))
            services = LtiServices(session, platform)
            created = services.create_line_item(url, {"label": "From a job", "scoreMaximum": 5})
            assert [i["id"] for i in services.line_items(url)] == [created["id"]]
        finally:
            session.close()


# -- roster sync ---------------------------------------------------------------------------------------------

@pytest.fixture
def tool_course(session, lms):
    """The tool's view of the demo course, as a facilitator's launch leaves it (NRPS URL known)."""
    deployment = registry.find_deployment(session, lms.platform, sb.DEPLOYMENT_ID)
    course = Course(platform_id=lms.platform.id, deployment=deployment, context_id="demo-course",
                    title=lms.sb_course.title, nrps_url=sb.memberships_url(lms.sb_platform, lms.sb_course))
    session.add(course)
    session.commit()
    return course


def memberships(session, course) -> dict[str, Membership]:
    fresh(session)
    rows = session.execute(select(User.sub, Membership).join(Membership.user)
                           .where(Membership.course_id == course.id)).all()
    return {sub: m for sub, m in rows}


def test_a_roster_sync_adds_every_member_with_their_role(session, lms, tool_course):
    sb.set_roles(session, lms.sb_course, "demo-test-student", [CANVAS_TEST_USER, sb.LEARNER])
    session.commit()
    counts = sync_roster(session, tool_course, page_size=10)
    assert counts == {"listed": 28, "added": 28, "changed": 0, "deactivated": 0}
    members = memberships(session, tool_course)
    assert len(members) == 28
    assert members["demo-facilitator-1"].role is CourseRole.facilitator
    assert members["demo-facilitator-2"].role is CourseRole.facilitator        # Canvas TA
    assert members["demo-participant-7"].role is CourseRole.participant
    assert members["demo-observer-1"].role is CourseRole.observer
    assert members["demo-test-student"].role is CourseRole.participant
    assert members["demo-test-student"].is_preview and not members["demo-participant-7"].is_preview
    assert all(m.source == "roster" and m.active for m in members.values())
    assert session.scalar(select(User.name).where(User.sub == "demo-participant-1")) == "Aisha Rahman"
    assert len(log(session, "/names_and_roles")) == 3
    assert tool_course.roster_synced_at is not None


def test_a_second_sync_changes_roles_and_marks_those_gone_inactive_without_deleting(session, lms, tool_course):
    sync_roster(session, tool_course)
    sb.set_roles(session, lms.sb_course, "demo-participant-3", [sb.INSTRUCTOR])
    sb.remove_enrollment(session, lms.sb_course, "demo-participant-4")
    sb.set_enrollment_status(session, lms.sb_course, "demo-participant-5", "Inactive")
    sb.add_course(session, lms.sb_platform, "demo-course", lms.sb_course.title,
                  [("late-joiner", "Late Joiner", "late@example.edu", [sb.LEARNER])])
    session.commit()
    counts = sync_roster(session, tool_course)
    assert counts == {"listed": 28, "added": 1, "changed": 2, "deactivated": 1}
    members = memberships(session, tool_course)
    assert members["demo-participant-3"].role is CourseRole.facilitator
    assert members["demo-participant-4"].active is False                        # kept, with its history
    assert members["demo-participant-5"].active is False
    assert members["late-joiner"].active and members["late-joiner"].role is CourseRole.participant
    assert len(members) == 29


def test_a_sync_keeps_what_a_launch_told_us_when_the_roster_omits_it(session, lms, tool_course):
    sb.add_user(session, lms.sb_platform, "demo-participant-6", "", "")          # privacy settings hide names
    session.commit()
    user = User(platform_id=lms.platform.id, sub="demo-participant-6", name="Farid Haddad", email="f@example.edu")
    session.add(user)
    session.commit()
    sync_roster(session, tool_course)
    session.refresh(user)
    assert (user.name, user.email) == ("Farid Haddad", "f@example.edu")


def _start_sync(session, course) -> int:
    job = request_roster_sync(session, course, None)
    session.commit()
    return job.id


def test_the_roster_sync_task_records_a_finished_job(app, session, lms, tool_course):
    assert app.config["HUEY_IMMEDIATE"]
    job_id = _start_sync(session, tool_course)
    run_roster_sync(job_id)
    fresh(session)
    job = session.get(Job, job_id)
    assert job.status is JobStatus.done and job.percent == 100
    assert job.result == {"listed": 28, "added": 28, "changed": 0, "deactivated": 0}
    assert "28 members: 28 new" in job.message
    assert job.started_at is not None and job.finished_at is not None


def test_a_sync_requested_twice_runs_once(session, lms, tool_course):
    first = request_roster_sync(session, tool_course, None)
    second = request_roster_sync(session, tool_course, None)
    assert first.id == second.id


def test_a_fault_half_way_leaves_a_failed_job_keeps_the_pages_read_and_a_rerun_completes(
        app, session, lms, tool_course, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_PAGE_SIZE", 10)
    sync_roster(session, tool_course, page_size=50)         # a first full sync: everyone known
    sb.remove_enrollment(session, lms.sb_course, "demo-observer-1")
    session.commit()
    fault(session, f"page={_cursor(10)}", "500", times=50)   # the 2nd page fails, retries included
    job_id = _start_sync(session, tool_course)
    run_roster_sync(job_id)
    fresh(session)
    job = session.get(Job, job_id)
    assert job.status is JobStatus.failed
    assert "500" in job.error and "10 members read before that were saved" in job.error
    assert "run the sync again" in job.error.lower()
    assert job.done_count == 10                              # the first page was read and saved
    members = memberships(session, tool_course)
    assert members["demo-observer-1"].active                 # nobody marked gone after a partial read

    sb.clear_faults(session)
    session.commit()
    rerun = _start_sync(session, tool_course)
    assert rerun != job_id
    run_roster_sync(rerun)
    fresh(session)
    job = session.get(Job, rerun)
    assert job.status is JobStatus.done
    assert job.result["deactivated"] == 1
    assert memberships(session, tool_course)["demo-observer-1"].active is False


def test_a_sync_of_a_course_without_a_roster_service_fails_clearly(session, lms, tool_course):
    tool_course.nrps_url = None
    session.commit()
    job_id = _start_sync(session, tool_course)
    run_roster_sync(job_id)
    fresh(session)
    job = session.get(Job, job_id)
    assert job.status is JobStatus.failed
    assert "did not offer its roster" in job.error
