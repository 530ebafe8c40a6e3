"""Program and cohort services on a real database: program setup, cohorts, open sign-up with its waiting
list, withdrawals and removals that seat the next person, invitations, bad input that changes nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lti_tool.course.access import is_lead
from lti_tool.errors import Conflict, Forbidden, InvalidInput, NotFound
from lti_tool.lti.models import CourseRole
from lti_tool.programs import queries, writes
from lti_tool.programs.models import Cohort, CohortMember, Program, SeatStatus
from tests.programs.conftest import NOW, acting, make_cohort, make_program


# -- program ---------------------------------------------------------------------------------------------------

def test_program_is_created_at_the_first_facilitator_launch_and_not_for_a_participant(session, world):
    participant = world.person("Pat")
    assert writes.ensure_program(session, participant) is None
    lead = world.lead()
    program = writes.ensure_program(session, lead)
    assert program is not None and program.course_id == world.course.id
    assert writes.ensure_program(session, lead).id == program.id
    assert session.scalar(select(Program.id).where(Program.course_id == world.course.id)) == program.id


def test_lead_edits_the_program_and_window_times_are_read_in_its_time_zone(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    writes.update_program(session, acting(session, lead), title="CoP 2026–27", year_label="2026–27",
                          description="Leaders learning together", timezone="America/Chicago",
                          starts_on=dt.date(2026, 8, 1), ends_on=dt.date(2027, 6, 30),
                          proposals_open_at=dt.datetime(2026, 4, 5, 9, 0),
                          proposals_close_at=dt.datetime(2026, 5, 6, 17, 0))
    assert program.timezone == "America/Chicago"
    # 9:00 in Chicago (CDT, UTC−5) is 14:00 UTC.
    assert program.proposals_open_at == dt.datetime(2026, 4, 5, 14, 0, tzinfo=dt.timezone.utc)


def test_unknown_time_zone_is_refused_and_the_program_is_unchanged(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    with pytest.raises(InvalidInput) as err:
        writes.update_program(session, acting(session, lead), title="New title", timezone="Mars/Olympus_Mons")
    assert err.value.field == "timezone"
    assert program.title != "New title" and program.timezone == "America/New_York"


def test_proposal_window_that_closes_before_it_opens_is_refused(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    with pytest.raises(InvalidInput, match="closes before it opens"):
        writes.update_program(session, acting(session, lead), title="T", timezone="UTC",
                              proposals_open_at=dt.datetime(2026, 5, 1), proposals_close_at=dt.datetime(2026, 4, 1))
    assert program.proposals_open_at is None


def test_named_leads_replace_all_facilitators_and_participants_cannot_lead(session, world):
    lead, other = world.lead(), world.person("Second Facilitator", CourseRole.facilitator)
    participant = world.person("Pat")
    program = make_program(session, lead)
    assert is_lead(program, other)
    with pytest.raises(InvalidInput, match="not a facilitator"):
        writes.update_program(session, acting(session, lead), title="T", timezone="UTC", leads=[participant.id])
    writes.update_program(session, acting(session, lead), title="T", timezone="UTC", leads=[lead.id])
    assert is_lead(program, lead) and not is_lead(program, other)
    with pytest.raises(Forbidden):
        writes.update_program(session, acting(session, other), title="Mine", timezone="UTC")


# -- cohorts ---------------------------------------------------------------------------------------------------

def test_cohort_is_created_with_facilitators_default_capacity_and_window_in_program_zone(session, world):
    lead = world.lead()
    facilitator = world.person("Co Facilitator", CourseRole.facilitator)
    make_program(session, lead)
    cohort = writes.create_cohort(session, acting(session, lead), name="Principals", kind="role_alike",
                                  facilitator_ids=[lead.id, facilitator.id],
                                  signup_opens_at=dt.datetime(2026, 9, 1, 8, 0),
                                  signup_closes_at=dt.datetime(2026, 10, 3, 23, 59))
    assert cohort.capacity == 20
    assert {f.membership_id for f in cohort.facilitators} == {lead.id, facilitator.id}
    # 8:00 New York (EDT, UTC−4) → 12:00 UTC
    assert cohort.signup_opens_at == dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.timezone.utc)


def test_participant_facilitator_of_a_cohort_can_be_any_course_member(session, world):
    lead, pat = world.lead(), world.person("Pat")
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program, facilitators=[pat])
    assert acting(session, pat).manages(cohort)


@pytest.mark.parametrize("kwargs, field", [
    (dict(signup_opens_at=dt.datetime(2026, 10, 1), signup_closes_at=dt.datetime(2026, 9, 1)), "signup_closes_at"),
    (dict(name="principals"), "name"),
    (dict(capacity=0), "capacity"),
])
def test_bad_cohort_input_is_refused_with_a_field_message(session, world, kwargs, field):
    lead = world.lead()
    program = make_program(session, lead)
    make_cohort(session, lead, program, name="Principals")
    args = dict(name="Other", capacity=20, signup_mode="open", facilitator_ids=[lead.id]) | kwargs
    with pytest.raises(InvalidInput) as err:
        writes.create_cohort(session, acting(session, lead), **args)
    assert err.value.field == field
    assert len(session.scalars(select(Cohort).where(Cohort.program_id == program.id)).all()) == 1


def test_capacity_below_current_membership_is_refused_and_nothing_changes(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program, capacity=5)
    for p in world.participants(3):
        writes.sign_up(session, acting(session, p), cohort, now=NOW)
    with pytest.raises(InvalidInput, match="cannot be lower than 3") as err:
        writes.update_cohort(session, acting(session, lead), cohort, name="Principals", kind="topic", description="",
                             capacity=2, signup_mode="open", signup_opens_at=None, signup_closes_at=None,
                             facilitator_ids=[lead.id])
    assert err.value.field == "capacity"
    session.flush()
    session.expire_all()
    assert session.get(Cohort, cohort.id).capacity == 5


# -- open sign-up, waiting list ------------------------------------------------------------------------------

def test_open_sign_up_is_first_come_then_a_waiting_list_with_positions(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program, capacity=2)
    a, b, c, d = world.participants(4)
    assert writes.sign_up(session, acting(session, a), cohort, now=NOW).status is SeatStatus.active
    assert writes.sign_up(session, acting(session, b), cohort, now=NOW).status is SeatStatus.active
    seat_c = writes.sign_up(session, acting(session, c), cohort, now=NOW + dt.timedelta(minutes=1))
    seat_d = writes.sign_up(session, acting(session, d), cohort, now=NOW + dt.timedelta(minutes=2))
    assert (seat_c.status, seat_d.status) == (SeatStatus.waitlisted, SeatStatus.waitlisted)
    assert queries.waitlist_position(session, seat_c) == 1
    assert queries.waitlist_position(session, seat_d) == 2
    assert queries.my_waitlist_positions(session, acting(session, d)) == {cohort.id: 2}
    with pytest.raises(Conflict):
        writes.sign_up(session, acting(session, a), cohort, now=NOW)


def test_withdrawal_gives_the_freed_seat_to_the_first_person_waiting(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program, capacity=1)
    a, b, c = world.participants(3)
    writes.sign_up(session, acting(session, a), cohort, now=NOW)
    writes.sign_up(session, acting(session, b), cohort, now=NOW + dt.timedelta(seconds=1))
    writes.sign_up(session, acting(session, c), cohort, now=NOW + dt.timedelta(seconds=2))
    writes.withdraw(session, acting(session, a), cohort, now=NOW + dt.timedelta(hours=1))
    assert queries.seat_of(session, cohort, a).status is SeatStatus.withdrawn
    assert queries.seat_of(session, cohort, b).status is SeatStatus.active
    seat_c = queries.seat_of(session, cohort, c)
    assert seat_c.status is SeatStatus.waitlisted and queries.waitlist_position(session, seat_c) == 1


def test_removal_keeps_history_and_seats_the_next_person(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program, capacity=1)
    a, b = world.participants(2)
    seat_a = writes.sign_up(session, acting(session, a), cohort, now=NOW)
    writes.sign_up(session, acting(session, b), cohort, now=NOW + dt.timedelta(seconds=1))
    writes.remove_member(session, acting(session, lead), cohort, seat_a.id)
    rows = session.scalars(select(CohortMember).where(CohortMember.cohort_id == cohort.id)).all()
    assert {(r.membership_id, r.status) for r in rows} == {(a.id, SeatStatus.removed), (b.id, SeatStatus.active)}
    assert seat_a.left_at is not None
    with pytest.raises(Forbidden, match="removed you"):
        writes.sign_up(session, acting(session, a), cohort, now=NOW)


def test_raising_the_capacity_seats_people_from_the_waiting_list_in_order(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program, capacity=1)
    people = world.participants(4)
    for i, p in enumerate(people):
        writes.sign_up(session, acting(session, p), cohort, now=NOW + dt.timedelta(seconds=i))
    writes.update_cohort(session, acting(session, lead), cohort, name="Principals", kind="topic", description="",
                         capacity=3, signup_mode="open", signup_opens_at=None, signup_closes_at=None,
                         facilitator_ids=[lead.id])
    statuses = [queries.seat_of(session, cohort, p).status for p in people]
    assert statuses == [SeatStatus.active, SeatStatus.active, SeatStatus.active, SeatStatus.waitlisted]


def test_sign_up_outside_the_window_is_refused_and_nothing_is_written(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program, signup_opens_at=dt.datetime(2026, 9, 1, 8, 0),
                         signup_closes_at=dt.datetime(2026, 10, 3, 17, 0))
    pat = world.person("Pat")
    with pytest.raises(InvalidInput, match="closed on Sat 3 Oct 2026, 5:00 pm EDT"):
        writes.sign_up(session, acting(session, pat), cohort, now=dt.datetime(2026, 10, 4, tzinfo=dt.timezone.utc))
    with pytest.raises(InvalidInput, match="opens on"):
        writes.sign_up(session, acting(session, pat), cohort, now=dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc))
    assert queries.seat_of(session, cohort, pat) is None


def test_sign_up_is_refused_in_application_and_invitation_modes_and_for_observers(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    by_application = make_cohort(session, lead, program, name="A", mode="application")
    by_invitation = make_cohort(session, lead, program, name="B", mode="invitation")
    open_cohort = make_cohort(session, lead, program, name="C")
    pat = world.person("Pat")
    with pytest.raises(InvalidInput, match="apply"):
        writes.sign_up(session, acting(session, pat), by_application, now=NOW)
    with pytest.raises(InvalidInput, match="invitation"):
        writes.sign_up(session, acting(session, pat), by_invitation, now=NOW)
    with pytest.raises(Forbidden):
        writes.sign_up(session, acting(session, world.person("Olive", CourseRole.observer)), open_cohort, now=NOW)


def test_invited_member_accepts_or_declines(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program, mode="invitation", capacity=1)
    a, b = world.participants(2)
    writes.invite(session, acting(session, lead), cohort, a.id)
    writes.invite(session, acting(session, lead), cohort, b.id)
    assert queries.seat_of(session, cohort, a).status is SeatStatus.invited
    assert writes.respond_to_invitation(session, acting(session, a), cohort, accept=True,
                                        now=NOW).status is SeatStatus.active
    # The last seat is gone: accepting now puts b on the waiting list rather than over capacity.
    assert writes.respond_to_invitation(session, acting(session, b), cohort, accept=True,
                                        now=NOW).status is SeatStatus.waitlisted
    c = world.person("Cleo")
    writes.invite(session, acting(session, lead), cohort, c.id)
    assert writes.respond_to_invitation(session, acting(session, c), cohort,
                                        accept=False).status is SeatStatus.withdrawn
    with pytest.raises(InvalidInput):
        writes.respond_to_invitation(session, acting(session, c), cohort, accept=True)


def test_manager_adds_a_member_but_not_beyond_capacity(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program, capacity=1, mode="invitation")
    a, b = world.participants(2)
    assert writes.add_member(session, acting(session, lead), cohort, a.id).status is SeatStatus.active
    with pytest.raises(InvalidInput, match="full"):
        writes.add_member(session, acting(session, lead), cohort, b.id)
    other_course_person = world.person("Elsewhere", course=world.new_course("Course B"))
    with pytest.raises(InvalidInput, match="not an active member"):
        writes.add_member(session, acting(session, lead), cohort, other_course_person.id)


# -- permissions -------------------------------------------------------------------------------------------------

def test_participant_cannot_manage_and_facilitator_manages_only_their_own_cohorts(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    writes.update_program(session, acting(session, lead), title="T", timezone="UTC", leads=[lead.id])
    fac = world.person("Fay", CourseRole.facilitator)
    mine = make_cohort(session, lead, program, name="Mine", facilitators=[fac])
    theirs = make_cohort(session, lead, program, name="Theirs")
    pat = world.person("Pat")
    assert acting(session, fac).manages(mine)
    assert not acting(session, fac).manages(theirs)
    with pytest.raises(Forbidden):
        writes.add_member(session, acting(session, fac), theirs, pat.id)
    with pytest.raises(Forbidden):
        writes.add_member(session, acting(session, pat), mine, pat.id)
    with pytest.raises(Forbidden):
        make_cohort(session, fac, program, name="New")
    with pytest.raises(Forbidden):
        make_cohort(session, pat, program, name="New")


def test_a_cohort_of_another_course_is_not_found(session, world):
    lead = world.lead()
    program = make_program(session, lead)
    cohort = make_cohort(session, lead, program)
    other_lead = world.lead(course=world.new_course("Course B"))
    make_program(session, other_lead)
    with pytest.raises(NotFound):
        queries.get_cohort(session, acting(session, other_lead), cohort.id)
    assert queries.get_cohort(session, acting(session, lead), cohort.id).id == cohort.id


# -- fixed query counts ---------------------------------------------------------------------------------------

def test_cohort_summaries_cost_the_same_queries_for_2_or_8_cohorts(session, world, app):
    from sqlalchemy import event

    from lti_tool.db import db

    lead = world.lead()
    program = make_program(session, lead)
    people = world.participants(6)

    def count_queries() -> tuple[int, list]:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        engine = db.engine_for(app)
        event.listen(engine, "before_cursor_execute", listener)
        session.expire_all()
        try:
            summaries = queries.cohort_summaries(session, program)
            for s in summaries:
                _ = [f.membership.user.display_name for f in s.cohort.facilitators]
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements), summaries

    for i in range(2):
        c = make_cohort(session, lead, program, name=f"C{i}", capacity=3, facilitators=[people[i]])
        for p in people[2:]:
            writes.sign_up(session, acting(session, p), c, now=NOW)
    small, summaries = count_queries()
    assert [(s.active, s.waiting) for s in summaries] == [(3, 1), (3, 1)]
    for i in range(2, 8):
        make_cohort(session, lead, program, name=f"C{i}", facilitators=[people[i % 6]])
    large, summaries = count_queries()
    assert len(summaries) == 8
    assert large == small
