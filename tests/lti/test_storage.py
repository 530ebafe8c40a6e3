"""Launch state without third-party cookies (Canvas's LTI Platform Storage), the "open in a new window"
fallback, and the launch state on Redis."""
from __future__ import annotations

import uuid

import base64
import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import redis

from lti_tool.lti import storage
from tests.lti.helpers import forge  # noqa: F401
from tests.lti_client import forms

STORAGE_TARGET = "post_message_forwarding"
REDIS_URL = "redis://127.0.0.1:6379/15"


def _data(html: str, name: str) -> str:
    match = re.search(rf'data-{name}="([^"]*)"', html)
    assert match, f"no data-{name}"
    return unescape(match.group(1))


def _storage_login(forge, browser, user="demo-facilitator-1"):
    response = browser.http.post(browser.url("/lti/login"), data={
        "iss": forge.info.issuer, "login_hint": user, "client_id": forge.info.client_id,
        "target_link_uri": browser.url("/lti/launch"), "lti_storage_target": STORAGE_TARGET,
    }, allow_redirects=False, timeout=30)
    assert response.status_code == 200, response.text[:500]
    return response


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _post(browser, **data):
    return browser.http.post(browser.url("/lti/launch"), data=data, timeout=30)


# -- LTI Platform Storage ---------------------------------------------------------------------------------------

def test_login_with_storage_target_renders_the_postmessage_page_without_inline_script(forge):
    browser = forge.browser()
    page = _storage_login(forge, browser).text
    assert _data(page, "mode") == "put"
    assert _data(page, "target") == STORAGE_TARGET
    assert _data(page, "origin") == forge.live_server.url  # postMessage only to the LMS's origin
    redirect = _data(page, "redirect")
    assert redirect.startswith(forge.info.auth_login_url)
    query = parse_qs(urlsplit(redirect).query)
    assert query["state"] == [_data(page, "state")] and query["nonce"] == [_data(page, "nonce")]
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all("src=" in tag for tag in scripts)
    assert all(body.strip() == "" for body in re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.S))
    assert 'src="/static/js/platform_storage.js"' in page
    assert re.search(r"\son[a-z]+=", page) is None and " style=" not in page
    assert browser.get("/static/js/platform_storage.js").status_code == 200


def _what_the_lms_frame_kept(forge, user="demo-facilitator-1"):
    """Login in the LMS's frame; the id_token comes back to a tool frame that has no cookies at all."""
    page = _storage_login(forge, forge.browser(), user).text
    state, nonce = _data(page, "state"), _data(page, "nonce")
    token = forge.sign(forge.claims(nonce, user))
    return state, token


def test_launch_without_cookies_succeeds_through_platform_storage(forge):
    state, token = _what_the_lms_frame_kept(forge)
    cookieless = forge.browser()
    first = _post(cookieless, id_token=token, state=state, lti_storage_target=STORAGE_TARGET)
    # No cookie came back: the tool asks the LMS frame for the state (static/js/platform_storage.js).
    assert first.status_code == 200
    assert _data(first.text, "mode") == "get" and _data(first.text, "state") == state
    form = forms(first.text)[0]
    assert set(form.fields) >= {"id_token", "state", "lti_storage_target", "lti_storage_state"}
    # What the script does when the LMS frame answers lti.get_data with the stored state:
    final = cookieless.submit(first, lti_storage_state=state)
    assert final.status_code == 200, final.text[:800]
    assert "/c/" in final.url and "Facilitator" in final.text
    assert forge.membership("demo-facilitator-1") is not None


def test_platform_storage_launch_with_a_wrong_stored_state_is_refused(forge):
    state, token = _what_the_lms_frame_kept(forge)
    cookieless = forge.browser()
    response = _post(cookieless, id_token=token, state=state, lti_storage_target=STORAGE_TARGET,
                     lti_storage_state="something-else")
    assert response.status_code == 401
    assert forge.counts()["User"] == 0
    assert cookieless.get("/lti/no-course").status_code == 401


def test_platform_storage_launch_cannot_be_replayed(forge):
    state, token = _what_the_lms_frame_kept(forge)
    fields = dict(id_token=token, state=state, lti_storage_target=STORAGE_TARGET, lti_storage_state=state)
    assert _post(forge.browser(), **fields).status_code == 200
    replay = _post(forge.browser(), **fields)
    assert replay.status_code == 401 and "already used" in unescape(replay.text)


def test_cookie_login_cannot_be_finished_through_the_platform_storage_path(forge):
    """The state of an ordinary login lives in its browser only: claiming "the LMS frame kept it" fails."""
    victim = forge.browser()
    login = forge.login(victim)
    token = forge.sign(forge.claims(login.nonce))
    attacker = forge.browser()
    response = _post(attacker, id_token=token, state=login.state, lti_storage_target=STORAGE_TARGET,
                     lti_storage_state=login.state)
    assert response.status_code == 401
    assert attacker.get("/lti/no-course").status_code == 401
    assert victim.post_launch(token, login.state).status_code == 200


@pytest.mark.parametrize("id_token", ["not-a-jwt", "e30.e30.e30"])
def test_platform_storage_step_with_an_unreadable_id_token_is_refused(forge, id_token):
    response = _post(forge.browser(), id_token=id_token, state="some-state", lti_storage_target=STORAGE_TARGET)
    assert response.status_code == 401, response.text[:500]


