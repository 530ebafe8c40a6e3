"""Launches the tool must refuse (1EdTech known-bad payloads, Security Framework §5.1.3), each forged on the
sandbox platform and posted over HTTP: a clear 4xx page saying what was wrong, nothing written, no session."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from lti_tool.db import db
from lti_tool.lti import launch as launch_module
from lti_tool.lti.registry import PlatformSpec, add_platform
from lti_tool.sandbox import services as sb
from tests.lti.helpers import CLAIM, assert_refused, assert_signed_out, drop, forge  # noqa: F401

NOTHING = {"User": 0, "Course": 0, "Membership": 0}


def _set(name: str, value):
    def mutate(claims: dict) -> None:
        claims[name if name in ("iat", "exp", "aud", "azp", "iss") else CLAIM + name] = value
    return mutate


def _refused_cleanly(forge, response, *fragments, browser=None):
    assert_refused(response, *fragments)
    assert forge.counts() == NOTHING
    if browser is not None:
        assert_signed_out(browser)


# -- 1EdTech certification §6.1.1: known bad payloads ---------------------------------------------------------

KNOWN_BAD = {
    "incorrect_kid": (dict(headers={"kid": "not-a-platform-kid"}), "unknown kid"),
    "wrong_lti_version": (dict(mutate=_set("version", "1.2.0")), "not LTI 1.3.0"),
    "no_lti_version": (dict(mutate=drop("version")), "not LTI 1.3.0"),
    "lti_version_with_a_space": (dict(mutate=_set("version", " 1.3.0")), "not LTI 1.3.0"),
    "missing_iss": (dict(mutate=drop("iss")), '"iss"'),
    "missing_aud": (dict(mutate=drop("aud", "azp")), '"aud"'),
    "missing_sub": (dict(mutate=drop("sub")), '"sub" claim'),
    "missing_deployment_id": (dict(mutate=drop("deployment_id")), '"deployment_id" claim'),
    "missing_roles": (dict(mutate=drop("roles")), '"roles" claim'),
    "timestamps_incorrect": (dict(mutate=lambda c: c.update(iat=11111, exp=22222)), "expired"),
    "missing_message_type": (dict(mutate=drop("message_type")), '"message_type" claim'),
    "missing_resource_link": (dict(mutate=drop("resource_link")), "resource link id"),
    "missing_resource_link_id": (dict(mutate=lambda c: c[CLAIM + "resource_link"].pop("id")), "resource link id"),
}


@pytest.mark.parametrize("case", list(KNOWN_BAD))
def test_known_bad_payload_is_refused_with_a_clear_page_and_nothing_written(forge, case):
    kwargs, says = KNOWN_BAD[case]
    browser = forge.browser()
    response = forge.launch(browser, **kwargs)
    _refused_cleanly(forge, response, "refused", says, browser=browser)


def test_id_token_without_kid_is_refused(forge):
    browser = forge.browser()
    login = forge.login(browser)
    claims = forge.claims(login.nonce)
    token = jwt.encode(claims, forge.private_key_pem(), algorithm="RS256")  # no kid at all
    assert "kid" not in jwt.get_unverified_header(token)
    _refused_cleanly(forge, browser.post_launch(token, login.state), "kid", browser=browser)


@pytest.mark.parametrize("id_token", ["not-a-jwt", "a.b.c", "", "e30.e30"])
def test_id_token_that_is_not_a_jwt_is_refused(forge, id_token):
    browser = forge.browser()
    login = forge.login(browser)
    response = browser.post_launch(id_token, login.state)
    _refused_cleanly(forge, response, "not an LTI 1.3 launch", browser=browser)


def test_signed_body_that_is_not_an_lti_message_is_refused(forge):
    browser = forge.browser()
    login = forge.login(browser)
    token = forge.sign({"name": "badltilaunch"})
    _refused_cleanly(forge, browser.post_launch(token, login.state), "not an LTI 1.3 launch", browser=browser)


def test_launch_without_state_is_refused(forge):
    browser = forge.browser()
    login = forge.login(browser)
    token = forge.sign(forge.claims(login.nonce))
    response = browser.http.post(browser.url("/lti/launch"), data={"id_token": token}, timeout=30)
    _refused_cleanly(forge, response, "state", browser=browser)


def test_refused_launch_leaves_an_existing_course_page_closed(forge):
    """A good launch by someone else made the course; a refused one gets no session to reach it."""
    assert forge.launch(user="demo-participant-2").status_code == 200
    course_id = forge.course_id("demo-course")
    browser = forge.browser()
    before = forge.counts()
    response = forge.launch(browser, mutate=drop("sub"))
    assert_refused(response, "sub")
    assert forge.counts() == before
    assert browser.get(f"/c/{course_id}/").status_code in (401, 403)


# -- malformed claims give a clean refusal or a clean acceptance, never a 500 -----------------------------------

MALFORMED = {
    "roles_is_a_string": _set("roles", "Instructor"),
    "aud_is_a_number": _set("aud", 42),
    "aud_is_an_empty_list": _set("aud", []),
    "deployment_id_is_a_number": _set("deployment_id", 1),
    "deployment_id_is_a_dict": _set("deployment_id", {"id": "1"}),
    "resource_link_is_a_list": _set("resource_link", ["x"]),
    "custom_is_a_list": _set("custom", ["x"]),
    "custom_is_a_string": _set("custom", "target=program"),
    "context_is_a_string": _set("context", "demo-course"),
    "context_id_is_a_dict": _set("context", {"id": {"x": 1}}),
    "sub_is_a_dict": _set("sub", {"id": "x"}),
    "sub_is_empty": _set("sub", ""),
    "nonce_is_a_list": _set("nonce", ["x"]),
    "exp_is_a_string": _set("exp", "tomorrow"),
    "message_type_is_a_list": _set("message_type", ["LtiResourceLinkRequest"]),
    "version_is_a_number": _set("version", 1.3),
    "target_link_uri_is_a_dict": _set("target_link_uri", {"url": "x"}),
    "target_link_uri_is_a_list": _set("target_link_uri", ["http://127.0.0.1/"]),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_claim_never_gives_a_server_error(forge, case):
    response = forge.launch(mutate=MALFORMED[case])
    assert response.status_code < 500, response.text[:800]
    assert "Something went wrong" not in response.text


# -- Security Framework §5.1.3 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_id_token_without_exp_or_iat_is_refused(forge, claim):
    browser = forge.browser()
    _refused_cleanly(forge, forge.launch(browser, mutate=drop(claim)), claim, browser=browser)


def _shift(**seconds):
    def mutate(claims: dict) -> None:
        now = int(time.time())
        for name, delta in seconds.items():
            claims[name] = now + delta
    return mutate


@pytest.mark.parametrize("shift", [dict(iat=30, exp=330), dict(iat=-330, exp=-30)],
                         ids=["iat_30s_in_the_future", "exp_30s_in_the_past"])
def test_small_clock_skew_is_accepted(forge, shift):
    response = forge.launch(mutate=_shift(**shift))
    assert response.status_code == 200, response.text[:800]
    assert "/c/" in response.url


@pytest.mark.parametrize("shift,says", [(dict(iat=300, exp=600), "not yet valid"), (dict(iat=-600, exp=-300), "expired")],
                         ids=["iat_5min_in_the_future", "exp_5min_in_the_past"])
def test_clock_skew_beyond_the_leeway_is_refused(forge, shift, says):
    browser = forge.browser()
    _refused_cleanly(forge, forge.launch(browser, mutate=_shift(**shift)), says, browser=browser)


@pytest.mark.parametrize("alg", ["HS256", "none", "RS512"])
def test_only_rs256_is_accepted_whatever_the_header_says(forge, alg):
    browser = forge.browser()
    _refused_cleanly(forge, forge.launch(browser, headers={"alg": alg}), "RS256", browser=browser)


def test_id_token_signed_by_a_key_the_platform_never_published_is_refused(forge, app):
    from lti_tool.lti.keys import new_pem_pair

    private, _ = new_pem_pair()
    browser = forge.browser()
    login = forge.login(browser)
    with app.app_context():
        kid = sb.signing_key(db.session, sb.first_platform(db.session)).kid
        db.session.commit()
    token = forge.sign(forge.claims(login.nonce), headers={"kid": kid}, key=private)
    _refused_cleanly(forge, browser.post_launch(token, login.state), "signature", browser=browser)


AUDIENCE = {
    "untrusted_extra_audience": (lambda c: c.update(aud=[c["aud"], "evil-client"]), "does not trust"),
    "other_audience_first": (lambda c: c.update(aud=["evil-client", c["aud"]]), "does not trust"),
    "other_audience_first_without_azp": (lambda c: (c.update(aud=["evil-client", c["aud"]]), c.pop("azp")),
                                         "does not trust"),
    "azp_is_another_client": (lambda c: c.update(azp="evil-client"), "azp"),
    "aud_is_another_client": (lambda c: c.update(aud="evil-client", azp="evil-client"), "not registered"),
}


@pytest.mark.parametrize("case", list(AUDIENCE))
def test_aud_and_azp_are_checked_as_the_security_framework_says(forge, case):
    mutate, says = AUDIENCE[case]
    browser = forge.browser()
    _refused_cleanly(forge, forge.launch(browser, mutate=mutate), says, browser=browser)


def test_several_audiences_without_azp_are_refused(forge, app):
    """Even when every audience is one of our registrations on that issuer, azp must say which is meant."""
    with app.app_context():
        add_platform(db.session, PlatformSpec(
            issuer=forge.info.issuer, client_id="sandbox-tool-2", auth_login_url=forge.info.auth_login_url,
            auth_token_url=forge.info.auth_token_url, key_set_url=forge.info.key_set_url, deployment_ids=("1",)))
        db.session.commit()

    def mutate(claims):
        claims["aud"] = [claims["aud"], "sandbox-tool-2"]
        claims.pop("azp")

    browser = forge.browser()
    _refused_cleanly(forge, forge.launch(browser, mutate=mutate), "azp", browser=browser)


def test_azp_selects_our_client_among_several_trusted_audiences(forge, app):
    with app.app_context():
        add_platform(db.session, PlatformSpec(
            issuer=forge.info.issuer, client_id="sandbox-tool-2", auth_login_url=forge.info.auth_login_url,
            auth_token_url=forge.info.auth_token_url, key_set_url=forge.info.key_set_url, deployment_ids=("1",)))
        db.session.commit()
    response = forge.launch(mutate=lambda c: c.update(aud=["sandbox-tool-2", c["aud"]]))
    assert response.status_code == 200, response.text[:800]


# -- unknown issuer, client, deployment ------------------------------------------------------------------------

def test_login_from_an_unknown_issuer_is_refused(forge):
    browser = forge.browser()
    response = browser.http.post(browser.url("/lti/login"), data={
        "iss": "https://unknown-lms.example", "login_hint": "x", "client_id": forge.info.client_id,
        "target_link_uri": browser.url("/lti/launch")}, allow_redirects=False, timeout=30)
    assert_refused(response, "not registered", status=400)


def test_login_with_an_unknown_client_id_is_refused(forge):
    browser = forge.browser()
    response = browser.http.get(browser.url("/lti/login"), params={
        "iss": forge.info.issuer, "login_hint": "x", "client_id": "unknown-client"},
        allow_redirects=False, timeout=30)
    assert_refused(response, "not registered", status=400)


def test_login_without_issuer_or_login_hint_is_refused(forge):
    browser = forge.browser()
    response = browser.http.post(browser.url("/lti/login"), data={"iss": forge.info.issuer},
                                 allow_redirects=False, timeout=30)
    assert_refused(response, "login_hint", status=400)


def test_launch_from_an_unknown_issuer_is_refused(forge):
    browser = forge.browser()
    _refused_cleanly(forge, forge.launch(browser, mutate=_set("iss", "https://unknown-lms.example")),
                     "not registered", browser=browser)


def test_launch_with_an_unknown_deployment_is_refused(forge):
    browser = forge.browser()
    _refused_cleanly(forge, forge.launch(browser, mutate=_set("deployment_id", "no-such-deployment")),
                     "deployment", browser=browser)


def test_launch_of_a_removed_platform_is_refused(forge, app):
    from lti_tool.lti.registry import remove_platform

    browser = forge.browser()
    login = forge.login(browser)
    token = forge.sign(forge.claims(login.nonce))
    with app.app_context():
        remove_platform(db.session, forge.info.issuer, forge.info.client_id)
        db.session.commit()
    _refused_cleanly(forge, browser.post_launch(token, login.state), "not registered", browser=browser)


# -- nonce and state -------------------------------------------------------------------------------------------

def test_replayed_id_token_is_refused_in_the_same_browser(forge):
    browser = forge.browser()
    login = forge.login(browser)
    token = forge.sign(forge.claims(login.nonce))
    assert browser.post_launch(token, login.state).status_code == 200
    before = forge.counts()
    replay = browser.post_launch(token, login.state)
    assert_refused(replay, "already used")
    assert forge.counts() == before


def test_replayed_id_token_is_refused_from_another_browser_that_has_the_state(forge):
    victim = forge.browser()
    login = forge.login(victim)
    token = forge.sign(forge.claims(login.nonce))
    assert victim.post_launch(token, login.state).status_code == 200
    attacker = forge.browser()
    attacker.http.cookies.set("lti1p3-" + login.state, login.state)  # even with a forged state cookie
    assert_refused(attacker.post_launch(token, login.state))
    assert_signed_out(attacker)


def test_unused_id_token_posted_from_another_browser_is_refused(forge):
    """A captured id_token and state, before the victim used them: the state belongs to the victim's browser."""
    victim = forge.browser()
    login = forge.login(victim)
    token = forge.sign(forge.claims(login.nonce))
    attacker = forge.browser()
    _refused_cleanly(forge, attacker.post_launch(token, login.state), "browser", browser=attacker)
    # The victim's own launch still works.
    assert victim.post_launch(token, login.state).status_code == 200


