"""The program pages through real LTI launches from the sandbox LMS: forms, sign-up, waiting list,
applications, proposals, permissions across roles and courses, bad input, and fixed query counts."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, select

from lti_tool.db import db
from lti_tool.lti.models import Course, Membership, User
from lti_tool.programs import writes
from lti_tool.programs.models import Application, Cohort, CohortMember, Program, SeatStatus
from tests.lti_client import forms
from tests.factories import acting

LEAD = "demo-facilitator-1"
FAC2 = "demo-facilitator-2"


def member(app, sub: str, course: str = "demo-course") -> Membership:
    with app.app_context():
        found = db.session.scalar(select(Membership).join(Membership.user).join(Membership.course)
                                  .where(User.sub == sub, Course.context_id == course))
        assert found is not None, f"{sub} has not launched into {course}"
        return found


def with_session(app, fn):
    with app.app_context():
        result = fn(db.session)
        db.session.commit()
        return result


def the_program(session, course: str = "demo-course") -> Program:
    return session.scalar(select(Program).join(Program.course).where(Course.context_id == course))


def make_cohort(app, name="Principals", capacity=20, mode="open", facilitator=LEAD, **kw) -> int:
    lead = member(app, LEAD)
    fac = member(app, facilitator)

    def create(session):
        actor = session.get(Membership, lead.id)
        return writes.create_cohort(session, acting(session, actor), name=name, capacity=capacity,
                                    signup_mode=mode, facilitator_ids=[fac.id], **kw).id
    return with_session(app, create)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def lead(lti):
    return lti(LEAD)


@pytest.fixture
def cid(app, lead):
    return member(app, LEAD).course_id


# -- program ---------------------------------------------------------------------------------------------------

def test_first_facilitator_launch_creates_the_program_and_a_participant_then_sees_it(app, lti):
    early = lti("demo-participant-1")
    assert "not set up yet" in early.last.text
    facilitator = lti(LEAD)
    assert "Communities of Practice" in facilitator.last.text and "Edit program" in facilitator.last.text
    participant = lti("demo-participant-2")
    assert "Edit program" not in participant.last.text and "not set up yet" not in participant.last.text


def test_lead_edits_the_program_through_the_form(app, lead, cid):
    page = lead.get(f"/c/{cid}/program")
    assert page.status_code == 200
    saved = lead.submit(page, title="Equity CoP", year_label="2026–27", timezone="America/Chicago",
                        proposals_open_at="2026-04-05T09:00", proposals_close_at="2026-05-06T17:00", lead_mode="all")
    assert saved.status_code == 200 and "Equity CoP" in saved.text
    program = with_session(app, the_program)
    assert program.timezone == "America/Chicago"
    assert program.proposals_close_at == dt.datetime(2026, 5, 6, 22, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("fields, message", [
    (dict(timezone="Mars/Base"), "is not a time zone we know"),
    (dict(proposals_open_at="2026-05-01T09:00", proposals_close_at="2026-04-01T09:00"), "closes before it opens"),
    (dict(title=""), "Give the program a title"),
])
def test_bad_program_input_is_shown_on_the_form_and_nothing_changes(app, lead, cid, fields, message):
    page = lead.get(f"/c/{cid}/program")
    before = with_session(app, lambda s: (the_program(s).title, the_program(s).timezone))
    response = lead.submit(page, **({"title": "Changed", "timezone": "UTC", "lead_mode": "all"} | fields))
    assert response.status_code == 400
    assert message in response.text
    assert with_session(app, lambda s: (the_program(s).title, the_program(s).timezone)) == before


# -- cohorts and open sign-up -----------------------------------------------------------------------------------

def test_lead_creates_a_cohort_through_the_form(app, lead, cid):
    page = lead.get(f"/c/{cid}/cohorts/new")
    lead_id = member(app, LEAD).id
    response = lead.submit(page, name="504 Coordinators", kind="role_alike", capacity="12", signup_mode="open",
                           facilitators=[str(lead_id)], signup_opens_at="2026-09-01T08:00",
                           signup_closes_at="2026-10-03T17:00")
    assert response.status_code == 200 and "504 Coordinators" in response.text
    cohort = with_session(app, lambda s: s.scalar(select(Cohort).where(Cohort.name == "504 Coordinators")))
    assert cohort.capacity == 12
    assert cohort.signup_opens_at == dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.timezone.utc)   # New York, EDT


@pytest.mark.parametrize("fields, message", [
    (dict(signup_opens_at="2026-10-03T08:00", signup_closes_at="2026-09-01T08:00"), "closes before it opens"),
    (dict(name="principals"), "There is already a cohort called"),
    (dict(capacity="0"), "Capacity must be between 1 and 1000"),
    (dict(facilitators=[]), "Choose at least one facilitator"),
])
def test_bad_cohort_input_is_shown_on_the_form_and_no_cohort_is_created(app, lead, cid, fields, message):
    make_cohort(app, name="Principals")
    page = lead.get(f"/c/{cid}/cohorts/new")
    data = {"name": "New one", "kind": "topic", "capacity": "20", "signup_mode": "open",
            "facilitators": [str(member(app, LEAD).id)]} | fields
    response = lead.submit(page, **data)
    assert response.status_code == 400
    assert message in text_of(response.text)
    assert with_session(app, lambda s: len(s.scalars(select(Cohort)).all())) == 1


def test_capacity_below_current_membership_is_refused_on_the_edit_form(app, lti, lead, cid):
    cohort_id = make_cohort(app, capacity=5)
    for n in (1, 2, 3):
        p = lti(f"demo-participant-{n}")
        p.submit(p.get(f"/c/{cid}/cohorts/{cohort_id}"), index=0)
    page = lead.get(f"/c/{cid}/cohorts/{cohort_id}/edit")
    response = lead.submit(page, capacity="2", kind="topic", facilitators=[str(member(app, LEAD).id)])
    assert response.status_code == 400
    assert "cannot be lower than 3" in text_of(response.text)
    assert with_session(app, lambda s: s.get(Cohort, cohort_id).capacity) == 5


def test_participants_sign_up_until_full_then_the_next_sees_their_waiting_list_position(app, lti, lead, cid):
    cohort_id = make_cohort(app, capacity=1)
    first, second, third = (lti(f"demo-participant-{n}") for n in (1, 2, 3))
    page = first.get(f"/c/{cid}/cohorts/{cohort_id}")
    assert "Sign up" in page.text
    done = first.submit(page, index=0)
    assert "You have a seat" in done.text and "You are a member" in done.text
    page = second.get(f"/c/{cid}/cohorts/{cohort_id}")
    assert "Join the waiting list" in page.text
    assert "You are 1st on the waiting list" in second.submit(page, index=0).text
    third.submit(third.get(f"/c/{cid}/cohorts/{cohort_id}"), index=0)
    assert "You are 2nd on the waiting list" in third.get(f"/c/{cid}/").text
    # The first withdraws: the seat goes to the first person waiting, the third moves up.
    first.submit(first.get(f"/c/{cid}/cohorts/{cohort_id}"), index=0)
    assert "You are a member" in second.get(f"/c/{cid}/cohorts/{cohort_id}").text
    assert "You are 1st on the waiting list" in third.get(f"/c/{cid}/cohorts/{cohort_id}").text


def test_sign_up_after_the_window_closed_gets_a_message_and_no_seat(app, lti, lead, cid):
    cohort_id = make_cohort(app, signup_opens_at=dt.datetime(2020, 9, 1, 8, 0),
                            signup_closes_at=dt.datetime(2020, 10, 3, 17, 0))
    participant = lti("demo-participant-1")
    page = participant.get(f"/c/{cid}/cohorts/{cohort_id}")
    assert "Sign-up closed" in text_of(page.text)
    response = participant.post(f"/c/{cid}/cohorts/{cohort_id}/signup",
                                data={"csrf_token": participant.csrf_token(f"/c/{cid}/proposals/new")})
    assert response.status_code == 400
    assert "closed on Sat 3 Oct 2020" in response.text
    assert with_session(app, lambda s: s.scalars(select(CohortMember)).all()) == []


def test_manager_adds_and_removes_a_member_and_history_is_kept(app, lti, lead, cid):
    cohort_id = make_cohort(app, mode="invitation")
    lti("demo-participant-5")
    pat = member(app, "demo-participant-5")
    page = lead.get(f"/c/{cid}/cohorts/{cohort_id}")
    added = lead.submit(page, index=len(forms(page.text)) - 1, membership_id=str(pat.id))
    assert added.status_code == 200 and "was added" in added.text
    seat_id = with_session(app, lambda s: s.scalar(select(CohortMember.id)))
    token = lead.csrf_token(f"/c/{cid}/proposals/new")
    removed = lead.post(f"/c/{cid}/cohorts/{cohort_id}/members/{seat_id}/remove", data={"csrf_token": token})
    assert "was removed" in removed.text and "People who left (1)" in removed.text
    assert with_session(app, lambda s: s.get(CohortMember, seat_id).status) is SeatStatus.removed


# -- applications -----------------------------------------------------------------------------------------------

def test_application_with_a_missing_required_answer_is_refused_then_reviewed_by_the_facilitator(app, lti, lead, cid):
    lti(FAC2)
    cohort_id = make_cohort(app, name="Equity leads", mode="application", facilitator=FAC2)
    questions = lead.get(f"/c/{cid}/cohorts/{cohort_id}/questions")
    lead.submit(questions, **{"questions-0-prompt": "Why do you want to join?", "questions-0-required": "y",
                              "questions-1-prompt": "Anything else?", "questions-1-required": ""})
    applicant = lti("demo-participant-1")
    form = applicant.get(f"/c/{cid}/cohorts/{cohort_id}/apply")
    q_ids = re.findall(r'name="(q\d+)"', form.text)
    assert len(q_ids) == 2
    refused = applicant.submit(form, **{q_ids[0]: "", q_ids[1]: "hello"})
    assert refused.status_code == 400 and "This question is required" in refused.text
    assert with_session(app, lambda s: s.scalars(select(Application)).all()) == []
    sent = applicant.submit(form, **{q_ids[0]: "To learn from peers", q_ids[1]: ""})
    assert "Under review" in sent.text
    application_id = with_session(app, lambda s: s.scalar(select(Application.id)))

    facilitator = lti(FAC2)
    listing = facilitator.get(f"/c/{cid}/cohorts/{cohort_id}/applications")
    assert "Aisha Rahman" in listing.text and "To learn from peers" not in listing.text
    review = facilitator.get(f"/c/{cid}/applications/{application_id}")
    assert "To learn from peers" in review.text
    facilitator.submit(review, decision="accept", note="Welcome aboard")
    seen = applicant.get(f"/c/{cid}/applications/{application_id}")
    assert "Accepted" in seen.text and "Welcome aboard" in seen.text
    assert "You are a member" in applicant.get(f"/c/{cid}/cohorts/{cohort_id}").text

    # Another participant sees neither the answers nor the review form.
    nosy = lti("demo-participant-2")
    assert nosy.get(f"/c/{cid}/applications/{application_id}").status_code == 403
    assert nosy.get(f"/c/{cid}/cohorts/{cohort_id}/applications").status_code == 403


# -- proposals --------------------------------------------------------------------------------------------------

def test_participant_proposal_accepted_by_the_lead_makes_them_facilitator_of_the_new_cohort(app, lti, lead, cid):
    def open_window(session):
        program = the_program(session)
        program.proposals_open_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
        program.proposals_close_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)
    with_session(app, open_window)
    proposer = lti("demo-participant-3")
    page = proposer.get(f"/c/{cid}/proposals/new")
    sent = proposer.submit(page, title="AI in schools", kind="topic", description="Policy and practice",
                           audience="Principals", format="Virtual", proposed_sessions="Monthly")
    assert sent.status_code == 200 and "Submitted" in sent.text
    proposal_id = int(re.search(r"/proposals/(\d+)", sent.url).group(1))
    assert lti("demo-participant-4").get(f"/c/{cid}/proposals/{proposal_id}").status_code == 403
    review = lead.get(f"/c/{cid}/proposals/{proposal_id}")
    refused = lead.submit(review, decision="decline", note="")
    assert refused.status_code == 400 and "Write a note" in refused.text
    accepted = lead.submit(review, decision="accept", note="")
    assert "Accepted" in accepted.text
    cohort_id = with_session(app, lambda s: s.scalar(select(Cohort.id).where(Cohort.name == "AI in schools")))
    # The participant now manages their cohort.
    assert "Manage this cohort" in proposer.get(f"/c/{cid}/cohorts/{cohort_id}").text


# -- permissions ------------------------------------------------------------------------------------------------

def test_participants_cannot_manage_anything(app, lti, lead, cid):
    cohort_id = make_cohort(app)
    participant = lti("demo-participant-1")
    token = participant.csrf_token(f"/c/{cid}/proposals/new")
    assert participant.get(f"/c/{cid}/program").status_code == 403
    assert participant.get(f"/c/{cid}/cohorts/new").status_code == 403
    assert participant.get(f"/c/{cid}/cohorts/{cohort_id}/edit").status_code == 403
    assert participant.get(f"/c/{cid}/cohorts/{cohort_id}/groups").status_code == 403
    assert participant.post(f"/c/{cid}/cohorts/{cohort_id}/members",
                            data={"csrf_token": token, "membership_id": "1"}).status_code == 403
    assert "Manage this cohort" not in participant.get(f"/c/{cid}/cohorts/{cohort_id}").text


def test_a_facilitator_manages_only_their_own_cohorts(app, lti, lead, cid):
    lti(FAC2)
    lead_id = member(app, LEAD).id

    def name_lead(session):
        the_program(session).settings = {"leads": [lead_id]}
    with_session(app, name_lead)
    theirs = make_cohort(app, name="Theirs", facilitator=FAC2)
    others = make_cohort(app, name="Others")
    facilitator = lti(FAC2)
    assert facilitator.get(f"/c/{cid}/cohorts/{theirs}/edit").status_code == 200
    assert facilitator.get(f"/c/{cid}/cohorts/{others}/edit").status_code == 403
    assert facilitator.get(f"/c/{cid}/cohorts/{others}/groups").status_code == 403
    assert facilitator.get(f"/c/{cid}/cohorts/new").status_code == 403
    assert "Manage this cohort" not in facilitator.get(f"/c/{cid}/cohorts/{others}").text


def test_nothing_of_one_course_is_visible_from_another(app, lti, lead, cid):
    cohort_id = make_cohort(app)
    outsider = lti("other-facilitator-1", course="other-course")
    other_cid = member(app, "other-facilitator-1", "other-course").course_id
    # Another course's cohort id under the outsider's own course: not found.
    assert outsider.get(f"/c/{other_cid}/cohorts/{cohort_id}").status_code == 404
    assert outsider.get(f"/c/{other_cid}/cohorts/{cohort_id}/edit").status_code == 404
    # The other course's URL itself: not a member, refused.
    assert outsider.get(f"/c/{cid}/cohorts/{cohort_id}").status_code == 403
    assert outsider.get(f"/c/{cid}/").status_code == 403
    # Someone in both courses, launched into the other one, still cannot reach it through their other course.
    both = lti("demo-participant-1", course="other-course")
    assert both.get(f"/c/{other_cid}/cohorts/{cohort_id}").status_code == 404


def test_a_cohort_can_be_placed_by_deep_linking_and_resolves_only_in_its_course(app, lead, cid):
    from lti_tool.lti.deep_linking import resolve_target

    cohort_id = make_cohort(app)
    with app.test_request_context():
        assert resolve_target(cid, f"cohort:{cohort_id}") == f"/c/{cid}/cohorts/{cohort_id}"
        assert resolve_target(cid + 1000, f"cohort:{cohort_id}") is None


# -- fixed query counts ------------------------------------------------------------------------------------------

def count_queries(app, browser, path: str) -> int:
    statements = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)
    engine = db.engine_for(app)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert browser.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def test_program_home_and_cohort_page_cost_the_same_queries_for_few_or_many_cohorts_and_members(app, lti, lead,
                                                                                                 cid):
    people = [lti(f"demo-participant-{n}") for n in range(1, 7)]
    first = make_cohort(app, name="C0", capacity=3)
    for p in people[:2]:
        p.submit(p.get(f"/c/{cid}/cohorts/{first}"), index=0)
    home_small = count_queries(app, lead, f"/c/{cid}/")
    cohort_small = count_queries(app, lead, f"/c/{cid}/cohorts/{first}")
    for n in range(1, 6):
        make_cohort(app, name=f"C{n}", capacity=3)
    for p in people[2:]:
        p.submit(p.get(f"/c/{cid}/cohorts/{first}"), index=0)
    assert count_queries(app, lead, f"/c/{cid}/") == home_small
    assert count_queries(app, lead, f"/c/{cid}/cohorts/{first}") == cohort_small


def test_a_participant_named_facilitator_manages_that_cohort_and_no_other(app, lti, lead, cid):
    """Issue 11, point 1: an LMS Learner named on a cohort (as an accepted proposal names its proposer) manages
    that cohort — its page, settings, roster, applications and small groups — and no other."""
    peer = lti("demo-participant-3")
    theirs = make_cohort(app, name="Theirs", mode="application", facilitator="demo-participant-3")
    others = make_cohort(app, name="Others", mode="application")
    applicants = [lti(f"demo-participant-{n}") for n in (4, 5)]
    for applicant, cohort_id in zip(applicants, (theirs, others)):
        applicant.submit(applicant.get(f"/c/{cid}/cohorts/{cohort_id}/apply"))
    mine, not_mine = with_session(app, lambda s: [s.scalar(select(Application.id).where(Application.cohort_id == c))
                                                  for c in (theirs, others)])

    page = peer.get(f"/c/{cid}/cohorts/{theirs}")
    assert "Manage this cohort" in page.text and "Your place" not in page.text
    assert peer.get(f"/c/{cid}/cohorts/{theirs}/edit").status_code == 200
    assert peer.get(f"/c/{cid}/cohorts/{theirs}/groups").status_code == 200
    listing = peer.get(f"/c/{cid}/cohorts/{theirs}/applications")
    assert listing.status_code == 200 and f"/applications/{mine}" in listing.text
    review = peer.get(f"/c/{cid}/applications/{mine}")
    assert review.status_code == 200 and "Save decision" in review.text
    assert peer.submit(review, decision="accept", note="Welcome").status_code == 200
    assert with_session(app, lambda s: s.get(Application, mine).status.value) == "accepted"
    added = peer.submit(page, index=len(forms(page.text)) - 1,
                        membership_id=str(member(app, "demo-participant-5").id))
    assert added.status_code == 200 and "was added" in added.text
    assert "Theirs" in text_of(peer.get(f"/c/{cid}/").text)

    assert "Manage this cohort" not in peer.get(f"/c/{cid}/cohorts/{others}").text
    for path in (f"/cohorts/{others}/edit", f"/cohorts/{others}/groups", f"/cohorts/{others}/applications",
                 f"/applications/{not_mine}", f"/cohorts/{theirs}/questions", "/cohorts/new", "/program"):
        assert peer.get(f"/c/{cid}{path}").status_code == 403, path


def test_cohort_and_application_times_are_shown_in_the_viewers_zone_with_the_zone_named(app, lti, lead, cid):
    """Issue 11, point 2: the program pages showed every instant in the program's zone, whatever the viewer's;
    now in the viewer's own zone, named (``|local``)."""
    cohort_id = make_cohort(app, mode="application", signup_opens_at=dt.datetime(2030, 9, 1, 8, 0),
                            signup_closes_at=dt.datetime(2030, 10, 3, 17, 0))          # New York wall clock
    applicant = lti("demo-participant-1")
    with_session(app, lambda s: setattr(s.get(Membership, member(app, "demo-participant-1").id).user,
                                        "timezone", "Europe/Berlin"))
    page = text_of(applicant.get(f"/c/{cid}/cohorts/{cohort_id}").text)
    # 17:00 in New York (EDT) on 3 October is 23:00 in Berlin (CEST).
    assert "Thu 3 Oct 2030, 11:00 pm CEST" in page and "Sun 1 Sep 2030, 2:00 pm CEST" in page
    assert "America/New_York" not in page
    assert "Thu 3 Oct 2030, 5:00 pm EDT" in text_of(lead.get(f"/c/{cid}/cohorts/{cohort_id}").text)