@pytest.mark.parametrize("claims", [{"iss": 42}, {"iss": {"x": 1}}, {"iss": ["a"], "aud": {"b": 1}}, {"azp": 7}])
def test_platform_storage_step_with_odd_claims_is_refused_not_a_server_error(forge, claims):
    token = ".".join(_b64(part) for part in ({"alg": "RS256", "kid": "x"}, claims)) + ".c2ln"
    response = _post(forge.browser(), id_token=token, state="some-state", lti_storage_target=STORAGE_TARGET)
    assert response.status_code == 401, response.text[:500]


# -- the cookie fallback: open in a new window ------------------------------------------------------------------

def _launch_without_following(forge, browser):
    login = forge.login(browser)
    token = forge.sign(forge.claims(login.nonce))
    response = browser.http.post(browser.url("/lti/launch"), data={"id_token": token, "state": login.state},
                                 allow_redirects=False, timeout=30)
    assert response.status_code == 302
    assert "/lti/session-check?t=" in response.headers["Location"]
    return response.headers["Location"]


def test_launch_whose_session_cookie_does_not_come_back_offers_a_new_window_that_works_once(forge, app):
    browser = forge.browser()
    check_url = _launch_without_following(forge, browser)
    browser.http.cookies.clear()  # the iframe blocked our cookies
    page = browser.get(check_url)
    assert page.status_code == 200
    text = unescape(page.text)
    assert "Open in a new window" in text
    link = re.search(r'href="([^"]*/lti/continue\?t=[^"]+)"', page.text)
    assert link and 'target="_blank"' in page.text
    continue_url = unescape(link.group(1))

    window = forge.browser()  # the new top-level window: first-party cookies work
    landed = window.get(continue_url)
    assert landed.status_code == 200 and "/c/" in landed.url
    assert "Facilitator" in landed.text
    again = forge.browser().get(continue_url)
    assert again.status_code == 400


def test_session_check_goes_straight_on_when_the_cookie_came_back(forge):
    browser = forge.browser()
    check_url = _launch_without_following(forge, browser)
    first = browser.http.get(browser.url(check_url), allow_redirects=False, timeout=30)
    assert first.status_code == 302 and "/c/" in first.headers["Location"]
    # The token was used up: it cannot sign in anyone else.
    token = parse_qs(urlsplit(check_url).query)["t"][0]
    assert forge.browser().get(f"/lti/continue?t={token}").status_code == 400


def test_session_check_and_continue_refuse_unknown_tokens(forge):
    browser = forge.browser()
    assert browser.get("/lti/session-check?t=nope").status_code == 400
    assert browser.get("/lti/session-check").status_code == 400
    assert browser.get("/lti/continue?t=nope").status_code == 400
    assert browser.get("/lti/continue").status_code == 400


# -- Redis -------------------------------------------------------------------------------------------------------

@pytest.fixture
def redis_cache(app, monkeypatch):
    """The live app's launch storage on Redis (database 15), as in production."""
    client = redis.Redis.from_url(REDIS_URL)
    # A prefix of its own: parallel test runs (xdist workers, other checkouts) share this Redis database.
    prefix = f"cop-test-{uuid.uuid4().hex[:8]}:"
    cache = storage.make_cache({"REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": prefix})
    monkeypatch.setitem(app.extensions, "lti_tool.cache", cache)
    yield _Prefixed(client, prefix)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)


class _Prefixed:
    """The test's view of Redis: key patterns written as "cop:..." are looked up under its own prefix."""

    def __init__(self, client, prefix):
        self.client, self.prefix = client, prefix

    def keys(self, pattern):
        keys = self.client.keys(self.prefix + pattern.removeprefix("cop:"))
        return [b"cop:" + k[len(self.prefix):] for k in keys]


def test_launch_works_with_its_state_on_redis(forge, redis_cache):
    browser = forge.browser()
    login = forge.login(browser)
    assert any(k.startswith(b"cop:") for k in redis_cache.keys("*"))  # the login's state went to Redis
    token = forge.sign(forge.claims(login.nonce))
    response = browser.post_launch(token, login.state)
    assert response.status_code == 200, response.text[:800]
    assert "/c/" in response.url
    assert redis_cache.keys("cop:jwks:*")  # the platform's keys are cached there too
    assert not redis_cache.keys(f"cop:nonce:{login.nonce}")  # and the nonce is used up
    replay = browser.post_launch(token, login.state)
    assert replay.status_code == 401


def test_platform_storage_launch_works_with_redis(forge, redis_cache):
    state, token = _what_the_lms_frame_kept(forge)
    response = _post(forge.browser(), id_token=token, state=state, lti_storage_target=STORAGE_TARGET,
                     lti_storage_state=state)
    assert response.status_code == 200, response.text[:800]


def test_take_on_redis_gives_a_value_once(app, redis_cache):
    with app.app_context():
        storage.cache().set("single-use", {"a": 1}, timeout=60)
        assert storage.take("single-use") == {"a": 1}
        assert storage.take("single-use") is None
        assert storage.take("never-set") is None


def test_take_on_the_file_cache_gives_a_value_once(app):
    with app.app_context():
        storage.cache().set("single-use", [1, 2], timeout=60)
        assert storage.take("single-use") == [1, 2]
        assert storage.take("single-use") is None
