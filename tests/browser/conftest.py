"""Browser fixtures: one headless Debian Chromium per test session, a fresh context per test, and `person` for
more people (each in their own context) in one test.

`playwright install` cannot run here, so Chromium is always the system one (/usr/bin/chromium, or
$CHROMIUM). Every test collected under tests/browser is marked `browser` (deselect with -m "not browser").
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.helpers import VIEWPORT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
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


def new_context(browser):
    """A context at the desktop viewport that prefers reduced motion. Bootstrap then turns its transitions off,
    so axe reads the colours a page settles on: a button focused as the page loads (Move up, ?focus=up-12) is
    otherwise sampled during its 150 ms colour transition and fails color-contrast half-way there (#d2d5d7 on
    #6b747b, 3.22:1; settled, #fff on #3f4a54, it is 9:1)."""
    return browser.new_context(viewport=VIEWPORT, reduced_motion="reduce")


def watch_console(page):
    """Keep the page's console errors (CSP refusals included) and uncaught exceptions on page.console_errors,
    each console error as "<text> @ <url of the resource or script>"."""
    page.console_errors = []

    def _console(msg):
        if msg.type == "error":
            page.console_errors.append(f"{msg.text} @ {(msg.location or {}).get('url', '')}")

    page.on("console", _console)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    return page


@pytest.fixture
def context(browser):
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A page in its own context, its console errors kept on page.console_errors (see watch_console)."""
    yield watch_console(context.new_page())


@pytest.fixture
def person(browser):
    """Another person in their own browser context (their own cookies): ``person()`` is a new page, watched
    like ``page``."""
    contexts = []

    def make():
        context = new_context(browser)
        contexts.append(context)
        return watch_console(context.new_page())

    yield make
    for context in contexts:
        context.close()
