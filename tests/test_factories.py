"""The factories on their own: what a SubFactory makes hangs together (one LMS per person and course)."""
from __future__ import annotations

from lti_tool.lti.models import CourseRole
from tests.factories import (CohortFacilitatorFactory, CohortMemberFactory, MeetingFactory, MembershipFactory,
                             make_world)


def test_a_seat_built_from_nothing_puts_its_person_on_the_cohorts_course_and_lms(session):
    seat = CohortMemberFactory()
    lead = CohortFacilitatorFactory(cohort=seat.cohort)
    course = seat.cohort.program.course
    assert seat.membership.course is course and lead.membership.course is course
    assert seat.membership.user.platform is course.platform and lead.membership.role is CourseRole.facilitator
    assert seat.id and lead.id and seat.membership.user.sub != lead.membership.user.sub


def test_a_meeting_lasts_ninety_minutes_unless_told_and_people_of_two_courses_stay_apart(session):
    meeting = MeetingFactory()
    assert meeting.duration_minutes == 90 and meeting.cohort is None
    a, b = MembershipFactory(), MembershipFactory()
    assert a.course.platform is not b.course.platform


def test_a_world_without_a_program_is_a_course_with_people(session):
    world = make_world(session, "Course A", with_program=False)
    lead = world.lead()
    assert world.program is None and lead.course is world.course and lead.user.platform is world.platform
    assert [p.user.name for p in world.participants(2)] == ["Participant 01", "Participant 02"]
