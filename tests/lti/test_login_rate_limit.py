"""The login rate limit over real HTTP: each app built in the process counts on its own."""
from __future__ import annotations

from config.default import DefaultConfig
from tests.lti.helpers import forge, throwaway_app  # noqa: F401

LOGIN_LIMITS = {key: getattr(DefaultConfig, key) for key in dir(DefaultConfig) if key.startswith("RATELIMIT_LOGIN")}


def _login(forge, browser, login_hint: str, *, keep_cookies: bool = True):
    if not keep_cookies:  # a script flooding the login keeps no state cookies (they would pile up)
        browser.http.cookies.clear()
    return browser.http.post(browser.url("/lti/login"), allow_redirects=False, timeout=30, data={
        "iss": forge.info.issuer, "client_id": forge.info.client_id, "login_hint": login_hint,
        "target_link_uri": browser.url("/lti/launch")})


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