def test_id_token_answering_another_browsers_login_is_refused_with_my_own_state(forge):
    victim, attacker = forge.browser(), forge.browser()
    victim_login = forge.login(victim)
    attacker_login = forge.login(attacker)
    token = forge.sign(forge.claims(victim_login.nonce))
    _refused_cleanly(forge, attacker.post_launch(token, attacker_login.state), "not started by the tool",
                     browser=attacker)


def test_nonce_not_issued_by_the_tool_is_refused(forge):
    browser = forge.browser()
    login = forge.login(browser)
    token = forge.sign(forge.claims("a-nonce-the-tool-never-issued"))
    _refused_cleanly(forge, browser.post_launch(token, login.state), "not started by the tool", browser=browser)


def _second_platform(app, forge, issuer="https://other-lms.example", client_id="other-client"):
    """Another LMS registration that happens to use the sandbox's keys (so its id_tokens verify)."""
    with app.app_context():
        platform = add_platform(db.session, PlatformSpec(
            issuer=issuer, client_id=client_id, auth_login_url="https://other-lms.example/auth",
            auth_token_url="https://other-lms.example/token", key_set_url=forge.info.key_set_url,
            deployment_ids=("1",), name="Other LMS"))
        db.session.commit()
        return platform.id


def _as_platform(issuer="https://other-lms.example", client_id="other-client"):
    def mutate(claims):
        claims.update(iss=issuer, aud=client_id, azp=client_id)
    return mutate


