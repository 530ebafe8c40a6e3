"""The login rate limit over real HTTP, with the figures of config/default.py (the suite's own configuration
raises them): a crowd behind one NAT address gets through, one browser's flood does not, and a flood that
invents a login_hint per request meets the per-address ceiling."""
from __future__ import annotations

import html
import time

import pytest
from limits import parse

from config.default import DefaultConfig
from tests.lti.helpers import forge, throwaway_app  # noqa: F401

LOGIN_LIMITS = {key: getattr(DefaultConfig, key) for key in dir(DefaultConfig) if key.startswith("RATELIMIT_LOGIN")}


@pytest.fixture
def default_login_limits(app, monkeypatch, forge):
    """The login limits a deployment runs with (the forge fixture has just reset the counters)."""
    for key, value in LOGIN_LIMITS.items():
        monkeypatch.setitem(app.config, key, value)
    return LOGIN_LIMITS


def _login(forge, browser, login_hint: str, *, keep_cookies: bool = True):
    if not keep_cookies:  # a script flooding the login keeps no state cookies (they would pile up)
        browser.http.cookies.clear()
    return browser.http.post(browser.url("/lti/login"), allow_redirects=False, timeout=30, data={
        "iss": forge.info.issuer, "client_id": forge.info.client_id, "login_hint": login_hint,
        "target_link_uri": browser.url("/lti/launch")})


def test_a_district_of_200_behind_one_address_all_sign_in_within_a_minute(forge, default_login_limits):
    started = time.monotonic()
    statuses = [_login(forge, forge.browser(), f"district-person-{i}").status_code for i in range(200)]
    elapsed = time.monotonic() - started
    print(f"\n200 people, 200 login_hints, one address, in {elapsed:.1f} s: "
          f"{statuses.count(302)} redirected to the LMS, {statuses.count(429)} refused "
          f"(limits {default_login_limits})")
    assert elapsed < 60
    assert statuses.count(302) == 200


def test_one_browser_repeating_its_login_is_refused_past_its_limit_and_the_others_still_sign_in(
        forge, default_login_limits):
    per_browser = parse(default_login_limits["RATELIMIT_LOGIN_PER_BROWSER"]).amount
    flooder = forge.browser()
    statuses = [_login(forge, flooder, "demo-participant-4").status_code for _ in range(per_browser + 5)]
    print(f"\none login_hint {per_browser + 5} times: {statuses.count(302)} redirected, "
          f"{statuses.count(429)} refused (limit {default_login_limits['RATELIMIT_LOGIN_PER_BROWSER']})")
    assert statuses == [302] * per_browser + [429] * 5
    refused = _login(forge, flooder, "demo-participant-4")
    page = html.unescape(refused.text)
    assert refused.status_code == 429
    assert "Too many requests" in page and "too many sign-ins" in page and "Wait a minute" in page
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # Someone else behind the same address is not punished for it.
    assert _login(forge, forge.browser(), "demo-participant-5").status_code == 302


def test_a_flood_that_changes_login_hint_each_time_meets_the_per_address_ceiling(
        app, forge, default_login_limits, monkeypatch):
    # The mechanism with a ceiling of 30: the default's 1200 logins take about 18 s on loopback.
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_ADDRESS", "30 per minute")
    ceiling = 30
    assert parse(DefaultConfig.RATELIMIT_LOGIN_PER_ADDRESS).amount >= 5 * 200   # a kick-off: 200 people, 5 launches each
    browser = forge.browser()
    started = time.monotonic()
    statuses = [_login(forge, browser, f"invented-{i}", keep_cookies=False).status_code for i in range(ceiling + 3)]
    print(f"\n{ceiling + 3} invented login_hints from one address in {time.monotonic() - started:.1f} s: "
          f"{statuses.count(302)} redirected, {statuses.count(429)} refused "
          f"(ceiling lowered to 30 per minute for the test; default {DefaultConfig.RATELIMIT_LOGIN_PER_ADDRESS})")
    assert statuses == [302] * ceiling + [429] * 3
    assert "from your network" in html.unescape(_login(forge, browser, "demo-participant-6").text)


def test_two_apps_built_in_one_process_keep_their_own_rate_limit_counters(
        app, forge, throwaway_app, db_url, monkeypatch):
    low = {key: "3 per minute" for key in LOGIN_LIMITS}
    for key, value in low.items():
        monkeypatch.setitem(app.config, key, value)
    browser = forge.browser()
    assert [_login(forge, browser, "demo-participant-7").status_code for _ in range(4)] == [302, 302, 302, 429]

    second = throwaway_app(DATABASE_URL=db_url, **low)      # tests and benchmarks build several apps
    # The first app still counts where it was: building another app did not rebind its limiter's storage.
    assert _login(forge, browser, "demo-participant-7").status_code == 429
    # The second app counts on its own: the first app's hits from the same address and person are not its.
    client = second.test_client()
    data = {"iss": forge.info.issuer, "client_id": forge.info.client_id, "login_hint": "demo-participant-7"}
    assert [client.post("/lti/login", data=data).status_code for _ in range(4)] == [302, 302, 302, 429]
