"""The root page (development, with the sandbox; production, without) and the help page as an anonymous
visitor, in headless Chromium: 0 serious axe violations, no CSP refusals, nothing wider than 320 px, and
screenshots at 360 and 1280 px to look at."""
from __future__ import annotations

import pytest

from tests.browser.helpers import check_axe, horizontal_overflow, screenshots, serve
from tests.lti.helpers import throwaway_app  # noqa: F401


def _check_page(page, url: str, name: str) -> str:
    response = page.goto(url)
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    check_axe(page, name)
    assert page.console_errors == [], page.console_errors
    for width in (360, 320):
        page.set_viewport_size({"width": width, "height": 800})
        check_axe(page, f"{name} at {width} px")
        assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshots(page, name)
    return page.locator("main").inner_text()


def test_the_development_root_page_leads_to_the_sandbox(page, live_server, sandbox):
    text = _check_page(page, live_server.url + "/", "front-development")
    assert "Development" in text
    page.get_by_role("link", name="Open the sandbox LMS").click()
    page.wait_for_url("**/sandbox/")
    page.go_back()
    page.get_by_role("link", name="Installation help").click()
    page.wait_for_url("**/lti/help")


@pytest.fixture
def production_url(app, throwaway_app, db_url):
    with serve(throwaway_app(DATABASE_URL=db_url, SANDBOX_ENABLED=False)) as url:
        yield url


def test_the_production_root_page_says_how_to_install(page, production_url):
    text = _check_page(page, production_url + "/", "front-production")
    assert "Install it in your LMS" in text and "sandbox" not in text.lower()
    assert page.get_by_label("Dynamic Registration URL (Moodle, Canvas)").input_value() == production_url + "/lti/register"
    page.get_by_role("link", name="Full installation steps and every URL").click()
    page.wait_for_url("**/lti/help")


def test_the_anonymous_help_page_shows_the_tools_urls_and_no_platform(page, live_server, sandbox):
    text = _check_page(page, live_server.url + "/lti/help", "lti-help-anonymous")
    assert sandbox.issuer not in text and sandbox.client_id not in text
    assert "flask --app wsgi platforms list" in text