def test_login_begun_with_one_platform_cannot_be_answered_by_another(forge, app):
    _second_platform(app, forge)
    browser = forge.browser()
    login = forge.login(browser)  # with the sandbox
    claims = forge.claims(login.nonce)
    _as_platform()(claims)  # a perfectly valid id_token of the other LMS
    _refused_cleanly(forge, browser.post_launch(forge.sign(claims), login.state), "another platform",
                     browser=browser)


def test_login_begun_with_another_platform_cannot_be_answered_by_the_sandbox(forge, app):
    _second_platform(app, forge)
    browser = forge.browser()
    login = forge.login(browser, iss="https://other-lms.example", client_id="other-client")
    token = forge.sign(forge.claims(login.nonce))  # the sandbox's own claims
    _refused_cleanly(forge, browser.post_launch(token, login.state), "another platform", browser=browser)


def test_second_platform_launches_when_it_began_the_login(forge, app):
    _second_platform(app, forge)
    browser = forge.browser()
    login = forge.login(browser, iss="https://other-lms.example", client_id="other-client")
    claims = forge.claims(login.nonce)
    _as_platform()(claims)
    response = browser.post_launch(forge.sign(claims), login.state)
    assert response.status_code == 200, response.text[:800]


# -- target_link_uri ---------------------------------------------------------------------------------------------

