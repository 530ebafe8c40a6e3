"""The sandbox and the tool together over real HTTP on loopback: a launch, and a deep-linking round trip whose
placed link then launches with its custom claim."""
from __future__ import annotations

from lti_tool.db import db
from lti_tool.sandbox import services as sb


def test_a_participant_launch_from_the_sandbox_lands_in_the_tool(lti):
    browser = lti("demo-participant-1")
    assert browser.last.status_code == 200
    assert "/sandbox/" not in browser.last.url


def test_deep_linking_round_trip_places_a_link_that_launches(lti, app):
    browser = lti()
    picker = browser.launch("demo-facilitator-1", kind="deeplink", flavour="moodle")
    response_form = browser.submit(picker, target="program")       # the tool signs its deep-linking response
    assert "/sandbox/deep_link_return" in response_form.text
    placed = browser.submit(response_form)                          # the browser posts it to the sandbox
    assert placed.status_code == 200 and "Content placed" in placed.text
    with app.app_context():
        platform = sb.first_platform(db.session)
        links = sb.placed_links(db.session, sb.get_course(db.session, platform, "demo-course"))
        assert [link.custom for link in links] == [{"target": "program"}]
        link_id = links[0].resource_link_id
    participant = lti("demo-participant-2", link=link_id)
    assert participant.last.status_code == 200


def test_token_endpoint_fetches_the_tool_jwks_over_http(app, sandbox, live_server):
    import time
    import uuid

    import jwt
    import requests

    from lti_tool.lti.keys import signing_key

    with app.app_context():
        key = signing_key(db.session)
        db.session.commit()
        pem, kid = key.private_key_pem, key.kid
    now = int(time.time())
    assertion = jwt.encode({"iss": sandbox.client_id, "sub": sandbox.client_id, "aud": sandbox.auth_token_url,
                            "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}, pem, algorithm="RS256",
                           headers={"kid": kid})
    answer = requests.post(sandbox.auth_token_url, timeout=10, data={
        "grant_type": "client_credentials", "client_assertion": assertion, "scope": sb.SCOPE_NRPS,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    roster = requests.get(live_server.url + "/sandbox/api/courses/demo-course/names_and_roles", timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
    assert roster.status_code == 200 and len(roster.json()["members"]) == 28
