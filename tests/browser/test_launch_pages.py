"""Real launches in headless Chromium: the sandbox LMS page launches the tool in its iframe as each role;
the landing page says who is signed in, in which course, with which role. Every page is checked with axe
(0 serious or critical violations) and saved as screenshots at 360 and 1280 px to look at."""
from __future__ import annotations

import re

import pytest

from tests.browser.helpers import check_axe, horizontal_overflow, screenshots

COURSE_TITLE = "Communities of Practice 2026–27 (demo)"
TIMEOUT_MS = 15000


def open_sandbox(page, live_server):
    page.goto(live_server.url + "/sandbox/")
    page.wait_for_load_state("load")
    return page


def tool_frame(page):
    frame = page.frame(name="tool-frame")
    assert frame is not None, "the sandbox page has no tool-frame iframe"
    return frame


def wait_for_frame(page, url_part: str):
    """Wait until the tool frame has navigated to a URL containing url_part and finished loading."""
    frame = tool_frame(page)
    page.wait_for_function(
        "(part) => { const f = document.querySelector('iframe[name=tool-frame]');"
        " try { return f.contentWindow.location.href.includes(part)"
        " && f.contentDocument.readyState === 'complete'; } catch (e) { return false; } }",
        arg=url_part, timeout=TIMEOUT_MS)
    return frame


def launch_in_frame(page, name: str):
    page.get_by_role("link", name=f"Launch as {name}", exact=True).click()
    frame = wait_for_frame(page, "/c/")
    frame.wait_for_selector("main h1", timeout=TIMEOUT_MS)
    return frame


ROLES = [
    ("facilitator", "Maya Okonkwo-Reyes", "Facilitator"),
    ("participant", "Aisha Rahman", "Participant"),
    ("observer", "Ruth Abernathy", "Observer"),
    ("test-student", "Test Student", "Test student (preview)"),
]


@pytest.mark.parametrize("slug,name,role_label", ROLES, ids=[r[0] for r in ROLES])
def test_a_launch_from_the_sandbox_lands_on_the_program_page_saying_who_where_and_what_role(
        page, live_server, sandbox, slug, name, role_label):
    open_sandbox(page, live_server)
    check_axe(page, "sandbox course page")
    frame = launch_in_frame(page, name)

    identity = frame.locator(".app-identity").inner_text()
    assert name in identity
    assert COURSE_TITLE in identity
    assert re.search(re.escape(role_label), identity, re.IGNORECASE), identity
    assert COURSE_TITLE in frame.locator("main").inner_text()   # under the program heading, or the h1 before set-up
    assert not page.console_errors, page.console_errors

    check_axe(frame, f"landing page in the sandbox frame ({slug})")
    screenshots(frame, f"launch-{slug}-in-sandbox")

    # The tool page alone, in the same browser context (the session cookie is shared).
    page.goto(frame.url)
    page.wait_for_load_state("load")
    assert name in page.locator(".app-identity").inner_text()
    check_axe(page, f"landing page ({slug})")
    screenshots(page, f"landing-{slug}")
    page.set_viewport_size({"width": 360, "height": 800})
    assert horizontal_overflow(page) == 0
    assert not page.console_errors, page.console_errors


def test_the_deep_linking_picker_in_the_frame_places_content_in_the_course(page, live_server, sandbox):
    open_sandbox(page, live_server)
    page.get_by_role("radio", name=re.compile("Moodle")).check()
    page.get_by_role("button", name="Add content (deep linking)").click()
    frame = wait_for_frame(page, "/lti/deep-link/")
    frame.wait_for_selector("form", timeout=TIMEOUT_MS)
    assert "Add Communities of Practice content" in frame.locator("main h1").inner_text()
    check_axe(frame, "deep-linking picker in the sandbox frame")
    screenshots(frame, "deep-link-picker-in-sandbox")

    # The picker alone, then back through the frame to place the item.
    picker_url = frame.url
    tool_page = page.context.new_page()
    tool_page.goto(picker_url)
    check_axe(tool_page, "deep-linking picker")
    screenshots(tool_page, "deep-link-picker")
    tool_page.close()

    frame.get_by_label(re.compile("program home")).check()
    frame.get_by_role("button", name="Add to course").click()
    placed = wait_for_frame(page, "/sandbox/deep_link_return")
    placed.wait_for_selector("text=Content placed", timeout=TIMEOUT_MS)
    screenshots(placed, "deep-link-placed-in-sandbox")
    assert not page.console_errors, page.console_errors


def test_a_participant_deep_linking_is_refused_on_a_readable_page(page, live_server, sandbox, lti):
    # The sandbox offers deep linking to facilitators only; launch the participant's by URL in the frame.
    open_sandbox(page, live_server)
    page.evaluate("(url) => { document.querySelector('iframe[name=tool-frame]').src = url; }",
                  live_server.url + "/sandbox/launch?user=demo-participant-1&course=demo-course"
                                    "&kind=deeplink&flavour=canvas")
    frame = wait_for_frame(page, "/lti/deep-link/refused")
    assert "Only facilitators can add content" in frame.locator("main").inner_text()
    check_axe(frame, "deep-linking refusal")
    screenshots(frame, "deep-link-refused-in-sandbox")


def test_the_help_page_is_accessible_and_lists_the_endpoints(page, live_server, sandbox):
    page.goto(live_server.url + "/lti/help")
    # The URLs sit in read-only fields to copy, and in the text.
    text = page.locator("main").inner_text() + " ".join(
        page.locator("main input").evaluate_all("(els) => els.map((e) => e.value)"))
    for path in ("/lti/login", "/lti/launch", "/lti/jwks", "/lti/canvas.json", "/lti/register"):
        assert live_server.url + path in text
    check_axe(page, "help page")
    screenshots(page, "lti-help")
    page.set_viewport_size({"width": 360, "height": 800})
    assert horizontal_overflow(page) == 0
    assert not page.console_errors, page.console_errors
