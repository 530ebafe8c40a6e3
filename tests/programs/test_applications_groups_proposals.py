"""Applications with questions and reviews, small groups balanced by size, and facilitator proposals."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lti_tool.errors import Conflict, Forbidden, InvalidInput
from lti_tool.lti.models import CourseRole
from lti_tool.programs import queries, writes
from lti_tool.programs.models import (Application, ApplicationStatus, Cohort, ProposalStatus, SeatStatus,
                                      SmallGroup)
from tests.programs.conftest import NOW, acting, make_cohort, make_program


@pytest.fixture
def setup(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    writes.update_program(session, acting(session, lead), title="CoP", timezone="America/New_York", leads=[lead.id])
    fac = world.person("Fay Facilitator", CourseRole.facilitator)
    cohort = make_cohort(session, lead, program, name="Equity leads", mode="application", capacity=1,
                         facilitators=[fac])
    writes.set_questions(session, acting(session, lead), cohort, [("Why do you want to join?", True),
                                                                  ("Anything else?", False)])
    return lead, fac, program, cohort


# -- applications --------------------------------------------------------------------------------------------

def test_lead_sets_questions_and_replaces_them(session, setup):
    lead, fac, program, cohort = setup
    assert [(q.prompt, q.required) for q in cohort.questions] == [("Why do you want to join?", True),
                                                                  ("Anything else?", False)]
    writes.set_questions(session, acting(session, lead), cohort, [("Your role?", True)])
    assert [q.prompt for q in cohort.questions] == ["Your role?"]
    with pytest.raises(Forbidden):
        writes.set_questions(session, acting(session, fac), cohort, [("Sneaky?", True)])


def test_missing_required_answer_is_refused_and_no_application_is_stored(session, world, setup):
    lead, fac, program, cohort = setup
    pat = world.person("Pat")
    q1, q2 = cohort.questions
    with pytest.raises(InvalidInput, match="required") as err:
        writes.submit_application(session, acting(session, pat), cohort, {q1.id: "  ", q2.id: "hello"}, now=NOW)
    assert err.value.field == f"q{q1.id}"
    assert session.scalars(select(Application)).all() == []


def test_application_is_reviewed_accepted_gives_a_seat_and_the_applicant_sees_status_and_note(session, world,
                                                                                                setup):
    lead, fac, program, cohort = setup
    pat, sam = world.participants(2)
    q1, q2 = cohort.questions
    app_pat = writes.submit_application(session, acting(session, pat), cohort, {q1.id: "To learn"}, now=NOW)
    app_sam = writes.submit_application(session, acting(session, sam), cohort, {q1.id: "To share"}, now=NOW)
    with pytest.raises(Conflict):
        writes.submit_application(session, acting(session, pat), cohort, {q1.id: "Again"}, now=NOW)
    writes.review_application(session, acting(session, fac), app_pat, "accept", "Welcome!")
    assert queries.seat_of(session, cohort, pat).status is SeatStatus.active
    seen = queries.get_application(session, acting(session, pat), app_pat.id)
    assert (seen.status, seen.review_note) == (ApplicationStatus.accepted, "Welcome!")
    # The cohort is full: accepting another is refused, wait-listing works.
    with pytest.raises(InvalidInput, match="full"):
        writes.review_application(session, acting(session, fac), app_sam, "accept")
    writes.review_application(session, acting(session, fac), app_sam, "waitlist", "We will let you know")
    assert queries.seat_of(session, cohort, sam).status is SeatStatus.waitlisted
    # When pat withdraws, the wait-listed applicant gets the seat and their application reads accepted.
    writes.withdraw(session, acting(session, pat), cohort)
    assert queries.seat_of(session, cohort, sam).status is SeatStatus.active
    assert app_sam.status is ApplicationStatus.accepted


def test_declined_application_gets_no_seat(session, world, setup):
    lead, fac, program, cohort = setup
    pat = world.person("Pat")
    application = writes.submit_application(session, acting(session, pat), cohort, {cohort.questions[0].id: "x"},
                                            now=NOW)
    writes.review_application(session, acting(session, lead), application, "decline", "Not this year")
    assert queries.seat_of(session, cohort, pat) is None
    assert application.status is ApplicationStatus.declined and application.review_note == "Not this year"


def test_application_answers_are_seen_only_by_the_applicant_and_the_cohorts_reviewers(session, world, setup):
    lead, fac, program, cohort = setup
    pat, nosy = world.participants(2)
    other_fac = world.person("Other Facilitator", CourseRole.facilitator)
    make_cohort(session, lead, program, name="Other", facilitators=[other_fac])
    application = writes.submit_application(session, acting(session, pat), cohort,
                                            {cohort.questions[0].id: "secret"}, now=NOW)
    for viewer in (pat, fac, lead):
        assert queries.get_application(session, acting(session, viewer), application.id).answers
    for viewer in (nosy, other_fac):
        with pytest.raises(Forbidden):
            queries.get_application(session, acting(session, viewer), application.id)
    with pytest.raises(Forbidden):
        queries.list_applications(session, acting(session, other_fac), cohort)
    with pytest.raises(Forbidden):
        writes.review_application(session, acting(session, other_fac), application, "accept")


def test_application_after_the_window_closed_is_refused(session, world, setup):
    lead, fac, program, cohort = setup
    writes.update_cohort(session, acting(session, lead), cohort, name=cohort.name, kind="topic", description="",
                         capacity=1, signup_mode="application", signup_opens_at=None,
                         signup_closes_at=dt.datetime(2026, 9, 1, 12, 0), facilitator_ids=[fac.id])
    with pytest.raises(InvalidInput, match="closed"):
        writes.submit_application(session, acting(session, world.person("Late")), cohort,
                                  {cohort.questions[0].id: "x"}, now=NOW)


# -- small groups --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, size, expected", [
    (14, 3, [3, 3, 3, 3, 2]), (14, 4, [4, 4, 3, 3]), (12, 3, [3, 3, 3, 3]), (7, 3, [3, 2, 2]), (2, 3, [2]),
    (0, 3, []),
])
def test_balanced_sizes_differ_by_at_most_one(n, size, expected):
    sizes = writes.balanced_sizes(n, size)
    assert sizes == expected
    assert sum(sizes) == n
    assert not sizes or max(sizes) - min(sizes) <= 1


def test_groups_are_generated_balanced_and_regenerating_replaces_them(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program)
    people = world.participants(14)
    for p in people:
        writes.sign_up(session, acting(session, p), cohort, now=NOW)
    groups = writes.generate_small_groups(session, acting(session, lead), cohort, 4, seed=1)
    assert sorted(len(g.members) for g in groups) == [3, 3, 4, 4]
    placed = [m.membership_id for g in groups for m in g.members]
    assert sorted(placed) == sorted(p.id for p in people)
    writes.generate_small_groups(session, acting(session, lead), cohort, 3, seed=2)
    stored = session.scalars(select(SmallGroup).where(SmallGroup.cohort_id == cohort.id)).all()
    assert sorted(len(g.members) for g in stored) == [2, 3, 3, 3, 3]


def test_hand_made_group_takes_only_cohort_members_not_already_grouped(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program)
    a, b, c, outsider = world.participants(4)
    for p in (a, b, c):
        writes.sign_up(session, acting(session, p), cohort, now=NOW)
    group = writes.create_small_group(session, acting(session, lead), cohort, "Triad A", [a.id, b.id])
    assert {m.membership_id for m in group.members} == {a.id, b.id}
    with pytest.raises(InvalidInput, match="another group"):
        writes.create_small_group(session, acting(session, lead), cohort, "Triad B", [b.id, c.id])
    with pytest.raises(InvalidInput, match="Only members"):
        writes.create_small_group(session, acting(session, lead), cohort, "Triad C", [outsider.id])
    with pytest.raises(Forbidden):
        writes.create_small_group(session, acting(session, a), cohort, "Mine", [a.id])


# -- proposals -----------------------------------------------------------------------------------------------

@pytest.fixture
def proposal_program(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    writes.update_program(session, acting(session, lead), title="CoP", timezone="America/New_York",
                          proposals_open_at=dt.datetime(2026, 4, 5, 9, 0),
                          proposals_close_at=dt.datetime(2026, 5, 6, 23, 59))
    return lead, program


IN_WINDOW = dt.datetime(2026, 4, 20, 15, 0, tzinfo=dt.timezone.utc)
FIELDS = dict(title="AI in schools", kind="topic", description="Leaders exploring AI policy",
              audience="Principals", format="Virtual, monthly", proposed_sessions="Second Thursday, 3 p.m.")


def test_participant_proposes_lead_asks_for_changes_proposer_resubmits_lead_accepts(session, world,
                                                                                   proposal_program):
    lead, program = proposal_program
    pat = world.person("Pat Participant")
    proposal = writes.submit_proposal(session, acting(session, pat), **FIELDS, now=IN_WINDOW)
    assert proposal.status is ProposalStatus.submitted
    with pytest.raises(InvalidInput, match="note"):
        writes.review_proposal(session, acting(session, lead), proposal, "request_changes", "")
    writes.review_proposal(session, acting(session, lead), proposal, "request_changes", "Add a book")
    assert queries.get_proposal(session, acting(session, pat), proposal.id).status is ProposalStatus.changes_requested
    writes.revise_proposal(session, acting(session, pat), proposal, **(FIELDS | {"format": "Virtual + book study"}))
    assert proposal.status is ProposalStatus.submitted
    writes.review_proposal(session, acting(session, lead), proposal, "accept")
    cohort = session.get(Cohort, proposal.cohort_id)
    assert cohort.name == "AI in schools" and cohort.capacity == 20
    # The participant facilitates the new cohort, whatever their LMS role.
    assert [f.membership_id for f in cohort.facilitators] == [pat.id]
    assert acting(session, pat).manages(cohort)


def test_declined_proposal_keeps_the_note_and_creates_no_cohort(session, world, proposal_program):
    lead, program = proposal_program
    pat = world.person("Pat")
    proposal = writes.submit_proposal(session, acting(session, pat), **FIELDS, now=IN_WINDOW)
    writes.review_proposal(session, acting(session, lead), proposal, "decline", "Overlaps an existing cohort")
    assert proposal.status is ProposalStatus.declined and proposal.cohort_id is None
    with pytest.raises(InvalidInput):
        writes.revise_proposal(session, acting(session, pat), proposal, **FIELDS)


def test_proposals_outside_the_window_are_refused(session, world, proposal_program):
    lead, program = proposal_program
    pat = world.person("Pat")
    with pytest.raises(InvalidInput, match="deadline passed"):
        writes.submit_proposal(session, acting(session, pat), **FIELDS,
                               now=dt.datetime(2026, 5, 8, tzinfo=dt.timezone.utc))
    with pytest.raises(InvalidInput, match="open on"):
        writes.submit_proposal(session, acting(session, pat), **FIELDS,
                               now=dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))


def test_proposals_are_seen_by_their_proposer_and_leads_only(session, world, proposal_program):
    lead, program = proposal_program
    pat, sam = world.participants(2)
    proposal = writes.submit_proposal(session, acting(session, pat), **FIELDS, now=IN_WINDOW)
    assert queries.list_proposals(session, acting(session, sam)) == []
    assert queries.list_proposals(session, acting(session, lead)) == [proposal]
    with pytest.raises(Forbidden):
        queries.get_proposal(session, acting(session, sam), proposal.id)
    with pytest.raises(Forbidden):
        writes.review_proposal(session, acting(session, pat), proposal, "accept")


def test_a_participant_named_facilitator_manages_that_cohort_through_every_service_and_no_other(session, world):
    """Issue 11, point 1, on the services: a participant whose proposal became cohort A manages A (edit it, add
    and remove people, review its applications, make its groups) and gets the participant's answer for B."""
    lead = world.lead()
    program = make_program(session, lead)
    pat = world.person("Pat Proposer")
    mine = make_cohort(session, lead, program, name="Mine", mode="application", facilitators=[pat])
    theirs = make_cohort(session, lead, program, name="Theirs", mode="application")
    a, b, c = world.participants(3)
    on_mine = writes.submit_application(session, acting(session, a), mine, {}, now=NOW)
    on_theirs = writes.submit_application(session, acting(session, b), theirs, {}, now=NOW)

    writes.update_cohort(session, acting(session, pat), mine, name="Mine", kind="topic", description="Ours",
                         capacity=5, signup_mode="application", signup_opens_at=None, signup_closes_at=None,
                         facilitator_ids=[pat.id])
    assert queries.list_applications(session, acting(session, pat), mine) == [on_mine]
    writes.review_application(session, acting(session, pat), on_mine, "accept", "Welcome")
    seat = writes.add_member(session, acting(session, pat), mine, c.id)
    writes.create_small_group(session, acting(session, pat), mine, "Pair", [a.id, c.id])
    writes.remove_member(session, acting(session, pat), mine, seat.id)
    assert queries.cohort_page(session, acting(session, pat), mine).manager

    for attempt in (lambda: queries.list_applications(session, acting(session, pat), theirs),
                    lambda: queries.get_application(session, acting(session, pat), on_theirs.id),
                    lambda: writes.review_application(session, acting(session, pat), on_theirs, "accept"),
                    lambda: writes.add_member(session, acting(session, pat), theirs, c.id),
                    lambda: writes.generate_small_groups(session, acting(session, pat), theirs, 2),
                    lambda: writes.set_questions(session, acting(session, pat), mine, [("Why?", True)])):
        with pytest.raises(Forbidden):
            attempt()
    assert not queries.cohort_page(session, acting(session, pat), theirs).manager
