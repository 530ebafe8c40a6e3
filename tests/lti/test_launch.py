"""Launches the tool must accept (1EdTech certification §6.1.2/§6.1.3 valid variants, Canvas and Moodle shapes),
each over HTTP from the sandbox platform, with the role each one maps to."""
from __future__ import annotations

import re
from html import unescape

import pytest

from lti_tool.lti.models import CourseRole
from tests.lti.helpers import (CANVAS_TEST_USER, CLAIM, INSTRUCTOR, LEARNER, LIS, MENTOR, TEACHING_ASSISTANT,
                               drop, forge)  # noqa: F401

PEOPLE = {"Instructor": ("demo-facilitator-1", CourseRole.facilitator),
          "Learner": ("demo-participant-1", CourseRole.participant)}


def _identity_line(html: str) -> str:
    match = re.search(r'<p class="app-identity">(.*?)</p>', html, re.S)
    assert match, "the page does not say who is signed in"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def _roles(*roles):
    def mutate(claims):
        claims[CLAIM + "roles"] = list(roles)
    return mutate


def _accepted(forge, response, sub, role: CourseRole, preview: bool = False):
    assert response.status_code == 200, response.text[:800]
    assert response.url.endswith(f"/c/{forge.course_id('demo-course')}/"), response.url
    membership = forge.membership(sub)
    assert membership is not None
    assert membership.role is role
    assert membership.is_preview is preview
    return membership


@pytest.mark.parametrize("who", list(PEOPLE))
def test_plain_launch_lands_on_the_program_page_with_the_role(forge, who):
    sub, role = PEOPLE[who]
    response = forge.launch(user=sub)
    _accepted(forge, response, sub, role)
    line = _identity_line(response.text)
    assert "Communities of Practice 2026–27 (demo)" in line
    assert role.value.capitalize() in line


VARIANTS = {
    "multiple_roles": {"Instructor": _roles(INSTRUCTOR, LIS + "institution/person#Faculty"),
                       "Learner": _roles(LEARNER, LIS + "institution/person#Student")},
    "short_role": {"Instructor": _roles("Instructor"), "Learner": _roles("Learner")},
    "unknown_role_alongside": {"Instructor": _roles(INSTRUCTOR, "http://example.edu/roles#Wizard"),
                               "Learner": _roles(LEARNER, "urn:example:role:unknown")},
}


@pytest.mark.parametrize("who", list(PEOPLE))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_valid_role_variant_is_accepted(forge, variant, who):
    sub, role = PEOPLE[who]
    _accepted(forge, forge.launch(user=sub, mutate=VARIANTS[variant][who]), sub, role)


@pytest.mark.parametrize("who", list(PEOPLE))
def test_only_an_unknown_role_is_accepted_as_observer(forge, who):
    sub, _ = PEOPLE[who]
    _accepted(forge, forge.launch(user=sub, mutate=_roles("http://example.edu/roles#Wizard")), sub,
              CourseRole.observer)


@pytest.mark.parametrize("who", list(PEOPLE))
def test_empty_roles_are_accepted_as_observer(forge, who):
    sub, _ = PEOPLE[who]
    membership = _accepted(forge, forge.launch(user=sub, mutate=_roles()), sub, CourseRole.observer)
    assert membership.lti_roles == []


PII = {
    "email_only": drop("name", "given_name", "family_name", "picture"),
    "names_only": drop("email"),
    "no_pii": drop("name", "given_name", "family_name", "email", "picture", "locale"),
}


@pytest.mark.parametrize("who", list(PEOPLE))
@pytest.mark.parametrize("variant", list(PII))
def test_launch_with_little_or_no_personal_data_is_accepted(forge, variant, who):
    sub, role = PEOPLE[who]
    response = forge.launch(user=sub, mutate=PII[variant])
    _accepted(forge, response, sub, role)
    user = forge.user(sub)
    line = _identity_line(response.text)
    if variant == "email_only":
        assert user.name == "" and user.email
        assert user.email in line
    elif variant == "names_only":
        assert user.email == "" and user.name
        assert user.name in line
    else:
        assert (user.name, user.email, user.picture) == ("", "", "")
        assert "Signed in as" in line


@pytest.mark.parametrize("who", list(PEOPLE))
def test_launch_without_context_lands_on_the_no_course_page(forge, who):
    sub, _ = PEOPLE[who]
    response = forge.launch(user=sub, mutate=drop("context", "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"))
    assert response.status_code == 200, response.text[:800]
    assert response.url.endswith("/lti/no-course")
    assert "this launch did not come from a course" in unescape(response.text)
    assert forge.user(sub) is not None
    assert forge.counts()["Course"] == 0


def test_launch_with_email_but_no_context_is_accepted(forge):
    response = forge.launch(user="demo-participant-1", mutate=drop("context", "name", "given_name", "family_name"))
    assert response.status_code == 200 and response.url.endswith("/lti/no-course")
    assert forge.user("demo-participant-1").email in unescape(response.text)


def test_moodle_shaped_launch_of_a_site_admin_teacher_is_a_facilitator(forge):
    def moodle(claims):
        claims["aud"] = claims.pop("azp")  # Moodle: aud a string, no azp
        claims["exp"] = claims["iat"] + 60  # and id_tokens that live one minute
        claims[CLAIM + "context"]["type"] = ["CourseSection"]
        claims[CLAIM + "roles"] = [LIS + "institution/person#Administrator", INSTRUCTOR,
                                   LIS + "system/person#Administrator"]
        claims[CLAIM + "tool_platform"] = {"product_family_code": "moodle", "version": "2023100900",
                                           "guid": "moodle.example", "name": "Moodle"}
        for key in ("picture", "locale"):
            claims.pop(key)
    _accepted(forge, forge.launch(user="demo-facilitator-1", mutate=moodle), "demo-facilitator-1",
              CourseRole.facilitator)


def test_canvas_teaching_assistant_is_a_facilitator(forge):
    membership = _accepted(forge, forge.launch(user="demo-facilitator-2"), "demo-facilitator-2",
                           CourseRole.facilitator)
    assert INSTRUCTOR in membership.lti_roles and TEACHING_ASSISTANT in membership.lti_roles


def test_canvas_test_student_is_a_participant_marked_preview(forge):
    response = forge.launch(user="demo-test-student", mutate=_roles(CANVAS_TEST_USER, LEARNER))
    _accepted(forge, response, "demo-test-student", CourseRole.participant, preview=True)
    assert "Test student (preview)" in _identity_line(response.text)


def test_sandbox_test_student_is_a_participant_marked_preview(forge):
    _accepted(forge, forge.launch(user="demo-test-student"), "demo-test-student", CourseRole.participant,
              preview=True)


def test_mentor_is_an_observer(forge):
    response = forge.launch(user="demo-observer-1")
    _accepted(forge, response, "demo-observer-1", CourseRole.observer)
    assert "Observer" in _identity_line(response.text)


def test_real_sandbox_flow_lands_each_role_on_the_program_page(lti, forge):
    for sub, role in [("demo-facilitator-1", "Facilitator"), ("demo-participant-3", "Participant"),
                      ("demo-observer-1", "Observer")]:
        page = lti(sub).last
        assert page.url.endswith(f"/c/{forge.course_id('demo-course')}/")
        assert role in _identity_line(page.text)


def test_moodle_flavoured_real_flow_is_accepted(lti):
    page = lti("demo-participant-4", flavour="moodle").last
    assert "Participant" in _identity_line(page.text)
