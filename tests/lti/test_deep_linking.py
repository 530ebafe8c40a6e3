"""Deep linking over real HTTP from the sandbox LMS: the picker, the signed response the LMS verifies, the
placed link that launches straight to its target, and the refusals (participants, forged posts)."""
from __future__ import annotations

import jwt
import pytest
from flask import url_for

from lti_tool.db import db
from lti_tool.lti import deep_linking
from lti_tool.lti.deep_linking import PlaceableItem
from lti_tool.sandbox import services as sb
from tests.lti.helpers import assert_refused, assert_signed_out, forge  # noqa: F401
from tests.lti_client import forms

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def placed_links(app):
    with app.app_context():
        platform = sb.first_platform(db.session)
        links = sb.placed_links(db.session, sb.get_course(db.session, platform, "demo-course"))
        return [(link.resource_link_id, link.title, link.custom) for link in links]


def response_claims(page) -> dict:
    """The claims of the signed deep-linking response in the tool's auto-submitting form (unverified:
    the sandbox verifies the signature against the tool's JWKS when the form is posted)."""
    [form] = forms(page.text)
    return jwt.decode(form.fields["JWT"], options={"verify_signature": False})


@pytest.mark.parametrize("flavour", ["canvas", "moodle"])
def test_a_facilitator_places_the_program_home_and_the_placed_link_launches_there(lti, app, flavour):
    browser = lti()
    picker = browser.launch("demo-facilitator-1", kind="deeplink", flavour=flavour)
    assert "/lti/deep-link/" in picker.url
    assert "Add Communities of Practice content to" in picker.text
    assert "program home" in picker.text

    response_form = browser.submit(picker, target="program")
    assert response_form.status_code == 200
    [form] = forms(response_form.text)
    assert form.action.startswith(app.config.get("SANDBOX_BASE_URL") or "http://127.0.0.1")
    assert "/sandbox/deep_link_return" in form.action
    claims = response_claims(response_form)
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    [item] = claims[DL + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["custom"] == {"target": "program"}

    placed = browser.submit(response_form)                        # the LMS verifies the signature
    assert placed.status_code == 200, placed.text[:500]
    assert "Content placed" in placed.text
    [(link_id, title, custom)] = placed_links(app)
    assert custom == {"target": "program"} and "program home" in title

    participant = lti("demo-participant-2", link=link_id)
    with app.test_request_context():
        from lti_tool.lti.models import Course

        course = db.session.query(Course).filter_by(context_id="demo-course").one()
        home = url_for("programs.home", course_id=course.id)
    assert participant.last.url.endswith(home)
    assert "Participant" in participant.last.text


@pytest.mark.parametrize("flavour", ["canvas", "moodle"])
def test_the_response_leaves_out_data_when_the_request_had_none(lti, flavour):
    browser = lti()
    picker = browser.launch("demo-facilitator-1", kind="deeplink", flavour=flavour)
    claims = response_claims(browser.submit(picker, target="program"))
    assert DL + "data" not in claims


def test_the_response_echoes_the_requests_data(lti):
    browser = lti()
    picker = browser.launch("demo-facilitator-1", kind="deeplink", flavour="generic")
    claims = response_claims(browser.submit(picker, target="program"))
    assert claims[DL + "data"].startswith("opaque-data-")
    assert browser.submit(browser.last).status_code == 200


def test_the_signed_response_is_addressed_to_the_platform_from_the_tool(lti, sandbox):
    browser = lti()
    picker = browser.launch("demo-facilitator-2", kind="deeplink", flavour="moodle")   # a Canvas-style TA
    claims = response_claims(browser.submit(picker, target="program"))
    assert claims["iss"] == sandbox.client_id
    assert claims["aud"] in (sandbox.issuer, [sandbox.issuer])
    assert claims[CLAIM + "deployment_id"] == sandbox.deployment_id
    assert claims["exp"] > claims["iat"] and claims["nonce"]


@pytest.mark.parametrize("user", ["demo-participant-1", "demo-observer-1", "demo-test-student"])
def test_a_deep_linking_launch_by_a_non_facilitator_is_refused_politely(lti, user):
    browser = lti()
    refused = browser.launch(user, kind="deeplink", flavour="canvas", expect_ok=False)
    assert refused.status_code == 403
    assert "Only facilitators can add content" in refused.text
    assert "JWT" not in refused.text


def test_a_post_to_the_picker_without_the_csrf_token_is_refused(lti, app):
    browser = lti()
    picker = browser.launch("demo-facilitator-1", kind="deeplink", flavour="moodle")
    forged = browser.post(picker.url, data={"target": "program"})
    assert forged.status_code == 400
    assert "/sandbox/deep_link_return" not in forged.text
    still_there = browser.submit(picker, target="program")         # the real form still works
    assert "/sandbox/deep_link_return" in still_there.text


def test_the_picker_answers_once_and_only_to_the_facilitator_who_opened_it(lti):
    owner = lti()
    picker = owner.launch("demo-facilitator-1", kind="deeplink", flavour="moodle")
    other = lti("demo-facilitator-2")
    assert other.get(picker.url).status_code == 403
    owner.submit(picker, target="program")
    assert owner.submit(picker, target="program").status_code == 403   # the picker token is spent


def test_choosing_nothing_asks_again(lti):
    browser = lti()
    picker = browser.launch("demo-facilitator-1", kind="deeplink", flavour="moodle")
    again = browser.submit(picker)
    assert again.status_code == 400
    assert "Choose at least one item" in again.text


@pytest.fixture
def second_target(monkeypatch):
    items = [PlaceableItem("cohort:1", "Cohort A", "A cohort", group="Cohorts", score_maximum=10)]
    monkeypatch.setitem(deep_linking._targets, "cohort",
                        deep_linking._Target(lambda course, membership: items, lambda course_id, ident: None))


def test_an_lms_that_accepts_one_item_is_sent_one(lti, second_target):
    browser = lti()
    picker = browser.launch("demo-facilitator-1", kind="deeplink", flavour="canvas")
    assert 'type="radio"' in picker.text                       # Canvas: accept_multiple false
    picked_two = browser.post(picker.url, data={"csrf_token": forms(picker.text)[0].fields["csrf_token"],
                                                "target": ["program", "cohort:1"]})
    assert picked_two.status_code == 400 and "accepts one item" in picked_two.text


def test_several_items_are_placed_where_the_lms_accepts_them_and_a_graded_one_gets_a_line_item(
        lti, app, second_target):
    browser = lti()
    picker = browser.launch("demo-facilitator-1", kind="deeplink", flavour="moodle")
    assert 'type="checkbox"' in picker.text
    csrf = forms(picker.text)[0].fields["csrf_token"]
    response_form = browser.post(picker.url, data={"csrf_token": csrf, "target": ["program", "cohort:1"]})
    items = response_claims(response_form)[DL + "content_items"]
    assert [i["custom"]["target"] for i in items] == ["program", "cohort:1"]
    assert items[1]["lineItem"]["scoreMaximum"] == 10
    assert browser.submit(response_form).status_code == 200
    assert [custom["target"] for _, _, custom in placed_links(app)] == ["program", "cohort:1"]
    with app.app_context():
        platform = sb.first_platform(db.session)
        [line_item] = sb.line_items(db.session, sb.get_course(db.session, platform, "demo-course"))
        assert (line_item.label, line_item.score_maximum) == ("Cohort A", 10)


# -- requests the picker must not open for (forged over HTTP: the sandbox signs the altered claims) ----------

SETTINGS = DL + "deep_linking_settings"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


def _without_return_url(claims):
    claims[SETTINGS].pop("deep_link_return_url")


def _without_settings(claims):
    claims.pop(SETTINGS)


def _empty_return_url(claims):
    claims[SETTINGS]["deep_link_return_url"] = ""


def _script_return_url(claims):
    claims[SETTINGS]["deep_link_return_url"] = "javascript:alert(document.cookie)"


@pytest.mark.parametrize("flavour", ["canvas", "moodle"])
@pytest.mark.parametrize("mutate,named", [
    (_without_return_url, "deep_link_return_url"),
    (_empty_return_url, "deep_link_return_url"),
    (_script_return_url, "deep_link_return_url"),
    (_without_settings, "deep_linking_settings"),
], ids=["no-return-url", "empty-return-url", "javascript-return-url", "no-settings"])
def test_a_deep_linking_request_without_somewhere_to_return_is_refused_with_400_and_writes_nothing(
        forge, flavour, mutate, named):
    before = forge.counts()
    browser = forge.browser()
    refused = forge.launch(browser, mutate, message_type="LtiDeepLinkingRequest", flavour=flavour)
    assert_refused(refused, named, "deep linking", status=400)
    assert "/lti/deep-link/" not in refused.url and "Add Communities of Practice content" not in refused.text
    assert forge.counts() == before            # no user, course or membership: the launch was refused whole
    assert_signed_out(browser)


@pytest.mark.parametrize("flavour", ["canvas", "moodle"])
@pytest.mark.parametrize("roles", [
    [LIS + "institution/person#Administrator"],                       # a Canvas account admin, not enrolled
    [LIS + "system/person#SysAdmin"],                                  # a Canvas site admin
    [LIS + "system/person#Administrator", LIS + "institution/person#Administrator"],   # a Moodle site admin
    [LIS + "membership#ContentDeveloper"],                             # a Canvas course designer
    [LIS + "membership#Learner"],
    [LIS + "membership#Mentor"],
    [],
], ids=["institution-admin", "sysadmin", "moodle-site-admin", "designer", "learner", "mentor", "no-roles"])
def test_a_deep_linking_request_from_someone_who_does_not_teach_the_course_gets_a_clear_403(forge, flavour, roles):
    browser = forge.browser()
    refused = forge.launch(browser, message_type="LtiDeepLinkingRequest", flavour=flavour, roles=roles,
                           user="demo-participant-3")
    assert refused.status_code == 403, (refused.status_code, refused.url)
    assert "/lti/deep-link/refused" in refused.url
    assert "Only facilitators can add content" in refused.text and "instructors" in refused.text
    assert "JWT" not in refused.text and "Add Communities of Practice content" not in refused.text


@pytest.mark.parametrize("roles", [
    [LIS + "membership#Instructor"],
    [LIS + "membership/Instructor#TeachingAssistant"],
    [LIS + "membership#Instructor", LIS + "system/person#Administrator", LIS + "institution/person#Administrator"],
    ["Instructor"],
], ids=["instructor", "teaching-assistant", "moodle-admin-teaching", "short-instructor"])
def test_instructors_and_teaching_assistants_open_the_picker(forge, roles):
    picker = forge.launch(message_type="LtiDeepLinkingRequest", flavour="moodle", roles=roles,
                          user="demo-participant-3")
    assert picker.status_code == 200 and "/lti/deep-link/" in picker.url
    assert "Add Communities of Practice content to" in picker.text
