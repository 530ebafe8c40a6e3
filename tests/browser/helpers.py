"""Helpers for browser tests: a launch from the sandbox LMS, the look every page gets (axe-core, no sideways
scrolling, screenshots to look at, no console errors), and a loopback server.

check_axe and screenshots take a Playwright Page or a Frame:
- axe: axe_playwright_python only calls ``.evaluate`` on what it is given, and a Frame has the same
  ``evaluate`` as a Page, so an iframe's document (an LMS page framing the tool) is checked *in place*,
  with its real cookies and size. axe.min.js ships inside the axe_playwright_python wheel: no network.
- screenshots: a Frame is captured through its page (the viewport belongs to the page); the frame's
  own element is screenshotted as well (``<name>-<width>-frame.png``).
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SCREENSHOT_DIR = Path(__file__).resolve().parent / "screenshots"
SCREENSHOT_WIDTHS = (360, 1280)
BLOCKING_IMPACTS = ("serious", "critical")
VIEWPORT = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 800}
# Chromium logs the status of a form the tool refuses on purpose (400) as a console error; it is no page error.
REFUSED_FORM = "status of 400"


def _page_of(target):
    """The Page that owns target (a Page, or a Frame)."""
    return target.page if hasattr(target, "parent_frame") else target


def axe_violations(target, context=None, options=None) -> list[dict]:
    """All axe-core violations on a Page or a Frame (each a dict: id, impact, help, nodes, ...)."""
    from axe_playwright_python.sync_playwright import Axe

    kwargs = {"context": context}
    if options is not None:
        kwargs["options"] = options
    results = Axe().run(target, **kwargs)
    return results.response["violations"]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}  [{v.get('helpUrl', '')}]")
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    at {target}: {summary}")
    return "\n".join(lines)


def check_axe(target, name: str = "", *, impacts=BLOCKING_IMPACTS, context=None) -> list[dict]:
    """Run axe-core on a Page or Frame and fail the test on any serious or critical violation.

    Returns the full list of violations (milder ones included) so a test can look at those too.
    """
    import pytest

    violations = axe_violations(target, context=context)
    blocking = [v for v in violations if v.get("impact") in impacts]
    if blocking:
        url = getattr(target, "url", "")
        pytest.fail(f"axe: {len(blocking)} serious/critical violation(s) on {name or url} ({url}):\n"
                    + format_violations(blocking), pytrace=False)
    return violations


def screenshots(target, name: str, widths=SCREENSHOT_WIDTHS) -> list[Path]:
    """Save full-page PNGs at each width to tests/browser/screenshots/<name>-<width>.png.

    The viewport is resized for each shot and restored afterwards. For a Frame, the owning page is
    captured, plus the frame element alone (<name>-<width>-frame.png).
    """
    page = _page_of(target)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or VIEWPORT
    saved: list[Path] = []
    try:
        for width in widths:
            page.set_viewport_size({"width": width, "height": original["height"]})
            page.wait_for_timeout(50)  # let layout settle after the resize
            path = SCREENSHOT_DIR / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
            if target is not page:
                frame_path = SCREENSHOT_DIR / f"{name}-{width}-frame.png"
                target.frame_element().screenshot(path=str(frame_path))
                saved.append(frame_path)
    finally:
        page.set_viewport_size(original)
    return saved


def launch(page, base_url: str, user: str, course: str = "demo-course", *, lands_on: str = r"/c/(\d+)/") -> int:
    """Launch the tool as ``user`` from the sandbox LMS (a Canvas-flavoured resource link) and wait until the
    page's URL matches ``lands_on``; returns the tool's course id from the URL."""
    page.goto(f"{base_url}/sandbox/launch?user={user}&course={course}&kind=resource&flavour=canvas")
    page.wait_for_url(re.compile(lands_on))
    return int(re.search(r"/c/(\d+)/", page.url).group(1))


def look(page, name: str, *, allowed_console_errors=()) -> None:
    """What every page of the browser tests must pass, at the desktop viewport and at 360 px: no serious or
    critical axe violation, nothing wider than the viewport; then screenshots (<name>-<width>.png), and no
    console error on the page so far but those containing one of ``allowed_console_errors``."""
    check_axe(page, name)
    assert horizontal_overflow(page) == 0, f"{name} scrolls sideways at {VIEWPORT['width']} px"
    page.set_viewport_size(PHONE)
    try:
        check_axe(page, f"{name} at {PHONE['width']} px")
        assert horizontal_overflow(page) == 0, f"{name} scrolls sideways at {PHONE['width']} px"
    finally:
        page.set_viewport_size(VIEWPORT)
    screenshots(page, name)
    assert [e for e in page.console_errors if not any(a in e for a in allowed_console_errors)] == []


def horizontal_overflow(target) -> int:
    """How many CSS pixels the document is wider than its viewport (0 when nothing scrolls sideways)."""
    return target.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@contextmanager
def serve(wsgi_app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread; yields its base URL (no trailing slash)."""
    from werkzeug.serving import make_server

    server = make_server(host, 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