def test_target_link_uri_claim_pointing_elsewhere_is_refused(forge):
    browser = forge.browser()
    response = forge.launch(browser, mutate=_set("target_link_uri", "https://evil.example/lti/launch"))
    _refused_cleanly(forge, response, "target_link_uri", browser=browser)


def test_login_with_target_link_uri_pointing_elsewhere_is_refused(forge):
    browser = forge.browser()
    response = browser.http.post(browser.url("/lti/login"), data={
        "iss": forge.info.issuer, "login_hint": "demo-facilitator-1", "client_id": forge.info.client_id,
        "target_link_uri": "https://evil.example/lti/launch"}, allow_redirects=False, timeout=30)
    assert_refused(response, "target_link_uri", status=400)


# -- platform keys -----------------------------------------------------------------------------------------------

@pytest.fixture
def jwks_fetches(monkeypatch):
    """Counts the tool's requests for platform JWKS (the launch runs in the live server's thread)."""
    fetched: list[str] = []
    make_session = launch_module._http

    def counting_session():
        session = make_session()
        original = session.get

        def get(url, *args, **kwargs):
            fetched.append(url)
            return original(url, *args, **kwargs)

        session.get = get
        return session

    monkeypatch.setattr(launch_module, "_http", counting_session)
    return fetched


