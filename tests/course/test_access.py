"""The one rule of who may do what in a program (lti_tool/course/access.py), shown on its own; each
feature's tests show the same answers on its pages."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from lti_tool.course.access import access_for
from lti_tool.errors import Forbidden, NotFound
from lti_tool.lti.models import CourseRole
from tests.factories import make_world


@pytest.fixture
def world(session):
    w = make_world(session)
    w.person("Lead", CourseRole.facilitator)
    w.person("Staff", CourseRole.facilitator)
    w.person("Pat")                       # a participant whose proposal became cohort A
    w.person("Sam")
    w.person("Olga", CourseRole.observer)
    w.cohort("A", facilitators=[w.people["Pat"]], members=[w.people["Sam"]])
    w.cohort("B", facilitators=[w.people["Staff"]], members=[w.people["Pat"]])
    return w


def test_every_staff_member_leads_while_nobody_is_named(session, world):
    access = access_for(session, world.people["Staff"])
    assert access.lead and access.staff and access.managed == {c.id for c in world.cohorts.values()}


def test_named_leads_lead_and_other_staff_manage_only_their_cohorts(session, world):
    world.program.settings = {"leads": [world.people["Lead"].id]}
    session.flush()
    lead, staff = access_for(session, world.people["Lead"]), access_for(session, world.people["Staff"])
    assert lead.lead and lead.manages(world.cohorts["A"]) and lead.manages(None)
    assert not staff.lead and staff.manages(world.cohorts["B"]) and not staff.manages(world.cohorts["A"])
    assert not staff.manages(None), "program-wide things are the leads'"
    with pytest.raises(Forbidden):
        staff.require_lead()


def test_a_participant_named_facilitator_manages_that_cohort_and_only_that_one(session, world):
    pat = access_for(session, world.people["Pat"])
    assert pat.manages(world.cohorts["A"]) and pat.manages(world.cohorts["A"].id) and pat.manages_any
    assert not pat.manages(world.cohorts["B"]) and pat.sits_in(world.cohorts["B"]) and pat.sees(world.cohorts["B"])
    assert not pat.lead and not pat.staff
    with pytest.raises(Forbidden):
        pat.require_manager(world.cohorts["B"])
    with pytest.raises(Forbidden):
        pat.require_staff()


def test_a_seat_is_not_a_say(session, world):
    sam = access_for(session, world.people["Sam"])
    assert sam.sits_in(world.cohorts["A"]) and not sam.manages(world.cohorts["A"]) and not sam.manages_any
    olga = access_for(session, world.people["Olga"])
    assert olga.visible == frozenset() and not olga.manages_any


def test_a_member_who_left_the_course_has_no_say_anywhere(session, world):
    world.people["Pat"].active = False
    session.flush()
    pat = access_for(session, world.people["Pat"])
    assert not pat.manages(world.cohorts["A"]) and not pat.sits_in(world.cohorts["B"])


def test_another_programs_cohort_is_never_managed_and_another_course_is_404(session, world):
    other = make_world(session, "course-b", platform=world.platform)
    elsewhere = other.cohort("Elsewhere")
    lead = access_for(session, world.people["Lead"])
    assert not lead.manages(elsewhere) and not lead.sits_in(elsewhere)
    with pytest.raises(NotFound):
        access_for(session, world.people["Lead"], other.program)


def test_building_it_costs_one_query_whatever_the_number_of_cohorts(session, world):
    for n in range(20):
        world.cohort(f"C{n}", facilitators=[world.people["Pat"]])
    statements = []
    listener = lambda *a, **k: statements.append(a[2])   # noqa: E731
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        access = access_for(session, world.people["Pat"], world.program)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 1 and len(access.led) == 21
