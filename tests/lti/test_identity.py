"""Identities from launches: a person is (platform, sub), their details and roles refresh at each launch, and
nobody reaches a course they are not a member of, on the same platform or across platforms."""
from __future__ import annotations

from html import unescape

from lti_tool.db import db
from lti_tool.lti.models import CourseRole
from lti_tool.lti.registry import PlatformSpec, add_platform
from tests.lti.helpers import CLAIM, INSTRUCTOR, LEARNER, drop, forge  # noqa: F401

OTHER_ISSUER, OTHER_CLIENT = "https://other-lms.example", "other-client"


def _other_platform(app, forge) -> int:
    with app.app_context():
        platform = add_platform(db.session, PlatformSpec(
            issuer=OTHER_ISSUER, client_id=OTHER_CLIENT, auth_login_url="https://other-lms.example/auth",
            auth_token_url="https://other-lms.example/token", key_set_url=forge.info.key_set_url,
            deployment_ids=("1",), name="Other LMS"))
        db.session.commit()
        return platform.id


def _launch_on_other_platform(forge, browser=None, user="demo-facilitator-1", mutate=None):
    browser = browser or forge.browser()
    login = forge.login(browser, user, iss=OTHER_ISSUER, client_id=OTHER_CLIENT)
    claims = forge.claims(login.nonce, user)
    claims.update(iss=OTHER_ISSUER, aud=OTHER_CLIENT, azp=OTHER_CLIENT)
    if mutate:
        mutate(claims)
    response = browser.post_launch(forge.sign(claims), login.state)
    assert response.status_code == 200, response.text[:800]
    return browser, response


def test_name_email_and_picture_refresh_at_each_launch(forge):
    forge.launch(user="demo-participant-5")
    first = forge.user("demo-participant-5")
    assert first.name and first.email and first.picture

    def renamed(claims):
        claims.update(name="Renamed Person", given_name="Renamed", family_name="Person",
                      email="renamed@example.edu", picture="https://cdn.example.edu/p.png")

    response = forge.launch(user="demo-participant-5", mutate=renamed)
    again = forge.user("demo-participant-5")
    assert again.id == first.id
    assert (again.name, again.email, again.picture) == ("Renamed Person", "renamed@example.edu",
                                                        "https://cdn.example.edu/p.png")
    assert "Renamed Person" in unescape(response.text)

    # The LMS stops sending them (privacy settings changed): they are not kept.
    forge.launch(user="demo-participant-5", mutate=drop("name", "given_name", "family_name", "email", "picture"))
    last = forge.user("demo-participant-5")
    assert (last.name, last.email, last.picture) == ("", "", "")


def test_picture_that_is_not_a_web_url_is_dropped(forge):
    forge.launch(user="demo-participant-5", mutate=lambda c: c.update(picture="javascript:alert(1)"))
    assert forge.user("demo-participant-5").picture == ""


def test_roles_refresh_at_each_launch(forge):
    forge.launch(user="demo-participant-6")
    assert forge.membership("demo-participant-6").role is CourseRole.participant
    forge.launch(user="demo-participant-6", mutate=lambda c: c.update({CLAIM + "roles": [INSTRUCTOR]}))
    membership = forge.membership("demo-participant-6")
    assert membership.role is CourseRole.facilitator
    assert membership.lti_roles == [INSTRUCTOR]


def test_same_sub_on_another_platform_is_another_user(forge, app):
    other_id = _other_platform(app, forge)
    forge.launch(user="demo-facilitator-1")
    _launch_on_other_platform(forge, user="demo-facilitator-1",
                              mutate=lambda c: c.update(name="Someone Else Entirely"))
    mine = forge.user("demo-facilitator-1", forge.platform_id())
    theirs = forge.user("demo-facilitator-1", other_id)
    assert mine.id != theirs.id
    assert mine.name != "Someone Else Entirely" and theirs.name == "Someone Else Entirely"
    # and the same context id on the other platform is another course
    assert forge.counts()["Course"] == 2


def test_member_of_one_course_gets_403_in_another_course_of_the_same_platform(forge):
    forge.launch(user="other-facilitator-1", course="other-course")
    other_course = forge.course_id("other-course")
    browser = forge.browser()
    assert forge.launch(browser, user="demo-facilitator-1").status_code == 200
    assert browser.get(f"/c/{forge.course_id('demo-course')}/").status_code == 200
    response = browser.get(f"/c/{other_course}/")
    assert response.status_code == 403
    assert "not a member of this course" in unescape(response.text)
    assert browser.get("/c/999999/").status_code == 403


def test_person_in_two_courses_has_a_role_in_each(forge):
    browser = forge.browser()
    forge.launch(browser, user="demo-participant-1", mutate=lambda c: c.update({CLAIM + "roles": [INSTRUCTOR]}))
    forge.launch(browser, user="demo-participant-1", course="other-course")
    assert forge.membership("demo-participant-1", "demo-course").role is CourseRole.facilitator
    assert forge.membership("demo-participant-1", "other-course").role is CourseRole.participant
    for context_id, role in (("demo-course", "Facilitator"), ("other-course", "Participant")):
        page = browser.get(f"/c/{forge.course_id(context_id)}/")
        assert page.status_code == 200 and role in page.text


def test_nothing_crosses_platforms(forge, app):
    _other_platform(app, forge)
    home = forge.browser()
    assert forge.launch(home, user="demo-facilitator-1").status_code == 200
    away, _ = _launch_on_other_platform(forge, user="demo-facilitator-1")
    with app.app_context():
        from sqlalchemy import select

        from lti_tool.lti.models import Course, Platform

        ids = dict(db.session.execute(select(Platform.issuer, Course.id).join(Course, Course.platform_id == Platform.id)).all())
        db.session.commit()
    mine, theirs = ids[forge.info.issuer], ids[OTHER_ISSUER]
    assert home.get(f"/c/{mine}/").status_code == 200
    assert home.get(f"/c/{theirs}/").status_code == 403
    assert away.get(f"/c/{theirs}/").status_code == 200
    assert away.get(f"/c/{mine}/").status_code == 403


def test_landing_page_shows_who_is_signed_in_the_course_and_the_role(forge):
    for sub, role in (("demo-facilitator-1", "Facilitator"), ("demo-participant-2", "Participant"),
                      ("demo-observer-1", "Observer")):
        page = forge.launch(user=sub)
        user = forge.user(sub)
        identity = unescape(page.text.split('class="app-identity"', 1)[1].split("</p>", 1)[0])
        assert "Signed in as" in identity and user.name in identity
        assert "Communities of Practice 2026–27 (demo)" in identity
        assert role in identity


def test_a_new_launch_in_the_same_browser_switches_the_signed_in_person(forge):
    browser = forge.browser()
    forge.launch(browser, user="demo-facilitator-1")
    page = forge.launch(browser, user="demo-participant-7", mutate=lambda c: c.update({CLAIM + "roles": [LEARNER]}))
    assert forge.user("demo-participant-7").name in unescape(page.text)
    assert "Participant" in page.text