def test_platform_keys_are_cached_and_refetched_once_when_the_platform_rotates(forge, app, jwks_fetches):
    assert forge.launch().status_code == 200
    assert forge.launch(user="demo-participant-1").status_code == 200
    assert len(jwks_fetches) == 1  # the second launch used the cached keys
    with app.app_context():
        new_key = sb.rotate_platform_key(db.session, sb.first_platform(db.session))
        new_kid = new_key.kid
        db.session.commit()
    browser = forge.browser()
    login = forge.login(browser, "demo-participant-2")
    token = forge.sign(forge.claims(login.nonce, "demo-participant-2"))
    assert jwt.get_unverified_header(token)["kid"] == new_kid
    response = browser.post_launch(token, login.state)
    assert response.status_code == 200, response.text[:800]
    assert len(jwks_fetches) == 2  # one refetch for the unknown kid
    assert forge.launch(user="demo-participant-3").status_code == 200
    assert len(jwks_fetches) == 2  # and the refreshed keys are cached again


def test_a_forged_kid_does_not_make_the_tool_refetch_on_every_launch(forge, jwks_fetches):
    for _ in range(3):
        assert_refused(forge.launch(headers={"kid": "forged-kid"}), "unknown kid")
    assert len(jwks_fetches) == 2  # the first fetch, and one refetch for the unknown kid


class _SlowJwks(BaseHTTPRequestHandler):
    release = threading.Event()

    def do_GET(self):  # noqa: N802
        self.release.wait(10)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"keys": []}')

    def log_message(self, *args):
        pass


def test_platform_jwks_that_times_out_gives_a_clear_refusal(forge, app, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowJwks)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        slow_url = f"http://127.0.0.1:{server.server_port}/jwks"
        with app.app_context():
            add_platform(db.session, PlatformSpec(
                issuer="https://slow-lms.example", client_id="slow-client", auth_login_url="https://slow-lms.example/a",
                auth_token_url="https://slow-lms.example/t", key_set_url=slow_url, deployment_ids=("1",)))
            db.session.commit()
        monkeypatch.setitem(app.config, "LTI_HTTP_TIMEOUT_SECONDS", 0.2)
        browser = forge.browser()
        login = forge.login(browser, iss="https://slow-lms.example", client_id="slow-client")
        claims = forge.claims(login.nonce)
        _as_platform("https://slow-lms.example", "slow-client")(claims)
        response = browser.post_launch(forge.sign(claims), login.state)
        _refused_cleanly(forge, response, "could not fetch the platform", browser=browser)
    finally:
        _SlowJwks.release.set()
        server.shutdown()
        server.server_close()
        _SlowJwks.release.clear()


def test_login_with_an_unknown_deployment_is_refused(forge):
    browser = forge.browser()
    response = browser.http.post(browser.url("/lti/login"), data={
        "iss": forge.info.issuer, "login_hint": "demo-facilitator-1", "client_id": forge.info.client_id,
        "lti_deployment_id": "no-such-deployment", "target_link_uri": browser.url("/lti/launch")},
        allow_redirects=False, timeout=30)
    assert_refused(response, "deployment", status=400)


def test_login_with_a_known_deployment_goes_to_the_platform(forge):
    login = forge.login(forge.browser(), lti_deployment_id=forge.info.deployment_id)
    assert login.state and login.nonce
