"""Dynamic Registration against a fake Moodle and a fake Canvas over real HTTP, and the Canvas JSON."""
from __future__ import annotations

import re
from html import unescape

import pytest

from lti_tool.db import db
from lti_tool.lti import registry
from lti_tool.lti.registration import SCOPES, canvas_developer_key
from tests.lti.dr_platform import FakePlatform

TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
BASE = "http://localhost"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def moodle():
    platform = FakePlatform("moodle").start()
    yield platform
    platform.stop()


@pytest.fixture
def canvas():
    platform = FakePlatform("canvas").start()
    yield platform
    platform.stop()


def _start(client, platform: FakePlatform, token: str | None = None):
    return client.get("/lti/register", query_string={
        "openid_configuration": platform.openid_configuration_url,
        "registration_token": platform.token if token is None else token,
    })


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return unescape(match.group(1))


def _confirm(client, page_html: str):
    return client.post("/lti/register", data={
        "csrf_token": _hidden(page_html, "csrf_token"),
        "openid_configuration": _hidden(page_html, "openid_configuration"),
        "registration_token": _hidden(page_html, "registration_token"),
    })


def _platforms(app):
    with app.app_context():
        return [(p.issuer, p.client_id, p.product_family, p.registered_by,
                 [d.deployment_id for d in p.deployments], p.registration_data, p.auth_login_url,
                 p.auth_token_url, p.key_set_url, p.name)
                for p in registry.list_platforms(db.session)]


def test_moodle_dynamic_registration_registers_platform_with_its_deployment(app, client, moodle):
    page = _start(client, moodle)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Moodle" in html and moodle.issuer in html
    assert "Assignment and Grade Services" in html and "Names and Role" in html
    assert 'name="csrf_token"' in html and ">Register</button>" in html
    assert moodle.received[0].authorization == f"Bearer {moodle.token}"
    assert not moodle.registrations_posted(), "nothing is registered before the admin confirms"

    done = _confirm(client, html)
    done_html = done.get_data(as_text=True)
    assert done.status_code == 200, done_html
    assert "Registered with" in done_html and "js/register.js" in done_html
    assert "<script>" not in done_html  # no inline script under the CSP

    [posted] = moodle.registrations_posted()
    assert posted.authorization == f"Bearer {moodle.token}"
    body = posted.body
    assert body["application_type"] == "web"
    assert body["response_types"] == ["id_token"]
    assert sorted(body["grant_types"]) == ["client_credentials", "implicit"]
    assert body["initiate_login_uri"] == f"{BASE}/lti/login"
    assert body["redirect_uris"] == [f"{BASE}/lti/launch"]
    assert body["jwks_uri"] == f"{BASE}/lti/jwks"
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert set(body["scope"].split()) == set(SCOPES)
    tool = body[TOOL_CONFIG]
    assert tool["domain"] == "localhost" and tool["target_link_uri"] == f"{BASE}/lti/launch"
    assert tool["claims"] == ["iss", "sub", "name", "given_name", "family_name", "email", "picture"]
    assert [m["type"] for m in tool["messages"]] == ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"]
    assert all("placements" not in m for m in tool["messages"]), "Canvas placements only for Canvas"

    [(issuer, client_id, family, by, deployments, data, auth, token, jwks, name)] = _platforms(app)
    answer = moodle.registrations[0]
    assert (issuer, client_id, family, by) == (moodle.issuer, answer["client_id"], "moodle", "dynamic")
    assert deployments == [answer[TOOL_CONFIG]["deployment_id"]]
    assert auth.endswith("/mod/lti/auth.php") and token.endswith("/mod/lti/token.php")
    assert jwks.endswith("/mod/lti/certs.php")
    assert data["openid_configuration"]["issuer"] == moodle.issuer
    assert data["registration_response"]["client_id"] == client_id
    assert "Moodle" in name


def test_canvas_dynamic_registration_sends_placements_and_waits_for_the_deployment(app, client, canvas):
    page = _start(client, canvas)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Example University" in html and "Canvas" in html

    done = _confirm(client, html)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert "first launch" in done.get_data(as_text=True)

    [posted] = canvas.registrations_posted()
    tool = posted.body[TOOL_CONFIG]
    messages = {m["type"]: m for m in tool["messages"]}
    assert messages["LtiResourceLinkRequest"]["placements"] == ["course_navigation"]
    assert messages["LtiDeepLinkingRequest"]["placements"] == ["link_selection", "assignment_selection"]
    assert {m["target_link_uri"] for m in tool["messages"]} == {f"{BASE}/lti/launch"}
    assert tool["custom_parameters"]["canvas_course_id"] == "$Canvas.course.id"
    assert tool["https://canvas.instructure.com/lti/privacy_level"] == "public"

    [(issuer, client_id, family, by, deployments, *_)] = _platforms(app)
    assert (issuer, client_id, family, by) == (canvas.issuer, canvas.registrations[0]["client_id"], "canvas",
                                               "dynamic")
    assert deployments == [], "Canvas tells the deployment at the first launch"


def test_canvas_deployment_is_learnt_at_first_launch_for_dynamic_registration(app, client, canvas):
    _confirm(client, _start(client, canvas).get_data(as_text=True))
    client_id = canvas.registrations[0]["client_id"]
    with app.test_request_context():
        conf = registry.DatabaseToolConf(db.session)
        assert conf.find_deployment_by_params(canvas.issuer, "12:abcdef", client_id) is not None
        db.session.commit()
    assert _platforms(app)[0][4] == ["12:abcdef"]


