"""Browser fixtures: one headless Debian Chromium per test session, a fresh context per test.

`playwright install` cannot run here, so Chromium is always the system one (/usr/bin/chromium, or
$CHROMIUM). Every test collected under tests/browser is marked `browser` (deselect with -m "not browser").
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session's items, so mark only the ones that live in this folder.
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser):
    # Reduced motion turns Bootstrap's transitions off, so axe reads the colours a page settles on: a button
    # focused as the page loads (Move up, ?focus=up-12) was otherwise sampled during its 150 ms colour
    # transition and failed color-contrast half-way there (#d2d5d7 on #6b747b, 3.22:1; settled: #fff on
    # #3f4a54, 9:1).
    context = browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A page in its own context. Console errors (CSP refusals included) are kept on page.console_errors,
    each as "<text> @ <url of the resource or script>"."""
    page = context.new_page()
    page.console_errors = []

    def _console(msg):
        if msg.type == "error":
            page.console_errors.append(f"{msg.text} @ {(msg.location or {}).get('url', '')}")

    page.on("console", _console)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    yield page
