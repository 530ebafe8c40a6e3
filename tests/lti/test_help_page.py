"""GET /lti/help over real HTTP: the tool's own URLs and install steps for anyone; a platform's registration
(name, issuer, client id, deployment ids) only to an LMS administrator of that platform, signed in through a
launch from it. Nothing of another platform, not even one on the same issuer (Canvas cloud)."""
from __future__ import annotations

import html

import pytest

from lti_tool.db import db
from lti_tool.lti.registry import PlatformSpec, add_platform
from tests.lti.helpers import INSTRUCTOR, LEARNER, LIS, forge  # noqa: F401

INSTITUTION_ADMIN = LIS + "institution/person#Administrator"
SYSTEM_ADMIN = LIS + "system/person#Administrator"
SYSADMIN = LIS + "system/person#SysAdmin"
OTHER = {"name": "Other District LMS", "issuer": "https://other-district.example", "client_id": "other-district-client",
         "deployment": "other-district-deployment-7"}
# Canvas cloud: every school shares the issuer; each registration has its own client id.
SAME_ISSUER = {"name": "Neighbour school", "client_id": "neighbour-school-client", "deployment": "neighbour-deployment-3"}


@pytest.fixture
def platforms(app, forge):
    """Besides the sandbox (platform A): another LMS with the sandbox's keys, and a neighbour on A's issuer."""
    with app.app_context():
        add_platform(db.session, PlatformSpec(
            issuer=OTHER["issuer"], client_id=OTHER["client_id"], auth_login_url=OTHER["issuer"] + "/auth",
            auth_token_url=OTHER["issuer"] + "/token", key_set_url=forge.info.key_set_url,
            deployment_ids=(OTHER["deployment"],), name=OTHER["name"]))
        add_platform(db.session, PlatformSpec(
            issuer=forge.info.issuer, client_id=SAME_ISSUER["client_id"], auth_login_url=forge.info.auth_login_url,
            auth_token_url=forge.info.auth_token_url, key_set_url=forge.info.key_set_url,
            deployment_ids=(SAME_ISSUER["deployment"],), name=SAME_ISSUER["name"]))
        db.session.commit()
    return forge


def _help(browser) -> str:
    response = browser.get("/lti/help")
    assert response.status_code == 200, response.text[:500]
    return html.unescape(response.text)


def _tool_urls_are_there(page: str, browser) -> None:
    for path in ("/lti/login", "/lti/launch", "/lti/jwks", "/lti/canvas.json", "/lti/register"):
        assert browser.url(path) in page, path
    assert "Site administration" in page and "Developer Keys" in page      # the install steps


def _sandbox_details(forge) -> list[str]:
    return ["Sandbox LMS", forge.info.issuer, forge.info.client_id, forge.info.deployment_id]


def _shows_none_of(page: str, *values: str) -> None:
    # The sandbox's deployment id is "1": look for it where the table would show it, not anywhere.
    for value in values:
        needle = f"<code>{value}</code>" if len(value) < 4 else value
        assert needle not in page, value


def _admin_launch(forge, browser, roles, **launch):
    response = forge.launch(browser, roles=roles, **launch)
    assert response.status_code == 200, response.text[:500]


def test_anonymous_visitors_see_the_tools_urls_and_steps_but_no_platform(platforms):
    browser = platforms.browser()
    page = _help(browser)
    _tool_urls_are_there(page, browser)
    _shows_none_of(page, *_sandbox_details(platforms), *OTHER.values(), *SAME_ISSUER.values())
    assert "flask --app wsgi platforms list" in page                       # where the list lives instead


@pytest.mark.parametrize("roles", [[INSTRUCTOR], [LEARNER], [LIS + "institution/person#Instructor", INSTRUCTOR]],
                         ids=["instructor", "learner", "institution-instructor"])
def test_a_signed_in_teacher_or_learner_sees_no_platform_either(platforms, roles):
    browser = platforms.browser()
    _admin_launch(platforms, browser, roles)
    page = _help(browser)
    _tool_urls_are_there(page, browser)
    _shows_none_of(page, *_sandbox_details(platforms), *OTHER.values(), *SAME_ISSUER.values())


@pytest.mark.parametrize("roles", [[INSTRUCTOR, INSTITUTION_ADMIN], [SYSADMIN],
                                   [INSTRUCTOR, SYSTEM_ADMIN, INSTITUTION_ADMIN]],
                         ids=["canvas-account-admin", "canvas-site-admin", "moodle-site-admin"])
def test_an_lms_administrator_sees_their_own_platforms_registration_and_nothing_of_the_others(platforms, roles):
    browser = platforms.browser()
    _admin_launch(platforms, browser, roles)
    page = _help(browser)
    _tool_urls_are_there(page, browser)
    for value in _sandbox_details(platforms):
        assert value in page, value
    assert f"<code>{platforms.info.deployment_id}</code>" in page
    assert "no-store" in browser.last.headers["Cache-Control"]       # never kept by a shared cache
    _shows_none_of(page, *OTHER.values(), SAME_ISSUER["name"], SAME_ISSUER["client_id"], SAME_ISSUER["deployment"])


def test_the_administrator_of_another_lms_sees_only_that_lms(platforms):
    browser = platforms.browser()
    login = platforms.login(browser, iss=OTHER["issuer"], client_id=OTHER["client_id"])
    claims = platforms.claims(login.nonce, roles=[INSTRUCTOR, INSTITUTION_ADMIN])
    claims.update(iss=OTHER["issuer"], aud=OTHER["client_id"], azp=OTHER["client_id"])
    claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = OTHER["deployment"]
    assert browser.post_launch(platforms.sign(claims), login.state).status_code == 200
    page = _help(browser)
    for value in OTHER.values():
        assert value in page, value
    _shows_none_of(page, *_sandbox_details(platforms), *SAME_ISSUER.values())


def test_an_administrator_role_from_an_earlier_launch_goes_when_the_lms_stops_sending_it(platforms):
    browser = platforms.browser()
    _admin_launch(platforms, browser, [INSTRUCTOR, INSTITUTION_ADMIN])
    assert platforms.info.client_id in _help(browser)
    _admin_launch(platforms, browser, [INSTRUCTOR])                          # the LMS took the role away
    _shows_none_of(_help(browser), *_sandbox_details(platforms))


def test_the_command_line_still_lists_every_platform(app, platforms):
    output = app.test_cli_runner().invoke(args=["platforms", "list"]).output
    for value in (platforms.info.issuer, platforms.info.client_id, OTHER["issuer"], OTHER["client_id"],
                  SAME_ISSUER["client_id"]):
        assert value in output, value