def test_registering_again_updates_the_same_platform(app, client, canvas):
    _confirm(client, _start(client, canvas).get_data(as_text=True))
    canvas.registrations.clear()  # the fake numbers client ids from 1 again: same (issuer, client_id)
    _confirm(client, _start(client, canvas).get_data(as_text=True))
    assert len(_platforms(app)) == 1


def test_reused_registration_token_is_explained(app, client, moodle):
    html = _start(client, moodle).get_data(as_text=True)
    assert _confirm(client, html).status_code == 200
    again = _confirm(client, html)
    text = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "already been used" in text and "start the registration again" in text.lower()
    assert len(_platforms(app)) == 1


def test_unreachable_openid_configuration_is_a_clear_4xx_page(client):
    platform = FakePlatform("moodle")  # never started: nothing listens on its port once closed
    url = platform.openid_configuration_url
    platform._server.server_close()
    response = client.get("/lti/register", query_string={"openid_configuration": url, "registration_token": "x"})
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500
    assert "could not be reached" in text and url in unescape(text)


def test_openid_configuration_that_is_not_json_is_refused(client, moodle):
    response = client.get("/lti/register", query_string={
        "openid_configuration": f"{moodle.url}/login/index.php", "registration_token": moodle.token})
    assert response.status_code == 400
    assert "not valid JSON" in response.get_data(as_text=True)


def test_missing_openid_configuration_is_refused(client, moodle):
    response = client.get("/lti/register", query_string={
        "openid_configuration": f"{moodle.url}/nothing-here", "registration_token": moodle.token})
    assert response.status_code == 400
    assert "refused to give its OpenID configuration (HTTP 404)" in response.get_data(as_text=True)


def test_issuer_on_another_host_is_refused(app, client, moodle):
    platform = FakePlatform("moodle", issuer_override="https://evil.example.com").start()
    try:
        response = _start(client, platform)
        text = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "issuer does not match" in text and "evil.example.com" in text
        # The POST checks again: a forged confirmation cannot register it either.
        csrf = _hidden(_start(client, moodle).get_data(as_text=True), "csrf_token")
        refused = client.post("/lti/register", data={"csrf_token": csrf,
                                                     "openid_configuration": platform.openid_configuration_url,
                                                     "registration_token": platform.token})
        assert refused.status_code == 400
        assert not platform.registrations_posted()
    finally:
        platform.stop()
    assert _platforms(app) == []


def test_wrong_registration_token_is_refused_with_the_lms_answer(client, moodle):
    response = _start(client, moodle, token="not-the-token")
    assert response.status_code == 400
    assert "unauthorized" in response.get_data(as_text=True)


def test_refused_registration_shows_the_lms_error(app, client, moodle):
    html = _start(client, moodle).get_data(as_text=True)
    moodle.refuse_registration = {"error": "invalid_client_metadata", "error_description": "bad redirect"}
    response = _confirm(client, html)
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "refused the registration" in text and "bad redirect" in text
    assert _platforms(app) == []


def test_register_without_parameters_says_to_start_from_the_lms(client):
    response = client.get("/lti/register")
    assert response.status_code == 400
    assert "Start the registration from your LMS" in response.get_data(as_text=True)


def test_confirmation_without_csrf_token_is_rejected(app, client, moodle):
    response = client.post("/lti/register", data={"openid_configuration": moodle.openid_configuration_url,
                                                  "registration_token": moodle.token})
    assert response.status_code == 400
    assert not moodle.registrations_posted()
    assert _platforms(app) == []


def test_canvas_json_is_the_developer_key_configuration(client):
    response = client.get("/lti/canvas.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    config = response.get_json()
    assert config["title"] == "Communities of Practice"
    assert config["oidc_initiation_url"] == f"{BASE}/lti/login"
    assert config["target_link_uri"] == f"{BASE}/lti/launch"
    assert config["public_jwk_url"] == f"{BASE}/lti/jwks"
    assert config["scopes"] == list(SCOPES)
    [ext] = config["extensions"]
    assert ext["platform"] == "canvas.instructure.com" and ext["tool_id"] == "communities-of-practice"
    assert ext["privacy_level"] == "public" and ext["domain"] == "localhost"
    placements = {p["placement"]: p for p in ext["settings"]["placements"]}
    assert placements["course_navigation"]["message_type"] == "LtiResourceLinkRequest"
    assert placements["course_navigation"]["default"] == "enabled"
    for name in ("link_selection", "assignment_selection"):
        assert placements[name]["message_type"] == "LtiDeepLinkingRequest"
        assert placements[name]["selection_width"] and placements[name]["selection_height"]
    assert {p["target_link_uri"] for p in placements.values()} == {f"{BASE}/lti/launch"}
    assert config["custom_fields"]["canvas_course_id"] == "$Canvas.course.id"


def test_canvas_developer_key_uses_the_configured_title(app, monkeypatch):
    monkeypatch.setitem(app.config, "LTI_TOOL_TITLE", "CoP")
    with app.app_context():
        config = canvas_developer_key("https://tool.example.edu/", "https://keys.example.edu/jwks")
    assert config["title"] == "CoP"
    assert config["public_jwk_url"] == "https://keys.example.edu/jwks"
    assert config["extensions"][0]["domain"] == "tool.example.edu"


def test_registration_pages_can_be_framed_by_the_lms_that_is_not_registered_yet(client, moodle):
    page = _start(client, moodle)
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https:" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    done = _confirm(client, page.get_data(as_text=True))
    assert "frame-ancestors 'self' https:" in done.headers["Content-Security-Policy"]
